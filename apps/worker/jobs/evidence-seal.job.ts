import { Inject, Injectable } from '@nestjs/common';
import { EvidenceFilesService } from '../../../libs/evidence/index.js';
import { ServiceMetrics } from '../../../libs/metrics/index.js';
import { HandlesJob, type JobContext, type JobFailure, type JobHandler, type JobPayloads, type JobResults } from '../../../libs/queue/index.js';

type Name = 'ingest.seal';

/** Seals a completed upload, or quarantines it with the reason (EvidenceFilesService.seal). */
@Injectable()
@HandlesJob('ingest.seal')
export class EvidenceSealJob implements JobHandler<Name> {
  constructor(
    @Inject(EvidenceFilesService) private readonly files: EvidenceFilesService,
    @Inject(ServiceMetrics) private readonly metrics: ServiceMetrics,
  ) {}

  async handle({ fileId, digests }: JobPayloads[Name], ctx: JobContext): Promise<JobResults[Name]> {
    const file = await this.files.seal(fileId, digests, ctx.signal);
    this.metrics.sealOutcomes.inc({ outcome: file.state });
    await ctx.progress(100);
    return { state: file.state, sha256: file.hashes.find((h) => h.algorithm === 'sha256')?.value ?? null, hashedFrom: file.hashedFrom };
  }

  /** Out of attempts (or refused for good): the file shows seal_failed with the reason, and can be retried. */
  async onFinalFailure({ fileId }: JobPayloads[Name], failure: JobFailure): Promise<void> {
    await this.files.sealFailed(fileId, failure.code, `${failure.message} (after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'})`);
    this.metrics.sealOutcomes.inc({ outcome: 'seal_failed' });
  }
}
