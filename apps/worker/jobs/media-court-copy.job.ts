import { Inject, Injectable } from '@nestjs/common';
import { CourtCopiesService } from '../../../libs/evidence/index.js';
import { HandlesJob, type JobContext, type JobFailure, type JobHandler, type JobPayloads, type JobResults } from '../../../libs/queue/index.js';

type Name = 'media.court-copy';

/** Makes a court copy that was asked for (CourtCopiesService.process). */
@Injectable()
@HandlesJob('media.court-copy')
export class MediaCourtCopyJob implements JobHandler<Name> {
  constructor(@Inject(CourtCopiesService) private readonly courtCopies: CourtCopiesService) {}

  handle({ requestId }: JobPayloads[Name], ctx: JobContext): Promise<JobResults[Name]> {
    return this.courtCopies.process(requestId, ctx.signal, (percent) => ctx.progress(percent));
  }

  /** Out of attempts: the request shows failed with its reason, never "processing" forever. */
  async onFinalFailure({ requestId }: JobPayloads[Name], failure: JobFailure): Promise<void> {
    await this.courtCopies.failed(requestId, failure.code, `${failure.message} (after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'})`);
  }
}
