import { loadCliConfig } from '../../libs/config/index.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The CLI talks to the API like any other client. */
export class ApiClient {
  private readonly base: string;
  private readonly token?: string;

  constructor(config = loadCliConfig()) {
    this.base = config.DEMS_API_URL.replace(/\/$/, '');
    this.token = config.DEMS_TOKEN;
  }

  async get<T>(path: string, okStatuses: number[] = [200]): Promise<{ status: number; body: T }> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        headers: { accept: 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        signal: AbortSignal.timeout(15_000),
      });
    } catch (e) {
      throw new ApiError(0, 'API_UNREACHABLE', `Cannot reach the API at ${this.base} (${(e as Error).cause ?? (e as Error).message}); set DEMS_API_URL`);
    }
    const body = (await res.json().catch(() => ({}))) as T & { code?: string; message?: string };
    if (!okStatuses.includes(res.status)) throw new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? res.statusText);
    return { status: res.status, body };
  }
}
