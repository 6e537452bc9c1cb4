import { Inject, Injectable } from '@nestjs/common';
import { BundleBuilder } from '../../../libs/disclosure/index.js';
import { HandlesJob, type JobContext, type JobFailure, type JobHandler, type JobPayloads, type JobResults } from '../../../libs/queue/index.js';

type Name = 'disclosure.build-bundle';

/** Builds a disclosure bundle (BundleBuilder.build); a ready bundle is left as it is. */
@Injectable()
@HandlesJob('disclosure.build-bundle')
export class DisclosureBundleJob implements JobHandler<Name> {
  constructor(@Inject(BundleBuilder) private readonly builder: BundleBuilder) {}

  async handle({ bundleId }: JobPayloads[Name], ctx: JobContext): Promise<JobResults[Name]> {
    const r = await this.builder.build(bundleId, ctx.signal, (p) => ctx.progress(p));
    await ctx.progress(100);
    return r;
  }

  /** Out of attempts or refused (fixity, MG6D guard): the bundle shows failed with the reason, and a custody event says so. */
  async onFinalFailure({ bundleId }: JobPayloads[Name], failure: JobFailure): Promise<void> {
    await this.builder.failed(bundleId, failure.code, `${failure.message} (after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'})`);
  }
}
