import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { sweepScratch, WorkingCopiesService } from '../../../libs/evidence/index.js';
import { HandlesJob, type JobContext, type JobFailure, type JobHandler, type JobPayloads, type JobResults } from '../../../libs/queue/index.js';

type Name = 'media.process';

/** Probes a sealed original and makes its working copies (WorkingCopiesService.process). */
@Injectable()
@HandlesJob('media.process')
export class MediaProcessJob implements JobHandler<Name>, OnApplicationBootstrap {
  constructor(@Inject(WorkingCopiesService) private readonly workingCopies: WorkingCopiesService) {}

  /** A worker killed mid-job (SIGKILL, a dead container) left its scratch folders: they go before any job runs. */
  async onApplicationBootstrap(): Promise<void> {
    const removed = await sweepScratch();
    if (removed.length) new Logger('MediaProcessJob').warn({ removed }, 'removed the scratch folders of media workers that no longer run');
  }

  handle({ fileId }: JobPayloads[Name], ctx: JobContext): Promise<JobResults[Name]> {
    return this.workingCopies.process(fileId, ctx.signal, (percent) => ctx.progress(percent));
  }

  /** Out of attempts (or refused for good): the file shows media state failed with the reason; never "processing" forever. */
  async onFinalFailure({ fileId }: JobPayloads[Name], failure: JobFailure): Promise<void> {
    await this.workingCopies.failed(fileId, failure.code, `${failure.message} (after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'})`);
  }
}
