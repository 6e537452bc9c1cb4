/**
 * The one error type the domain and adapters throw on purpose. `code` is stable (clients and
 * tests match on it), `message` is for a person, `status` is the HTTP status the API filter uses.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** Something the service depends on (database, Redis, S3) is unavailable: retryable. */
export class DependencyUnavailableError extends AppError {
  constructor(dependency: string, message: string, details?: Record<string, unknown>) {
    super('DEPENDENCY_UNAVAILABLE', `${dependency}: ${message}`, 503, { dependency, ...details });
  }
}
