import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type ServiceRole = 'api' | 'worker';

/** One queue's jobs by state and how long its oldest waiting job has waited. */
export interface QueueState {
  queue: string;
  counts: Record<'waiting' | 'active' | 'delayed' | 'failed', number>;
  /** 0 when nothing waits. */
  oldestWaitingSeconds: number;
}

export interface LedgerState {
  /** Events in the log (its Merkle tree size). */
  size: number;
  /** Tree size of the latest signed checkpoint (0: none yet). */
  checkpointSize: number;
  /** Seconds since the latest checkpoint was signed; undefined when there is none. */
  lastCheckpointAgeSeconds: number | undefined;
  /** Stored objects whose latest fixity check did not find them intact, by outcome. */
  fixityFailing: Record<'changed' | 'missing' | 'error', number>;
}

/** Where scrape-time gauges read their values (the worker supplies them; see README, Monitoring). */
export interface StateReaders {
  queues(): Promise<QueueState[]>;
  ledger(): Promise<LedgerState>;
  /** Free and total bytes of the disk the service stages evidence on. */
  disk(): Promise<{ path: string; freeBytes: number; totalBytes: number }>;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
const FIXITY_FAILURES = ['changed', 'missing', 'error'] as const;

/**
 * Every Prometheus series the service exports, in one registry per process role (API and worker
 * run side by side in the tests, so nothing goes into prom-client's global registry). Counters
 * are incremented where things happen; the state gauges are read from Redis and the database
 * when Prometheus scrapes, once per scrape however many series they fill.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'dems_http_request_duration_seconds',
    help: 'HTTP requests by route template, method and status: latency (its _count is the request rate)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    registers: [this.registry],
  });
  readonly uploadBytes = new Counter({ name: 'dems_upload_bytes_total', help: 'Evidence bytes received over tus and stored', registers: [this.registry] });
  readonly uploadsActive = new Gauge({ name: 'dems_uploads_active', help: 'tus requests carrying bytes in progress on this process', registers: [this.registry] });
  readonly jobFailures = new Counter({
    name: 'dems_job_failures_total',
    help: 'Failed job attempts (retried or final) by queue and job',
    labelNames: ['queue', 'job'] as const,
    registers: [this.registry],
  });
  readonly sealOutcomes = new Counter({
    name: 'dems_seal_outcomes_total',
    help: 'Seals finished, by outcome (sealed, quarantined, seal_failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly fixityChecks = new Counter({
    name: 'dems_fixity_checks_total',
    help: 'Stored objects re-hashed by fixity runs, by outcome (ok, changed, missing, error)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly s3Errors = new Counter({
    name: 'dems_s3_errors_total',
    help: 'S3 requests that failed after the SDK retries, by operation and HTTP status (network: no answer)',
    labelNames: ['operation', 'status'] as const,
    registers: [this.registry],
  });
  readonly databaseErrors = new Counter({ name: 'dems_database_errors_total', help: 'Failed database queries', registers: [this.registry] });
  readonly readErrors = new Counter({
    name: 'dems_metrics_read_errors_total',
    help: 'Scrapes whose queue, ledger or disk state could not be read (the gauges then keep their last values)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  private readers?: StateReaders;

  constructor(readonly role: ServiceRole) {
    this.registry.setDefaultLabels({ service: role });
    collectDefaultMetrics({ register: this.registry, prefix: 'dems_' });
    const queues = this.scrapeOnce('queues', () => this.readers?.queues());
    const ledger = this.scrapeOnce('ledger', () => this.readers?.ledger());
    const disk = this.scrapeOnce('disk', () => this.readers?.disk());
    const registers = [this.registry];

    new Gauge({
      name: 'dems_queue_jobs',
      help: 'Jobs in each queue by state (worker)',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        for (const q of (await queues()) ?? []) for (const state of QUEUE_STATES) this.set({ queue: q.queue, state }, q.counts[state]);
      },
    });
    new Gauge({
      name: 'dems_queue_oldest_waiting_seconds',
      help: 'Age of the oldest job waiting in each queue (worker; 0 when none waits)',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        for (const q of (await queues()) ?? []) this.set({ queue: q.queue }, q.oldestWaitingSeconds);
      },
    });
    new Gauge({
      name: 'dems_ledger_size',
      help: 'Custody events in the ledger (worker)',
      registers,
      async collect() {
        const s = await ledger();
        if (s) this.set(s.size);
      },
    });
    new Gauge({
      name: 'dems_ledger_events_awaiting_checkpoint',
      help: 'Custody events not yet covered by a signed checkpoint (worker)',
      registers,
      async collect() {
        const s = await ledger();
        if (s) this.set(s.size - s.checkpointSize);
      },
    });
    new Gauge({
      name: 'dems_ledger_last_checkpoint_age_seconds',
      help: 'Seconds since the latest signed checkpoint (worker; absent before the first)',
      registers,
      async collect() {
        const s = await ledger();
        if (s?.lastCheckpointAgeSeconds !== undefined) this.set(s.lastCheckpointAgeSeconds);
      },
    });
    new Gauge({
      name: 'dems_fixity_failing_objects',
      help: 'Stored objects whose latest fixity check did not find them intact, by outcome (worker)',
      labelNames: ['outcome'] as const,
      registers,
      async collect() {
        const s = await ledger();
        if (s) for (const outcome of FIXITY_FAILURES) this.set({ outcome }, s.fixityFailing[outcome]);
      },
    });
    new Gauge({
      name: 'dems_staging_disk_free_ratio',
      help: 'Free share (0-1) of the disk evidence is staged on (worker)',
      labelNames: ['path'] as const,
      registers,
      async collect() {
        const d = await disk();
        if (d) this.set({ path: d.path }, d.totalBytes > 0 ? d.freeBytes / d.totalBytes : 0);
      },
    });
  }

  /** Gives the scrape-time gauges their sources (the worker; the API serves only its own counters). */
  readState(readers: StateReaders): void {
    this.readers = readers;
  }

  /** Names of every series family this registry exports (for the alert-rule test and the docs). */
  names(): string[] {
    return this.registry.getMetricsAsArray().map((m) => m.name);
  }

  /**
   * One read per scrape: the gauges of a source are collected concurrently and share the read
   * in flight. A failed read is counted, and the gauges keep their last values.
   */
  private scrapeOnce<T>(source: string, read: () => Promise<T> | undefined): () => Promise<T | undefined> {
    let inFlight: Promise<T | undefined> | undefined;
    return () =>
      (inFlight ??= Promise.resolve()
        .then(read)
        .catch(() => {
          this.readErrors.inc({ source });
          return undefined;
        })
        .finally(() => {
          inFlight = undefined;
        }));
  }
}
