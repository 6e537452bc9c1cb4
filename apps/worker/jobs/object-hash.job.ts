import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../../../libs/core/index.js';
import { HandlesJob, TerminalJobError, type JobContext, type JobHandler, type JobPayloads, type JobResults } from '../../../libs/queue/index.js';
import { hashStoredObject, ObjectStore } from '../../../libs/storage/index.js';

type Name = 'integrity.hash-object';

/** Re-reads a stored object and computes its SHA-256 (fixity); the basis of scheduled checks. */
@Injectable()
@HandlesJob('integrity.hash-object')
export class ObjectHashJob implements JobHandler<Name> {
  constructor(@Inject(ObjectStore) private readonly store: ObjectStore) {}

  async handle({ bucket, key, expectedSha256 }: JobPayloads[Name], ctx: JobContext): Promise<JobResults[Name]> {
    let digests;
    try {
      digests = await hashStoredObject(this.store, bucket, key, { signal: ctx.signal });
    } catch (e) {
      if (e instanceof AppError && e.code === 'OBJECT_NOT_FOUND') {
        throw new TerminalJobError('OBJECT_MISSING', `Object ${bucket}/${key} is missing from storage`);
      }
      throw e;
    }
    await ctx.progress(100);
    return { size: digests.size, sha256: digests.sha256, matches: expectedSha256 ? expectedSha256.toLowerCase() === digests.sha256 : null };
  }
}
