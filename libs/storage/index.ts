export * from './object-store.js';
export { S3ObjectStore, type S3StoreSettings } from './s3-object-store.js';
export { StorageModule, createObjectStore, createIngestUploadStore } from './storage.module.js';
export { IngestUploadStore, UPLOAD_KEY_PREFIX, type IngestStoreSettings } from './ingest-upload-store.js';
export { hashStoredObject, type StoredObjectDigests, type StoredObjectHashOptions } from './stored-object-hash.js';
