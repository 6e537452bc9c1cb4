import { EXTRACTION_ERRORS, extractionError } from './extraction-errors.js';

/**
 * Local disk the process may use for staged EWF segments, shared by every verification running in
 * it. A set larger than the whole budget can never run here (EXTRACTION_OVER_STAGING_BUDGET, not
 * retryable: raise the budget or verify elsewhere); a set that fits waits for others to finish,
 * up to a limit, then gives way with EXTRACTION_STAGING_BUSY (retryable).
 */
export class StagingBudget {
  private used = 0;
  private readonly waiters: { bytes: number; grant: () => void }[] = [];

  constructor(readonly totalBytes: number) {}

  get inUse(): number {
    return this.used;
  }

  async reserve(bytes: number, waitMs: number, what: string): Promise<() => void> {
    if (bytes > this.totalBytes) {
      throw extractionError(
        EXTRACTION_ERRORS.OVER_STAGING_BUDGET,
        `${what} needs ${bytes} bytes of local staging; the staging budget is ${this.totalBytes} bytes, so it cannot be verified on this worker`,
        507,
        { neededBytes: bytes, budgetBytes: this.totalBytes },
      );
    }
    if (this.used + bytes > this.totalBytes || this.waiters.length > 0) {
      await new Promise<void>((resolve, reject) => {
        const waiter = { bytes, grant: () => (clearTimeout(timer), resolve()) };
        const timer = setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          // Those queued behind it may fit now.
          this.grantWaiting();
          reject(extractionError(EXTRACTION_ERRORS.STAGING_BUSY, `${what}: staging space is in use by other verifications; try again later`, 503, { neededBytes: bytes }));
        }, waitMs);
        this.waiters.push(waiter);
      });
    } else {
      this.used += bytes;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
      this.grantWaiting();
    };
  }

  private grantWaiting(): void {
    while (this.waiters.length > 0 && this.used + this.waiters[0].bytes <= this.totalBytes) {
      const w = this.waiters.shift()!;
      this.used += w.bytes;
      w.grant();
    }
  }
}
