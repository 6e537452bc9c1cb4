import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Structured JSON logs (pino) for every process. HTTP requests get a request id: the caller's
 * `X-Request-Id` if it is sane, a new UUID otherwise; it is echoed in the response header.
 */
export function loggingModule(service: 'api' | 'worker' | 'cli', level: string) {
  return LoggerModule.forRoot({
    pinoHttp: {
      level,
      base: { service },
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
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
