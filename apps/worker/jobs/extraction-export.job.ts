import { Inject, Injectable } from '@nestjs/common';
import { ExtractionExportsService } from '../../../libs/evidence/index.js';
import { HandlesJob, type JobContext, type JobFailure, type JobHandler, type JobPayloads, type JobResults } from '../../../libs/queue/index.js';

type Name = 'extraction.export';

/** Streams the selected entries of a verified extraction into its derived exhibit and seals each (ExtractionExportsService.run). */
@Injectable()
@HandlesJob('extraction.export')
export class ExtractionExportJob implements JobHandler<Name> {
  constructor(@Inject(ExtractionExportsService) private readonly exports: ExtractionExportsService) {}

  handle({ exportId }: JobPayloads[Name], ctx: JobContext): Promise<JobResults[Name]> {
    return this.exports.run(exportId, ctx.signal, (percent) => ctx.progress(percent));
  }

  /** Out of attempts (or refused for good, e.g. bytes not as inventoried): the export shows failed with the reason and a custody event. */
  async onFinalFailure({ exportId }: JobPayloads[Name], failure: JobFailure): Promise<void> {
    await this.exports.failed(exportId, failure.code, `${failure.message} (after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'})`);
  }
}
