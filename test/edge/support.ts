import { type IncomingMessage, type Server, createServer } from 'node:http';
import { rawHttp } from '../support/oauth.js';

/** A parsed answer of `rawHttp`: what really came back over the socket. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string[]>;
  body: string;
  json: Record<string, unknown> | undefined;
}

/** Send exactly these bytes (duplicated headers, backslashes, broken escapes) and parse the answer. */
export async function raw(baseUrl: string, request: string): Promise<RawAnswer> {
  const { status, response } = await rawHttp(baseUrl, request);
  const end = response.indexOf('\r\n\r\n');
  const head = end === -1 ? response : response.slice(0, end);
  const body = end === -1 ? '' : response.slice(end + 4);
  const headers: Record<string, string[]> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(colon + 1).trim());
  }
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    json = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { status, headers, body, json };
}

/** A GET request line with these header lines, closing the connection after the answer. */
export function get(path: string, headerLines: string[] = []): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headerLines.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`;
}

/** A POST with a body and these header lines. */
export function post(path: string, body: string, headerLines: string[] = []): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headerLines.map((h) => `${h}\r\n`).join('')}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** A plain HTTP server on loopback that records what reaches it. */
export class RecordingServer {
  readonly received: { url: string; headers: IncomingMessage['headers'] }[] = [];
  readonly server: Server;
  port = 0;
  constructor() {
    this.server = createServer((req, res) => {
      this.received.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
  }
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** SPEC's JSON error shape: exactly `{"error","message"}`, both non-empty strings, no framework code. */
export function isSpecError(a: RawAnswer): boolean {
  const j = a.json;
  return (
    j !== undefined &&
    Object.keys(j).sort().join(',') === 'error,message' &&
    typeof j.error === 'string' &&
    j.error !== '' &&
    typeof j.message === 'string' &&
    j.message !== '' &&
    !a.body.includes('FST_')
  );
}

/** RFC 6749 5.2's shape: `{"error","error_description"}`. */
export function isOAuthError(a: RawAnswer): boolean {
  const j = a.json;
  return j !== undefined && Object.keys(j).sort().join(',') === 'error,error_description' && typeof j.error === 'string' && typeof j.error_description === 'string' && !a.body.includes('FST_');
}
