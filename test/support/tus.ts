import * as tus from 'tus-js-client';

export interface TusResult {
  url: string;
  /** Status and body of the request that failed, when it failed. */
  error?: { status: number; body: string; code?: string; message: string };
}

/**
 * Uploads with the standard tus client (tus-js-client), unchanged. `stopAfter` aborts the upload
 * once that many bytes were sent (an interrupted connection); `uploadUrl` resumes an earlier one.
 */
export function tusUpload(
  endpoint: string,
  token: string,
  data: Buffer,
  opts: { metadata?: Record<string, string>; uploadUrl?: string; stopAfter?: number; chunkSize?: number; withCreation?: boolean } = {},
): Promise<TusResult> {
  return new Promise((resolve) => {
    let stopped = false;
    const upload = new tus.Upload(data, {
      endpoint,
      // Options left undefined would override tus-js-client's defaults (chunkSize: Infinity).
      ...(opts.uploadUrl ? { uploadUrl: opts.uploadUrl } : {}),
      ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
      // tus creation-with-upload: the first bytes travel with the POST.
      ...(opts.withCreation ? { uploadDataDuringCreation: true } : {}),
      headers: { authorization: `Bearer ${token}` },
      metadata: opts.metadata ?? {},
      retryDelays: null,
      storeFingerprintForResuming: false,
      onProgress: (sent) => {
        if (opts.stopAfter !== undefined && sent >= opts.stopAfter && !stopped) {
          stopped = true;
          void upload.abort().then(() => setTimeout(() => resolve({ url: upload.url! }), 500));
        }
      },
      onSuccess: () => resolve({ url: upload.url! }),
      onError: (err) => {
        const res = (err as tus.DetailedError).originalResponse;
        const body = res?.getBody() ?? '';
        let parsed: { code?: string; message?: string } = {};
        try {
          parsed = JSON.parse(body);
        } catch {
          /* plain text */
        }
        resolve({ url: upload.url ?? '', error: { status: res?.getStatus() ?? 0, body, code: parsed.code, message: parsed.message ?? err.message } });
      },
    });
    upload.start();
  });
}

export function uploadIdOf(url: string): string {
  return url.split('/').pop()!;
}
