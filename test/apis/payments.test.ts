import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createRegion } from '../../src/server.js';
import { freePort, tempDir } from '../support/env.js';
import { startRegion, type TestRegion } from '../support/region.js';
import { type ApiTenant, VERSIONED_JSON, apiTenant, assertBadRequest, assertInsufficientScope, assertNotFound } from './helpers.js';
import { seedInteraction } from './fixtures.js';

const PAN = '4111111111111111';
const CARD_BODIES: [string, Record<string, unknown>, RegExp][] = [
  ['cardNumber', { cardNumber: PAN }, /\(field cardNumber\)$/],
  ['pan', { pan: PAN }, /\(field pan\)$/],
  ['cvv and expiry', { cvv: '123', expiryDate: '12/29' }, /\(fields cvv, expiryDate\)$/],
  ['card_number', { card_number: PAN, cvc: '123' }, /\(fields card_number, cvc\)$/],
  ['nested paymentData', { paymentData: { card: { number: PAN, exp_month: 12 } } }, /\(field paymentData\.card\)$/],
  ['CVV2 and expMonth', { CVV2: '123', expMonth: 1, expYear: 2030 }, /\(fields CVV2, expMonth, expYear\)$/],
];

describe('Payment API', () => {
  let t: TestRegion;
  let a: ApiTenant;
  let b: ApiTenant;
  before(async () => {
    t = await startRegion();
    a = await apiTenant(t.region, t.baseUrl);
    b = await apiTenant(t.region, t.baseUrl);
  });
  after(async () => {
    await t.close();
  });

  const create = (body: unknown, tenant = a) => tenant.call('POST', '/payments/sessions', 'globalpci', { body });
  const valid = () => ({ agentId: a.agent.id, amount: 12.5, currency: 'GBP', reference: 'INV-1001' });

  it('creates a pending session (201, Location) and reads it back', async () => {
    const call = await seedInteraction(t.region.store, a.account.id, { startedAt: Date.now() - 60_000, handling: null });
    const res = await create({ ...valid(), currency: 'gbp', interactionId: call.interaction.id });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('content-type'), VERSIONED_JSON);
    const id = res.json.id as string;
    assert.equal(res.headers.get('location'), `/payments/sessions/${id}`);
    assert.equal(res.json.status, 'pending');
    assert.equal(res.json.amount, 12.5);
    assert.equal(res.json.currency, 'GBP');
    assert.equal(res.json.reference, 'INV-1001');
    assert.equal(res.json.agentId, a.agent.id);
    assert.equal(res.json.interactionId, call.interaction.id);
    const ttl = Date.parse(String(res.json.expiresAt)) - Date.parse(String(res.json.createdAt));
    assert.equal(ttl, 15 * 60 * 1000);
    const read = await a.call('GET', `/payments/sessions/${id}`, 'globalpci');
    assert.equal(read.status, 200);
    assert.deepEqual(read.json, res.json);
  });

  it('keeps amounts exact in the currency minor unit', async () => {
    const jpy = await create({ ...valid(), amount: 1200, currency: 'JPY' });
    assert.equal(jpy.status, 201);
    assert.equal(jpy.json.amount, 1200);
    const kwd = await create({ ...valid(), amount: 1.234, currency: 'KWD' });
    assert.equal(kwd.json.amount, 1.234);
    // Binary floating-point noise of a client's arithmetic is not a third decimal.
    const cents = await create({ ...valid(), amount: 0.1 + 0.2, currency: 'EUR' });
    assert.equal(cents.status, 201);
    assert.equal(cents.json.amount, 0.3);
    assert.equal(await t.region.store.paymentSessions.get(a.account.id, cents.json.id as string).then((s) => s?.amountMinor), 30);
    assert.equal((await create({ ...valid(), amount: 0.301, currency: 'EUR' })).status, 400);
  });

  it('refuses card data with 400 card_data_not_allowed, naming only the fields, and stores nothing', async () => {
    const before = await t.region.store.paymentSessions.countByAccount(a.account.id);
    for (const [label, extra, fields] of CARD_BODIES) {
      const res = await create({ ...valid(), ...extra });
      assertBadRequest(res, /^Card data is captured by the secure payment page, never sent through the API/, 'card_data_not_allowed');
      assert.match(String(res.json.message), fields, label);
      assert.ok(!res.bytes.toString('utf8').includes(PAN), `${label}: the answer does not echo the card number`);
    }
    const ref = await create({ ...valid(), reference: `card ${PAN}` });
    assertBadRequest(ref, /^Field reference looks like a card number/, 'card_data_not_allowed');
    assert.ok(!ref.bytes.toString('utf8').includes(PAN));
    assert.equal(await t.region.store.paymentSessions.countByAccount(a.account.id), before);
  });

  it('refuses every other invalid body with 400 naming the problem', async () => {
    const before = await t.region.store.paymentSessions.countByAccount(a.account.id);
    const done = await seedInteraction(t.region.store, a.account.id, { startedAt: Date.now() - 60_000, handling: 20 });
    const theirs = await seedInteraction(t.region.store, b.account.id, { startedAt: Date.now(), handling: null });
    const v = valid();
    const cases: [unknown, RegExp][] = [
      [{ amount: 1, currency: 'GBP' }, /^Field agentId is required$/],
      [{ agentId: v.agentId, currency: 'GBP' }, /^Field amount is required$/],
      [{ agentId: v.agentId, amount: 1 }, /^Field currency is required$/],
      [{ ...v, amount: '12.50' }, /^Field amount must be a number$/],
      [{ ...v, amount: 0 }, /^Field amount must be > 0$/],
      [{ ...v, amount: -5 }, /^Field amount must be > 0$/],
      [{ ...v, amount: 1_000_000.01 }, /^Field amount must be <= 1000000$/],
      [{ ...v, amount: 12.345 }, /^Field amount has more than 2 decimal places, which GBP does not allow$/],
      [{ ...v, amount: 12.5, currency: 'JPY' }, /^Field amount has more than 0 decimal places, which JPY does not allow$/],
      [{ ...v, currency: 'XQQ' }, /^Field currency must be an ISO 4217 currency code/],
      [{ ...v, currency: 'PO' }, /^Field currency must be at least 3 characters long$/],
      [{ ...v, reference: '' }, /^Field reference must be at least 1 character long$/],
      [{ ...v, reference: 'x'.repeat(65) }, /^Field reference must be at most 64 characters long$/],
      [{ ...v, callback: 'https://x' }, /^Unknown field callback: this request accepts agentId, amount, currency, reference, interactionId$/],
      [{ ...v, agentId: b.agent.id }, /^Field agentId: no user with id .* in this account$/],
      [{ ...v, interactionId: theirs.interaction.id }, /^Field interactionId: no interaction with id .* in this account$/],
    ];
    for (const [body, message] of cases) assertBadRequest(await create(body), message);
    const completed = await create({ ...v, interactionId: done.interaction.id });
    assert.equal(completed.status, 409);
    assert.match(String(completed.json.message), /is completed: a payment session needs an active interaction/);
    assert.equal(await t.region.store.paymentSessions.countByAccount(a.account.id), before);
  });

  it("is 404 for another account's session and for unknown ids", async () => {
    const theirs = await create({ agentId: b.agent.id, amount: 5, currency: 'EUR' }, b);
    assert.equal(theirs.status, 201);
    assertNotFound(await a.call('GET', `/payments/sessions/${theirs.json.id}`, 'globalpci'));
    assertNotFound(await a.call('GET', '/payments/sessions/00000000-0000-4000-8000-000000000000', 'globalpci'));
    assert.equal((await b.call('GET', `/payments/sessions/${theirs.json.id}`, 'globalpci')).status, 200);
  });

  it('needs globalpci', async () => {
    const before = await t.region.store.paymentSessions.countByAccount(a.account.id);
    assertInsufficientScope(await a.call('POST', '/payments/sessions', 'interactions:write', { body: valid() }), 'globalpci');
    const created = await create(valid());
    assertInsufficientScope(await a.call('GET', `/payments/sessions/${created.json.id}`, 'stats'), 'globalpci');
    assert.equal(await t.region.store.paymentSessions.countByAccount(a.account.id), before + 1);
  });
});

