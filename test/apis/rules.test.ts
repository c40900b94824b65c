// The pure rules behind the platform APIs: no server, no store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transcriptView } from '../../src/apis/conversation-analyzer/transcript.js';
import { decideRange, ifRangeHolds, noneMatch } from '../../src/apis/interaction-content/range.js';
import { minorDigits, newPayment } from '../../src/apis/payments/rules.js';
import { checkBodyStrictly } from '../../src/apis/shared/body-guard.js';
import { containsPan, findCardDataFields, isCardDataField } from '../../src/apis/shared/card-data.js';
import { pageOf } from '../../src/apis/shared/paging.js';
import { describeSchemaError, schemaErrorFormatter } from '../../src/apis/shared/schema-errors.js';
import { parseInstant, parseWindow } from '../../src/apis/shared/window.js';
import { filterUsers, userPatch } from '../../src/apis/useradmin/rules.js';
import { ValidationError } from '../../src/domain/errors.js';
import type { User } from '../../src/domain/model.js';
import type { ContentItem } from '../../src/store/platform-model.js';

describe('byte ranges', () => {
  it('decides full, partial and unsatisfiable answers', () => {
    const cases: [string | undefined, number, ReturnType<typeof decideRange>][] = [
      [undefined, 100, { kind: 'full' }],
      ['bytes=0-9', 100, { kind: 'partial', start: 0, end: 9 }],
      ['bytes=90-', 100, { kind: 'partial', start: 90, end: 99 }],
      ['bytes=-5', 100, { kind: 'partial', start: 95, end: 99 }],
      ['bytes=-500', 100, { kind: 'partial', start: 0, end: 99 }],
      ['bytes=50-5000', 100, { kind: 'partial', start: 50, end: 99 }],
      ['BYTES = 1-2', 100, { kind: 'partial', start: 1, end: 2 }],
      ['bytes=100-', 100, { kind: 'unsatisfiable' }],
      ['bytes=-0', 100, { kind: 'unsatisfiable' }],
      ['bytes=0-0', 0, { kind: 'unsatisfiable' }],
      ['bytes=-1', 0, { kind: 'unsatisfiable' }],
      ['bytes=5-1', 100, { kind: 'full' }],
      ['bytes=0-1,3-4', 100, { kind: 'full' }],
      ['bytes=-', 100, { kind: 'full' }],
      ['bytes=a-b', 100, { kind: 'full' }],
      ['pages=1-2', 100, { kind: 'full' }],
    ];
    for (const [header, size, expected] of cases) assert.deepEqual(decideRange(header, size), expected, `${header} of ${size}`);
  });

  it('honours If-Range by strong ETag or exact date, and If-None-Match', () => {
    const etag = '"abc"';
    const date = 'Wed, 01 May 2024 00:00:00 GMT';
    assert.equal(ifRangeHolds(undefined, etag, date), true);
    assert.equal(ifRangeHolds('"abc"', etag, date), true);
    assert.equal(ifRangeHolds('"abd"', etag, date), false);
    assert.equal(ifRangeHolds('W/"abc"', etag, date), false);
    assert.equal(ifRangeHolds(date, etag, date), true);
    assert.equal(ifRangeHolds('Thu, 02 May 2024 00:00:00 GMT', etag, date), false);
    assert.equal(noneMatch(undefined, etag), false);
    assert.equal(noneMatch('"x", W/"abc"', etag), true);
    assert.equal(noneMatch('*', etag), true);
    assert.equal(noneMatch('"x"', etag), false);
  });
});

