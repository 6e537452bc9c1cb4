import { Inject, Injectable } from '@nestjs/common';
import { pipeline } from 'node:stream/promises';
import { AppError, MultiHashStream } from '../../../libs/core/index.js';
import { HandlesJob, TerminalJobError, type JobContext, type JobHandler, type JobPayloads, type JobResults } from '../../../libs/queue/index.js';
import { ObjectStore } from '../../../libs/storage/index.js';

type Name = 'integrity.hash-object';

/** Re-reads a stored object and computes its SHA-256 (fixity); the basis of scheduled checks. */
@Injectable()
@HandlesJob('integrity.hash-object')
export class ObjectHashJob implements JobHandler<Name> {
  constructor(@Inject(ObjectStore) private readonly store: ObjectStore) {}

  async handle({ bucket, key, expectedSha256 }: JobPayloads[Name], ctx: JobContext): Promise<JobResults[Name]> {
    let object;
    try {
      object = await this.store.get(bucket, key);
    } catch (e) {
      if (e instanceof AppError && e.code === 'OBJECT_NOT_FOUND') {
        throw new TerminalJobError('OBJECT_MISSING', `Object ${bucket}/${key} is missing from storage`);
      }
      throw e;
    }
    const hasher = new MultiHashStream(['sha256']);
    hasher.resume(); // only the digests are wanted
    await pipeline(object.body, hasher, { signal: ctx.signal });
    const { size, sha256 } = hasher.digests();
    await ctx.progress(100);
    return { size, sha256, matches: expectedSha256 ? expectedSha256.toLowerCase() === sha256 : null };
  }
}