describe('Payment API: card data never reaches a log', () => {
  it('logs nothing of a refused body, even at trace level with request logging on', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const dir = tempDir();
    const port = await freePort();
    const config = loadConfig({ CCAUTH_DATA_DIR: dir.path, PORT: String(port), CCAUTH_HOST: '127.0.0.1', CCAUTH_LOG_LEVEL: 'trace', CCAUTH_LOG_REQUESTS: 'true', CCAUTH_CHANGE_POLL_MS: '50' });
    // No redaction at all: the proof is that nothing logs the body in the first place.
    const region = await createRegion(config, { log: pino({ level: 'trace' }, sink) });
    await region.listen();
    try {
      const baseUrl = `http://127.0.0.1:${port}`;
      const tenant = await apiTenant(region, baseUrl);
      for (const [, extra] of CARD_BODIES) {
        const res = await tenant.call('POST', '/payments/sessions', 'globalpci', { body: { agentId: tenant.agent.id, amount: 1, currency: 'GBP', ...extra } });
        assert.equal(res.status, 400);
      }
      const ref = await tenant.call('POST', '/payments/sessions', 'globalpci', { body: { agentId: tenant.agent.id, amount: 1, currency: 'GBP', reference: PAN } });
      assert.equal(ref.status, 400);
      const log = lines.join('');
      assert.ok(log.includes('/payments/sessions'), 'requests were logged');
      assert.ok(!log.includes(PAN), 'no card number in the log');
      assert.ok(!log.includes('"cvv"') && !log.includes('12/29'), 'no card field in the log');
    } finally {
      await region.close();
      dir.remove();
    }
  });
});
