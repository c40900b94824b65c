import assert from 'node:assert/strict';
import type { User } from '../../src/domain/model.js';
import { type PortalClient, rawRequest } from '../support/portal-client.js';
import { tokenRequest } from '../support/region.js';

/** A user-level credential created the way the portal does it; its secret is returned once. */
export async function portalCredential(client: PortalClient, name: string, scopes: string[]): Promise<{ id: string; clientId: string; clientSecret: string }> {
  const res = await client.post('/admin/api/credentials', { name, scopes });
  assert.equal(res.status, 201, res.text);
  return { id: res.body.id as string, clientId: res.body.clientId as string, clientSecret: res.body.clientSecret as string };
}

export async function token(baseUrl: string, clientId: string, clientSecret: string, scope: string): Promise<{ status: number; accessToken: string }> {
  const res = await tokenRequest(baseUrl, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope });
  return { status: res.status, accessToken: res.body.access_token as string };
}

/** A gateway call with a bearer token; answers its status. */
export async function apiCall(baseUrl: string, path: string, accessToken: string): Promise<number> {
  const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.arrayBuffer();
  return res.status;
}

export interface UsageItem {
  at: string;
  tokensIssued: number;
  authFailures: number;
  authFailuresByReason: Record<string, number>;
  apiCalls: number;
  apiRejected: { '401': number; '403': number; '429': number };
}

/** The sums over all buckets of a usage answer. */
export function totals(items: UsageItem[]) {
  const sum = { tokensIssued: 0, authFailures: 0, apiCalls: 0, r401: 0, r403: 0, r429: 0 };
  for (const i of items) {
    sum.tokensIssued += i.tokensIssued;
    sum.authFailures += i.authFailures;
    sum.apiCalls += i.apiCalls;
    sum.r401 += i.apiRejected['401'];
    sum.r403 += i.apiRejected['403'];
    sum.r429 += i.apiRejected['429'];
  }
  return sum;
}

/** Waits until at least `seconds` are left in the current minute (events are bounded per minute). */
export async function awayFromMinuteEnd(seconds = 15): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < seconds * 1000) await new Promise((r) => setTimeout(r, left + 50));
}

export async function revoke(baseUrl: string, clientId: string, clientSecret: string, accessToken: string): Promise<number> {
  const res = await rawRequest(baseUrl, 'POST', '/Auth/connect/revocation', {
    rawBody: new URLSearchParams({ token: accessToken, client_id: clientId, client_secret: clientSecret }).toString(),
    contentType: 'application/x-www-form-urlencoded',
  });
  return res.status;
}

export type { User };