describe('time windows', () => {
  it('parses ISO 8601 dates and date-times; no offset means UTC', () => {
    assert.equal(parseInstant('2024-05-01'), Date.UTC(2024, 4, 1));
    assert.equal(parseInstant('2024-05-01T10:20'), Date.UTC(2024, 4, 1, 10, 20));
    assert.equal(parseInstant('2024-05-01T10:20:30.5Z'), Date.UTC(2024, 4, 1, 10, 20, 30, 500));
    assert.equal(parseInstant('2024-05-01T10:20:30+02:00'), Date.UTC(2024, 4, 1, 8, 20, 30));
    assert.equal(parseInstant('2024-05-01T10:20:30-0130'), Date.UTC(2024, 4, 1, 11, 50, 30));
    assert.equal(parseInstant('2024-05-01 10:20:30z'), Date.UTC(2024, 4, 1, 10, 20, 30));
    for (const bad of ['', 'now', '2024-5-1', '2024-02-30', '2023-02-29', '2024-13-01', '2024-05-01T24:00', '2024-05-01T10:61', '1714521600', '2024-05-01T10:00:00+25:00']) {
      assert.equal(parseInstant(bad), undefined, bad);
    }
    assert.equal(parseInstant('2024-02-29'), Date.UTC(2024, 1, 29));
  });

  it('allows start < end within 31 days', () => {
    assert.deepEqual(parseWindow('2024-05-01', '2024-06-01'), { from: Date.UTC(2024, 4, 1), to: Date.UTC(2024, 5, 1) });
    assert.throws(() => parseWindow('2024-05-01', '2024-06-01T00:00:00.001Z'), (e: Error) => e instanceof ValidationError && /^Request window size limit exceeded/.test(e.message));
    assert.throws(() => parseWindow('2024-05-02', '2024-05-01'), /end must be after start/);
    assert.throws(() => parseWindow('x', '2024-05-01'), /start must be an ISO 8601 date-time/);
    assert.throws(() => parseWindow('2024-05-01', 'y'), /end must be an ISO 8601 date-time/);
  });
});

describe('card data', () => {
  it('recognizes card fields by name, at any depth', () => {
    for (const key of ['card', 'cardNumber', 'card_number', 'CardNo', 'PAN', 'pan', 'cvv', 'CVV2', 'cvc', 'securityCode', 'expiry', 'expiryDate', 'expirationDate', 'exp', 'expMonth', 'exp_year', 'cardholderName', 'track2', 'paymentCard']) {
      assert.equal(isCardDataField(key), true, key);
    }
    for (const key of ['agentId', 'amount', 'currency', 'reference', 'interactionId', 'company', 'span', 'discardReason', 'expected', 'panel', 'notes', 'customer']) {
      assert.equal(isCardDataField(key), false, key);
    }
    assert.deepEqual(findCardDataFields({ amount: 1, paymentData: { details: [{ cvv: '1' }], pan: 'x' }, ok: { nested: true } }), ['paymentData.details[0].cvv', 'paymentData.pan']);
    assert.deepEqual(findCardDataFields([{ amount: 1 }]), []);
    assert.deepEqual(findCardDataFields('4111111111111111'), []);
  });

  it('finds card numbers in text by length and Luhn check', () => {
    for (const text of ['4111111111111111', '4111 1111 1111 1111', 'ref 5555-5555-5555-4444 ok', '378282246310005', '6011111111111117']) assert.equal(containsPan(text), true, text);
    for (const text of ['4111111111111112', 'INV-1001', '+44 7700 900123', '123456789012', 'order 2024-05-01']) assert.equal(containsPan(text), false, text);
  });
});

