import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server for one file, with Range support (what a presigned S3 GET offers), a
 * log of requests, and a "stall" mode that sends headers and then nothing, for tools' clients.
 */
export class HttpFileServer {
  readonly requests: { range?: string; userAgent?: string; url: string }[] = [];
  private server?: Server;
  stallTools = false;

  constructor(private readonly file: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.serve(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/evidence/clip.bin`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private serve(req: IncomingMessage, res: import('node:http').ServerResponse): void {
    this.requests.push({ range: req.headers.range, userAgent: req.headers['user-agent'], url: req.url ?? '' });
    const size = statSync(this.file).size;
    const fromTool = /Lavf/i.test(req.headers['user-agent'] ?? '');
    if (this.stallTools && fromTool) {
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
      res.flushHeaders();
      return; // never a byte: the tool must be killed
    }
    const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes' });
      createReadStream(this.file, { start, end }).pipe(res);
      return;
    }
    res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
    createReadStream(this.file).pipe(res);
  }
}
