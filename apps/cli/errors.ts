/**
 * An error the CLI reports as `dems: CODE: message` (main.ts). Status is the HTTP status for an
 * API answer, 0 for a problem found on this side (no credentials, API unreachable, bad input).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