describe('strict bodies', () => {
  const schema = {
    type: 'object',
    properties: { name: { type: 'string' }, skills: { type: 'array', items: { type: 'string' } }, agentId: { type: ['string', 'null'] }, amount: { type: 'number' }, page: { type: 'integer' } },
    additionalProperties: false,
    minProperties: 1,
  };
  it('refuses unknown fields, empty bodies and wrong JSON types that coercion would hide', () => {
    assert.doesNotThrow(() => checkBodyStrictly(schema, { name: 'x', skills: ['a'], agentId: null, amount: 1.5, page: 2 }));
    assert.throws(() => checkBodyStrictly(schema, { name: 'x', extra: 1 }), /^ValidationError: Unknown field extra: this request accepts name, skills, agentId, amount, page$/);
    assert.throws(() => checkBodyStrictly(schema, {}), /at least one of: name, skills, agentId, amount, page/);
    assert.throws(() => checkBodyStrictly(schema, { name: 1 }), /Field name must be a string$/);
    assert.throws(() => checkBodyStrictly(schema, { skills: 'a' }), /Field skills must be an array$/);
    assert.throws(() => checkBodyStrictly(schema, { skills: ['a', false] }), /Field skills\[1\] must be a string$/);
    assert.throws(() => checkBodyStrictly(schema, { agentId: 3 }), /Field agentId must be a string or null$/);
    assert.throws(() => checkBodyStrictly(schema, { amount: '3' }), /Field amount must be a number$/);
    assert.throws(() => checkBodyStrictly(schema, { page: 1.5 }), /Field page must be an integer$/);
    assert.doesNotThrow(() => checkBodyStrictly({ type: 'object', properties: { a: {} } }, { b: 1 }), 'open schemas accept other fields');
  });
});

describe('schema error messages', () => {
  const e = (keyword: string, instancePath: string, params: Record<string, unknown>, message?: string) => ({ keyword, instancePath, schemaPath: '', params, message });
  it('names the parameter or field and the rule', () => {
    assert.equal(describeSchemaError(e('required', '', { missingProperty: 'start' }), 'querystring'), 'Query parameter start is required');
    assert.equal(describeSchemaError(e('type', '/page', { type: 'integer' }), 'querystring'), 'Query parameter page must be an integer');
    assert.equal(describeSchemaError(e('enum', '/status', { allowedValues: ['active', 'disabled'] }), 'body'), 'Field status must be one of: active, disabled');
    assert.equal(describeSchemaError(e('maxLength', '/skills/3', { limit: 50 }), 'body'), 'Field skills[3] must be at most 50 characters long');
    assert.equal(describeSchemaError(e('type', '', { type: 'object' }), 'body'), 'The request body must be a JSON object');
    assert.equal(describeSchemaError(e('minimum', '/pageSize', { limit: 1 }, 'must be >= 1'), 'querystring'), 'Query parameter pageSize must be >= 1');
    assert.equal(describeSchemaError(e('minLength', '/id', { limit: 1 }), 'params'), 'Path parameter id must be at least 1 character long');
  });
  it('gives too large a page size the query-limit message of the resource', () => {
    const tooMany = e('maximum', '/pageSize', { limit: 50 }, 'must be <= 50');
    assert.equal(schemaErrorFormatter('users')([tooMany], 'querystring').message, 'Request exceeded maximum number for users of 50 in one query.');
    assert.equal(schemaErrorFormatter()([tooMany], 'querystring').message, 'Query parameter pageSize must be <= 50');
  });
});

describe('paging', () => {
  it('slices and counts', () => {
    const all = Array.from({ length: 7 }, (_, i) => i);
    assert.deepEqual(pageOf(all, { page: 1, pageSize: 3 }), { meta: { page: 1, count: 3, pageCount: 3, totalCount: 7 }, items: [0, 1, 2] });
    assert.deepEqual(pageOf(all, { page: 3, pageSize: 3 }), { meta: { page: 3, count: 1, pageCount: 3, totalCount: 7 }, items: [6] });
    assert.deepEqual(pageOf(all, { page: 4, pageSize: 3 }), { meta: { page: 4, count: 0, pageCount: 3, totalCount: 7 }, items: [] });
    assert.deepEqual(pageOf([], { page: 1, pageSize: 50 }), { meta: { page: 1, count: 0, pageCount: 0, totalCount: 0 }, items: [] });
  });
});

