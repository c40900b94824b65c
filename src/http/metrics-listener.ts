import { type Server, createServer } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/**
 * /metrics on a listener of its own (CCAUTH_METRICS_ADDR, off by default), never on the public
 * port: what it reveals (traffic, outcomes, process internals) is for the operator's scraper.
 * Any other path there is a 404.
 */
export class MetricsListener {
  private server: Server | undefined;

  constructor(
    private readonly address: { host: string; port: number },
    private readonly registry: Registry,
    private readonly log: Logger,
  ) {}

  /** Resolves to the URL it listens on; rejects when the address cannot be bound (the start fails). */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
        this.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': this.registry.contentType });
            res.end(req.method === 'HEAD' ? undefined : text);
          },
          (err: unknown) => {
            this.log.error({ err }, 'metrics collection failed');
            res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
            res.end('{"error":"server_error","message":"Metrics could not be collected"}');
          },
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"error":"not_found","message":"This listener serves GET /metrics only"}');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.address.port, this.address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : this.address.port;
    const host = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `http://${host}:${port}/metrics`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
