import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { freePort } from './env.js';
import { type TestRegion, startRegion } from './region.js';

/**
 * Helpers for testing the token service from the outside: a region whose public URL is the
 * address it really listens on (so discovery and issuer checks work with real OAuth clients),
 * raw token requests the way curl sends them, and JWT / JWKS inspection.
 */

/** A region reachable at its own CCAUTH_PUBLIC_URL (http://127.0.0.1:<port>). */
export async function startPublicRegion(env: Record<string, string> = {}): Promise<TestRegion & { publicUrl: string; issuer: string }> {
  const port = env.PORT ?? String(await freePort());
  const publicUrl = env.CCAUTH_PUBLIC_URL ?? `http://127.0.0.1:${port}`;
  const t = await startRegion({ ...env, PORT: port, CCAUTH_PUBLIC_URL: publicUrl });
  // startRegion's baseUrl names the port it picked itself; ours is the one it listens on.
  return Object.assign(t, { baseUrl: `http://127.0.0.1:${port}`, publicUrl, issuer: `${publicUrl}/Auth` });
}

/** RFC 6749 2.3.1: application/x-www-form-urlencoded encoding of a client ID or secret. */
export function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** The Authorization header of client_secret_basic, with the RFC 6749 2.3.1 encoding. */
export function basicAuthorization(clientId: string, clientSecret: string, encode: (s: string) => string = formEncode): string {
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`, 'utf8').toString('base64')}`;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

/**
 * POST exactly these headers and this body to the token endpoint (no content type is added;
 * a Uint8Array body goes without one, as `curl --data-binary` with `-H 'Content-Type:'`).
 */
export async function rawTokenPost(baseUrl: string, body: string | Uint8Array | undefined, headers: Record<string, string> = {}, method = 'POST'): Promise<RawResponse> {
  const response = await fetch(`${baseUrl}/Auth/connect/token`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    json = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const;

/** A form-encoded token request with client_secret_post. */
export function postForm(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/**
 * Send bytes on a TCP socket and return what came back (status line and the rest), for requests
 * no HTTP client library will build (obs-text header bytes, duplicated headers, broken framing).
 */
export async function rawHttp(baseUrl: string, payload: Buffer | string, timeoutMs = 3000): Promise<{ status: number; response: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // One response is enough: stop once its body has arrived.
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end !== -1) {
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
        if (length && text.length >= end + 4 + Number(length[1])) socket.end();
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (chunks.length > 0) finish();
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      finish();
    });
    let done = false;
    function finish() {
      if (done) return;
      done = true;
      const response = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(response);
      resolve({ status: status ? Number(status[1]) : 0, response });
    }
    socket.write(payload);
  });
}

/**
 * node:http, for what fetch will not do: methods and bodies fetch refuses, or a chosen source
 * address (`localAddress`: on Linux every 127.0.0.0/8 address is local, so a test can be many
 * different clients of a server on 127.0.0.1).
 */
export async function nodeRequest(
  baseUrl: string,
  path: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
  localAddress?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** Decode (without verifying) a compact JWS. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  assert.equal(parts.length, 3, 'a compact JWS has three parts');
  const part = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: part(parts[0] as string), payload: part(parts[1] as string) };
}

export interface PublishedJwk {
  kty: string;
  kid: string;
  n: string;
  e: string;
  alg?: string;
  use?: string;
  x5t?: string;
  x5c?: string[];
  d?: string;
  p?: string;
  q?: string;
}

export async function fetchJwks(jwksUri: string): Promise<PublishedJwk[]> {
  const response = await fetch(jwksUri);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { keys: PublishedJwk[] };
  assert.ok(Array.isArray(body.keys));
  return body.keys;
}

/**
 * Check one published key the way a relying party that pins certificates would: no private
 * members, `x5c[0]` is a DER X.509 certificate for the same public key, `x5t` is the base64url
 * SHA-1 of that DER.
 */
export function assertWellFormedJwk(jwk: PublishedJwk): X509Certificate {
  assert.equal(jwk.kty, 'RSA');
  for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.ok(!(privateMember in jwk), `JWK must not publish ${privateMember}`);
  assert.ok(Array.isArray(jwk.x5c) && jwk.x5c.length >= 1, 'x5c present');
  const der = Buffer.from(jwk.x5c[0] as string, 'base64');
  assert.equal(der.toString('base64'), jwk.x5c[0], 'x5c entries are standard base64 of DER (RFC 7517 4.7)');
  assert.equal(jwk.x5t, createHash('sha1').update(der).digest('base64url'), 'x5t = base64url(SHA-1(DER of x5c[0]))');
  const cert = new X509Certificate(der);
  const certJwk = cert.publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  assert.equal(certJwk.n, jwk.n, 'certificate public key modulus equals the JWK');
  assert.equal(certJwk.e, jwk.e, 'certificate public key exponent equals the JWK');
  assert.ok(cert.verify(cert.publicKey), 'the certificate is self-signed by its key');
  return cert;
}

/**
 * Poll `check` until it returns true; resolves to the milliseconds it took, fails after
 * `timeoutMs` with the message.
 */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, message: string, intervalMs = 10): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) assert.fail(`${message} (not within ${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** RFC 6749 5.2: error_description is %x20-21 / %x23-5B / %x5D-7E (printable ASCII without " and \). */
export const RFC6749_DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

/** Assert an RFC 6749 5.2 error response: status, code, JSON body with exactly error + error_description, no-store. */
export function assertOAuthError(res: RawResponse, status: number, error: string, context = ''): void {
  const where = context ? ` (${context})` : '';
  assert.equal(res.status, status, `status${where}: ${res.text}`);
  assert.ok(res.json, `JSON body${where}: ${res.text}`);
  assert.deepEqual(Object.keys(res.json).sort(), ['error', 'error_description'], `body members${where}`);
  assert.equal(res.json.error, error, `error code${where}: ${res.text}`);
  assert.equal(typeof res.json.error_description, 'string');
  assert.ok((res.json.error_description as string).length > 0);
  assert.match(res.json.error_description as string, RFC6749_DESCRIPTION, `error_description within the RFC 6749 5.2 character set${where}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `content type${where}`);
  assert.match(res.headers.get('cache-control') ?? '', /\bno-store\b/, `Cache-Control: no-store${where}`);
}
