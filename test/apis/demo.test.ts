// `npm start` seeds the demo account: every platform API shows data for the demo credential.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DemoSeed, seedDemo } from '../../src/demo.js';
import { startRegion, tokenRequest, type TestRegion } from '../support/region.js';
import { DAY, call, isoAt } from './helpers.js';

describe('demo data in the platform APIs', () => {
  let t: TestRegion;
  let seed: DemoSeed;
  before(async () => {
    t = await startRegion();
    const seeded = await seedDemo(t.region.store, t.region.issuer, 'demo-password-123');
    assert.ok(seeded);
    seed = seeded;
  });
  after(async () => {
    await t.close();
  });

  const get = async (path: string, scope: string, headers: Record<string, string> = {}) => {
    const res = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: seed.credential.clientId, client_secret: seed.credential.clientSecret, scope });
    assert.equal(res.status, 200);
    return call(t.baseUrl, 'GET', path, { token: res.body.access_token as string, headers });
  };
  const week = () => `start=${isoAt(Date.now() - 8 * DAY)}&end=${isoAt(Date.now() + 60_000)}`;

  it('lists the demo users and agents in every presence', async () => {
    const res = await get('/useradmin/users', 'users:read');
    assert.equal(res.status, 200);
    assert.ok((res.json.meta?.totalCount ?? 0) >= 15);
    const presences = new Set((res.json.items ?? []).map((u) => u.presence));
    assert.deepEqual([...presences].sort(), ['Away', 'Extended Away', 'Logged Out', 'Ready']);
    const availability = await get('/agents-availability?skillNames=English', 'agents-availability:read');
    assert.ok(Object.values(availability.json).every((n) => typeof n === 'number') && (availability.json.Ready as number) > 0);
  });

  it('has interactions of the last week with transcripts, stats and activities', async () => {
    assert.equal(seed.interactions, 36);
    const analyzed = await get(`/conversation-analyzer/interactions?${week()}`, 'interaction-content:read');
    assert.equal(analyzed.status, 200);
    assert.ok((analyzed.json.meta?.totalCount ?? 0) >= 20, `transcripts: ${analyzed.json.meta?.totalCount}`);
    const channels = new Set((analyzed.json.items ?? []).map((i) => i.channel));
    assert.ok(channels.has('voice') && channels.has('chat'));
    const stats = await get(`/stats/interactions?${week()}`, 'stats');
    const total = (stats.json.items ?? []).reduce((n, r) => n + (r.interactions as number), 0);
    assert.equal(total, 36);
    assert.ok((stats.json.items ?? []).some((r) => (r.active as number) > 0), 'some are still active');
    const activities = await get(`/stats/agent-activities?${week()}`, 'stats');
    assert.ok((activities.json.meta?.totalCount ?? 0) >= 5);
  });

  it('serves playable WAV recordings with byte ranges', async () => {
    const analyzed = await get(`/conversation-analyzer/interactions?${week()}&pageSize=50`, 'interaction-content:read');
    const voice = (analyzed.json.items ?? []).find((i) => i.channel === 'voice');
    assert.ok(voice);
    const list = await get(`/interaction-content/interactions/${voice.id}/content`, 'interaction-content:read');
    const recording = (list.json.items ?? []).find((c) => c.kind === 'recording');
    assert.ok(recording);
    const wav = await get(`/interaction-content/interactions/${voice.id}/content/${recording.id}`, 'interaction-content:read');
    assert.equal(wav.status, 200);
    assert.equal(wav.headers.get('content-type'), 'audio/wav');
    assert.equal(wav.bytes.length, recording.size);
    assert.equal(wav.bytes.toString('ascii', 0, 4), 'RIFF');
    assert.equal(wav.bytes.readUInt32LE(4), wav.bytes.length - 8, 'RIFF chunk size');
    assert.equal(wav.bytes.toString('ascii', 8, 16), 'WAVEfmt ');
    assert.equal(wav.bytes.readUInt16LE(20), 1, 'PCM');
    assert.equal(wav.bytes.toString('ascii', 36, 40), 'data');
    assert.equal(wav.bytes.readUInt32LE(40), wav.bytes.length - 44, 'data chunk size');
    const head = await get(`/interaction-content/interactions/${voice.id}/content/${recording.id}`, 'interaction-content:read', { range: 'bytes=0-43' });
    assert.equal(head.status, 206);
    assert.ok(head.bytes.equals(wav.bytes.subarray(0, 44)));
  });
});
