import { Inject, Injectable } from '@nestjs/common';
import { ExtractionsService } from '../../../libs/evidence/index.js';
import { HandlesJob, type JobContext, type JobFailure, type JobHandler, type JobPayloads, type JobResults } from '../../../libs/queue/index.js';

type Name = 'extraction.verify';

/** Groups a device extraction exhibit's sealed files into sets and verifies the complete ones (ExtractionsService.verifyExhibit). */
@Injectable()
@HandlesJob('extraction.verify')
export class ExtractionVerifyJob implements JobHandler<Name> {
  constructor(@Inject(ExtractionsService) private readonly extractions: ExtractionsService) {}

  handle({ exhibitId }: JobPayloads[Name], ctx: JobContext): Promise<JobResults[Name]> {
    return this.extractions.verifyExhibit(exhibitId, ctx.signal, (percent) => ctx.progress(percent));
  }

  /** Out of attempts (or refused for good): the sets being verified show failed with the reason and a custody event; never "verifying" forever. */
  async onFinalFailure({ exhibitId, fileId }: JobPayloads[Name], failure: JobFailure): Promise<void> {
    await this.extractions.failed(exhibitId, fileId, failure.code, `${failure.message} (after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'})`);
  }
}
