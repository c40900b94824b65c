import { InvalidRequestError } from '../domain/errors.js';

/**
 * Parse an application/x-www-form-urlencoded body strictly: a repeated parameter or a broken
 * percent-escape is an invalid_request (RFC 6749 3.2: "parameters MUST NOT be included more than
 * once"), never a 500.
 */
export function parseForm(body: string): Map<string, string> {
  const params = new Map<string, string>();
  if (body.length === 0) return params;
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const name = decodeComponent(rawName);
    const value = decodeComponent(rawValue);
    if (params.has(name)) throw new InvalidRequestError(`The parameter ${safeName(name)} is repeated`);
    params.set(name, value);
  }
  return params;
}

function decodeComponent(raw: string): string {
  const plus = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    throw new InvalidRequestError('The request body is not valid application/x-www-form-urlencoded');
  }
}

function safeName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : '(unnamed)';
}

export interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * HTTP Basic client authentication with RFC 6749 2.3.1 encoding: the client ID and secret are
 * each form-urlencoded before being joined with ":" and base64-encoded.
 */
export function parseBasicAuthorization(header: string): BasicCredentials | 'not-basic' {
  const match = /^basic[ ]+([A-Za-z0-9+/=._~-]*)\s*$/i.exec(header);
  if (!match) {
    if (/^basic(\s|$)/i.test(header)) throw new InvalidRequestError('The Basic Authorization header is malformed');
    return 'not-basic';
  }
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new InvalidRequestError('The Basic Authorization header is malformed: expected base64(client_id:client_secret)');
  return {
    clientId: decodeComponent(decoded.slice(0, colon)),
    clientSecret: decodeComponent(decoded.slice(colon + 1)),
  };
}

/** The media type of a Content-Type header, lowercased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}
