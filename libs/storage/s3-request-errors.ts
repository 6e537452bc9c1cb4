import type { S3Client } from '@aws-sdk/client-s3';

/** Told of every S3 request that failed for good: its operation and HTTP status ('network' when no answer came). */
export type S3ErrorListener = (operation: string, status: string) => void;

/**
 * Reports each failed request of `client` to `listener`, through the SDK's own middleware stack
 * (one place for every command, including those lib-storage and tus send). It sits at the
 * initialize step, outside the SDK's retries: only failures the caller sees are reported, and
 * never a 404.
 */
export function reportS3Errors(client: Pick<S3Client, 'middlewareStack'>, listener: S3ErrorListener): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        // 404 is an answer (tus and the seal ask whether a part or an object exists yet), not a
        // failure of the store; a missing original is fixity's to report.
        if (status !== 404) listener(context.commandName ?? 'unknown', status ? String(status) : 'network');
        throw e;
      }
    },
    { step: 'initialize', name: 'demsReportErrors' },
  );
}