describe('users', () => {
  const user = (skills: string[], extra: Partial<User> = {}): User => ({
    id: 'u',
    accountId: 'a',
    email: 'e',
    name: 'n',
    license: 'agent',
    status: 'active',
    skills,
    presence: 'Ready',
    createdAt: '',
    updatedAt: '',
    ...extra,
  });
  it('filters by all skills case-insensitively, presence, status and license', () => {
    const users = [user(['French', 'English']), user(['french']), user(['English'], { presence: 'Away', license: 'admin', status: 'disabled' })];
    assert.equal(filterUsers(users, { skills: ['FRENCH'] }).length, 2);
    assert.equal(filterUsers(users, { skills: ['french', 'english'] }).length, 1);
    assert.equal(filterUsers(users, { presence: 'Away' }).length, 1);
    assert.equal(filterUsers(users, { license: 'admin', status: 'disabled' }).length, 1);
    assert.equal(filterUsers(users, {}).length, 3);
  });
  it('normalizes a PATCH and refuses self-disable', () => {
    assert.deepEqual(userPatch({ name: ' A ', skills: [' x', 'X', 'y '], status: 'active' }, { id: 't' }, { userId: 'me' }), { name: 'A', skills: ['x', 'y'], status: 'active' });
    assert.deepEqual(userPatch({ status: 'disabled' }, { id: 't' }, { userId: null }), { status: 'disabled' });
    assert.throws(() => userPatch({ status: 'disabled' }, { id: 'me' }, { userId: 'me' }), /cannot disable the user this access token acts for/);
    assert.throws(() => userPatch({ name: '  ' }, { id: 't' }, { userId: null }), /1\.\.100 characters after trimming/);
    assert.throws(() => userPatch({ skills: ['a,b'] }, { id: 't' }, { userId: null }), /must not contain a comma/);
  });
});

describe('payments', () => {
  it('knows the minor units of ISO 4217 currencies', () => {
    assert.equal(minorDigits('GBP'), 2);
    assert.equal(minorDigits('JPY'), 0);
    assert.equal(minorDigits('KWD'), 3);
  });
  it('turns an amount into exact minor units', () => {
    assert.deepEqual(newPayment({ agentId: 'a', amount: 19.99, currency: 'usd' }), { agentId: 'a', interactionId: null, amountMinor: 1999, currency: 'USD', reference: null });
    assert.equal(newPayment({ agentId: 'a', amount: 1.005, currency: 'KWD' }).amountMinor, 1005);
    assert.throws(() => newPayment({ agentId: 'a', amount: 19.999, currency: 'USD' }), /more than 2 decimal places/);
    assert.throws(() => newPayment({ agentId: 'a', amount: 0.001, currency: 'USD' }), /more than 2 decimal places/);
    assert.throws(() => newPayment({ agentId: 'a', amount: 1, currency: 'ABC' }), /ISO 4217/);
    assert.throws(() => newPayment({ agentId: 'a', amount: 1, currency: 'GBP', reference: '4111-1111-1111-1111' }), /looks like a card number/);
  });
});

describe('transcripts', () => {
  const item = (contentType: string): ContentItem => ({ id: 'c', accountId: 'a', interactionId: 'i', kind: 'transcript', contentType, size: 0, sha256: '', createdAt: '' });
  it('reads JSON segments, "Speaker: text" lines, and keeps anything else as text', () => {
    const json = transcriptView(item('application/json'), Buffer.from(JSON.stringify({ language: 'fr-FR', segments: [{ speaker: 'agent', offsetMs: 5, text: 'Bonjour' }, { text: 'x' }] })));
    assert.deepEqual(json, { contentId: 'c', contentType: 'application/json', language: 'fr-FR', segments: [{ speaker: 'agent', offsetMs: 5, text: 'Bonjour' }, { speaker: 'unknown', offsetMs: null, text: 'x' }] });
    const text = transcriptView(item('text/plain'), Buffer.from('Agent: Hi\n\nCustomer:  Hello there \njust words'));
    assert.deepEqual(text.segments, [
      { speaker: 'agent', offsetMs: null, text: 'Hi' },
      { speaker: 'customer', offsetMs: null, text: 'Hello there' },
      { speaker: 'unknown', offsetMs: null, text: 'just words' },
    ]);
    const broken = transcriptView(item('application/json'), Buffer.from('{not json'));
    assert.deepEqual(broken.segments, [{ speaker: 'unknown', offsetMs: null, text: '{not json' }]);
  });
});
