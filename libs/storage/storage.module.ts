import { Global, Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { ServiceMetrics } from '../metrics/index.js';
import { ObjectStore } from './object-store.js';
import { S3ObjectStore, type S3StoreSettings } from './s3-object-store.js';
import { IngestUploadStore } from './ingest-upload-store.js';

/** The settings a store needs (the ledger verifier has only these, not the service's whole configuration). */
export type StoreConfig = Pick<
  AppConfig,
  | 'S3_ENDPOINT'
  | 'S3_REGION'
  | 'S3_ACCESS_KEY_ID'
  | 'S3_SECRET_ACCESS_KEY'
  | 'S3_FORCE_PATH_STYLE'
  | 'S3_BUCKET_ORIGINALS'
  | 'S3_BUCKET_WORKING'
  | 'S3_PART_SIZE_MB'
  | 'S3_UPLOAD_CONCURRENCY'
  | 'S3_PRESIGN_TTL_SECONDS'
>;

function storeSettings(config: StoreConfig): S3StoreSettings {
  return {
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    buckets: { originals: config.S3_BUCKET_ORIGINALS, working: config.S3_BUCKET_WORKING },
    partSizeBytes: config.S3_PART_SIZE_MB * 1024 * 1024,
    uploadConcurrency: config.S3_UPLOAD_CONCURRENCY,
    presignTtlSeconds: config.S3_PRESIGN_TTL_SECONDS,
  };
}

export function createObjectStore(config: StoreConfig): S3ObjectStore {
  return new S3ObjectStore(storeSettings(config));
}

/** The tus data store for uploads into the originals bucket (API only). */
export function createIngestUploadStore(config: AppConfig, hooks?: ConstructorParameters<typeof IngestUploadStore>[1]): IngestUploadStore {
  return new IngestUploadStore(
    { ...storeSettings(config), partSizeBytes: config.INGEST_PART_SIZE_MB * 1024 * 1024, partsInFlight: config.INGEST_PARTS_IN_FLIGHT, stagingDir: config.INGEST_STAGING_DIR },
    hooks,
  );
}

@Global()
@Module({
  providers: [
    {
      provide: ObjectStore,
      inject: [APP_CONFIG, ServiceMetrics],
      useFactory: (config: AppConfig, metrics: ServiceMetrics) => {
        const store = createObjectStore(config);
        store.onRequestError((operation, status) => metrics.s3Errors.inc({ operation, status }));
        return store;
      },
    },
  ],
  exports: [ObjectStore],
})
export class StorageModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Storage');

  constructor(@Inject(ObjectStore) private readonly store: ObjectStore) {}

  /** Buckets are created if absent, and whether originals can be write-once is found out and said. */
  async onApplicationBootstrap(): Promise<void> {
    const caps = await this.store.ensureBuckets();
    if (caps.objectLock) this.logger.log(caps.summary);
    else this.logger.warn(caps.summary);
  }

  onApplicationShutdown(): void {
    if (this.store instanceof S3ObjectStore) this.store.destroy();
  }
}
