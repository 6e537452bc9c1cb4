import { Inject, Injectable } from '@nestjs/common';
import { EvidenceFilesService } from '../../../libs/evidence/index.js';
import { HandlesJob, type JobContext, type JobHandler, type JobPayloads, type JobResults } from '../../../libs/queue/index.js';

type Name = 'ingest.seal';

/** Seals a completed upload, or quarantines it with the reason (EvidenceFilesService.seal). */
@Injectable()
@HandlesJob('ingest.seal')
export class EvidenceSealJob implements JobHandler<Name> {
  constructor(@Inject(EvidenceFilesService) private readonly files: EvidenceFilesService) {}

  async handle({ fileId, digests }: JobPayloads[Name], ctx: JobContext): Promise<JobResults[Name]> {
    const file = await this.files.seal(fileId, digests, ctx.signal);
    await ctx.progress(100);
    return { state: file.state, sha256: file.hashes.find((h) => h.algorithm === 'sha256')?.value ?? null, hashedFrom: file.hashedFrom };
  }
}
