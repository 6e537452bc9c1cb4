import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's own `X-Request-Id`, when it is sane: logged and recorded beside ours, never in its place. */
export function clientRequestId(req: IncomingMessage): string | undefined {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : undefined;
}

/**
 * Structured JSON logs (pino) for every process. Every HTTP request gets a new UUID as its
 * request id, sent back in `X-Request-Id` and recorded in each s.62 entry it makes, so a response
 * leads to its log entries. It is never the caller's value: a client could otherwise reuse
 * another request's id and make two requests indistinguishable in the s.62 log.
 */
export function loggingModule(service: 'api' | 'worker' | 'cli', level: string) {
  return LoggerModule.forRoot({
    // Fields assigned during a request (who, which case: AuthGuard) reach its closing line too.
    assignResponse: true,
    pinoHttp: {
      level,
      base: { service },
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const id = randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customProps: (req: IncomingMessage) => ({ clientRequestId: clientRequestId(req) }),
      // Keep request logs short: who asked for what, and the answer's status.
      serializers: {
        req: (r: { id: string; method: string; url: string; remoteAddress?: string }) => ({ id: r.id, method: r.method, url: r.url, remoteAddress: r.remoteAddress }),
        res: (r: { statusCode: number }) => ({ statusCode: r.statusCode }),
      },
      redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["upload-metadata"]'],
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      autoLogging: { ignore: (req: IncomingMessage) => req.url === '/health/live' },
    },
  });
}
