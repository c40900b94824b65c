// Review of issue 7 item 8: admin sign-in attempts are reserved in the primary's failure counts
// before the password is checked, so a concurrent burst spread over the worker processes of one
// `serve` gets no more passwords checked than the limits allow.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FreshResponse, type Instance, fresh, startInstance, tenant } from './helpers.js';

describe('serve with 2 worker processes, no Redis: a sign-in burst', () => {
  let instance: Instance;
  before(async () => {
    instance = await startInstance({ CCAUTH_TRUST_PROXY: 'loopback' });
  });
  after(async () => {
    await instance?.close();
  });

  const signIn = (from: string, email: string, password: string) =>
    fresh(instance.base, 'POST', '/admin/api/session', { headers: { 'content-type': 'application/json', 'x-forwarded-for': from }, body: JSON.stringify({ email, password }) });

  it('59 wrong passwords at once over both workers, then the right one: 5 checked in all, the right one refused; the admin signs in from their own address', async () => {
    const t = await tenant(instance, 'Burst', 1000);
    const attacker = '203.0.113.5';
    const wrong = Promise.all(Array.from({ length: 59 }, (_, i) => signIn(attacker, t.email, `guess-${i}`)));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const right = await signIn(attacker, t.email, t.password);
    const answers: FreshResponse[] = await wrong;
    const tally = answers.reduce<Record<number, number>>((x, a) => ({ ...x, [a.status]: (x[a.status] ?? 0) + 1 }), {});
    assert.deepEqual(tally, { 401: 5, 429: 54 });
    assert.equal(new Set(answers.map((a) => a.worker)).size, 2, 'both workers answered');
    assert.equal(right.status, 429, JSON.stringify(right.body));
    assert.equal((await signIn('198.51.100.7', t.email, t.password)).status, 200);
  });
});
