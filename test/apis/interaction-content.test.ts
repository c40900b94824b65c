import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegion, type TestRegion } from '../support/region.js';
import { type ApiTenant, HOUR, VERSIONED_JSON, apiTenant, assertInsufficientScope, assertNotFound } from './helpers.js';
import { type SeededInteraction, seedInteraction } from './fixtures.js';

describe('Interaction Content API', () => {
  let t: TestRegion;
  let a: ApiTenant;
  let b: ApiTenant;
  let call1: SeededInteraction;
  let chat: SeededInteraction;
  let bCall: SeededInteraction;
  before(async () => {
    t = await startRegion();
    a = await apiTenant(t.region, t.baseUrl);
    b = await apiTenant(t.region, t.baseUrl);
    const now = Date.now();
    call1 = await seedInteraction(t.region.store, a.account.id, { startedAt: now - 2 * HOUR, recording: true, transcript: 'json', agentId: a.agent.id });
    chat = await seedInteraction(t.region.store, a.account.id, { channel: 'chat', startedAt: now - HOUR, transcript: 'text' });
    bCall = await seedInteraction(t.region.store, b.account.id, { startedAt: now - HOUR, recording: true, transcript: 'json' });
  });
  after(async () => {
    await t.close();
  });

  const read = (path: string, headers: Record<string, string> = {}) => a.call('GET', path, 'interaction-content:read', { headers });
  const contentPath = (s: SeededInteraction, kind: 'recording' | 'transcript') => {
    const item = s[kind]?.item;
    assert.ok(item);
    return `/interaction-content/interactions/${s.interaction.id}/content/${item.id}`;
  };

  describe('GET .../interactions/{id}/content', () => {
    it('lists the recordings and transcripts without their bytes', async () => {
      const res = await read(`/interaction-content/interactions/${call1.interaction.id}/content`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), VERSIONED_JSON);
      const items = res.json.items ?? [];
      assert.deepEqual(
        items.map((i) => [i.kind, i.contentType, i.size]).sort(),
        [
          ['recording', 'audio/wav', call1.recording?.data.length],
          ['transcript', 'application/json', call1.transcript?.data.length],
        ],
      );
      for (const i of items) {
        assert.deepEqual(Object.keys(i).sort(), ['contentType', 'createdAt', 'id', 'interactionId', 'kind', 'size']);
        assert.equal(i.interactionId, call1.interaction.id);
        assert.ok(!Number.isNaN(Date.parse(String(i.createdAt))));
      }
    });

    it("is 404 for another account's interaction and for an unknown one", async () => {
      assertNotFound(await read(`/interaction-content/interactions/${bCall.interaction.id}/content`));
      assertNotFound(await read('/interaction-content/interactions/00000000-0000-4000-8000-000000000000/content'));
      const own = await b.call('GET', `/interaction-content/interactions/${bCall.interaction.id}/content`, 'interaction-content:read');
      assert.equal(own.json.items?.length, 2, "the other account sees its own");
    });
  });

  describe('GET .../content/{contentId}', () => {
    it('downloads the bytes with their content type, length, ETag and Accept-Ranges', async () => {
      const res = await read(contentPath(call1, 'recording'));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'audio/wav');
      assert.equal(res.headers.get('content-length'), String(call1.recording?.data.length));
      assert.equal(res.headers.get('accept-ranges'), 'bytes');
      assert.equal(res.headers.get('etag'), `"${call1.recording?.item.sha256}"`);
      assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="recording-[0-9a-f-]+\.wav"$/);
      assert.ok(res.bytes.equals(call1.recording?.data as Buffer));
      assert.equal(res.bytes.subarray(0, 4).toString('ascii'), 'RIFF');
      assert.equal(res.bytes.subarray(8, 12).toString('ascii'), 'WAVE');
    });

    it('keeps the stored type of a JSON or text transcript (not the API media type)', async () => {
      const json = await read(contentPath(call1, 'transcript'));
      assert.equal(json.status, 200);
      assert.equal(json.headers.get('content-type'), 'application/json');
      assert.ok(json.bytes.equals(call1.transcript?.data as Buffer));
      const text = await read(contentPath(chat, 'transcript'));
      assert.equal(text.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(text.bytes.toString('utf8'), chat.transcript?.data.toString('utf8'));
    });

    it('answers one byte range with 206 and Content-Range', async () => {
      const data = call1.recording?.data as Buffer;
      const size = data.length;
      const cases: [string, number, number][] = [
        ['bytes=0-99', 0, 99],
        ['bytes=100-', 100, size - 1],
        ['bytes=-10', size - 10, size - 1],
        ['bytes=44-44', 44, 44],
        [`bytes=${size - 5}-${size + 1000}`, size - 5, size - 1],
        [`bytes=-${size + 10}`, 0, size - 1],
      ];
      for (const [range, start, end] of cases) {
        const res = await read(contentPath(call1, 'recording'), { range });
        assert.equal(res.status, 206, range);
        assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${size}`, range);
        assert.equal(res.headers.get('content-length'), String(end - start + 1), range);
        assert.equal(res.headers.get('content-type'), 'audio/wav');
        assert.ok(res.bytes.equals(data.subarray(start, end + 1)), range);
      }
    });

    it('answers 416 with Content-Range: bytes */size for a range past the end', async () => {
      const size = call1.recording?.data.length as number;
      for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
        const res = await read(contentPath(call1, 'recording'), { range });
        assert.equal(res.status, 416, range);
        assert.equal(res.headers.get('content-range'), `bytes */${size}`);
        assert.equal(res.json.error, 'range_not_satisfiable');
        assert.match(String(res.json.message), new RegExp(`${size} bytes`));
      }
    });

    it('sends the whole content for a range it ignores: several ranges, reversed, other units, stale If-Range', async () => {
      const data = call1.recording?.data as Buffer;
      for (const headers of <Record<string, string>[]>[{ range: 'bytes=0-1,5-9' }, { range: 'bytes=9-5' }, { range: 'items=0-1' }, { range: 'bytes=abc' }, { range: 'bytes=0-9', 'if-range': '"stale"' }]) {
        const res = await read(contentPath(call1, 'recording'), headers);
        assert.equal(res.status, 200, JSON.stringify(headers));
        assert.equal(res.headers.get('content-range'), null);
        assert.ok(res.bytes.equals(data));
      }
      const fresh = await read(contentPath(call1, 'recording'), { range: 'bytes=0-9', 'if-range': `"${call1.recording?.item.sha256}"` });
      assert.equal(fresh.status, 206);
    });

    it('answers 304 to If-None-Match with the current ETag, and HEAD with the headers only', async () => {
      const etag = `"${call1.recording?.item.sha256}"`;
      const cached = await read(contentPath(call1, 'recording'), { 'if-none-match': etag });
      assert.equal(cached.status, 304);
      assert.equal(cached.bytes.length, 0);
      assert.equal((await read(contentPath(call1, 'recording'), { 'if-none-match': '"other"' })).status, 200);
      const head = await a.call('HEAD', contentPath(call1, 'recording'), 'interaction-content:read');
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(call1.recording?.data.length));
      assert.equal(head.headers.get('content-type'), 'audio/wav');
      assert.equal(head.bytes.length, 0);
    });

    it('serves the usual Accept headers of download clients (curl, browsers)', async () => {
      for (const accept of ['*/*', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'application/json', 'audio/*, */*;q=0.1']) {
        const res = await read(contentPath(call1, 'recording'), { accept });
        assert.equal(res.status, 200, accept);
        assert.equal(res.headers.get('content-type'), 'audio/wav');
      }
    });

    it('serves Accept: audio/wav', async () => {
      const res = await read(contentPath(call1, 'recording'), { accept: 'audio/wav' });
      assert.equal(res.status, 200);
    });

    it("is 404 for another account's content, for content of another interaction and for unknown ids", async () => {
      assertNotFound(await read(contentPath(bCall, 'recording')));
      assertNotFound(await read(`/interaction-content/interactions/${call1.interaction.id}/content/${bCall.recording?.item.id}`));
      assertNotFound(await read(`/interaction-content/interactions/${chat.interaction.id}/content/${call1.recording?.item.id}`));
      assertNotFound(await read(`/interaction-content/interactions/${call1.interaction.id}/content/00000000-0000-4000-8000-000000000000`));
      const ranged = await read(contentPath(bCall, 'recording'), { range: 'bytes=0-10' });
      assertNotFound(ranged);
    });
  });

  describe('DELETE .../content/{contentId}', () => {
    it("needs interaction-content:delete; another account's content is 404 and stays", async () => {
      assertInsufficientScope(await a.call('DELETE', contentPath(call1, 'recording'), 'interaction-content:read'), 'interaction-content:delete');
      assertNotFound(await a.call('DELETE', contentPath(bCall, 'recording'), 'interaction-content:delete'));
      assertNotFound(await a.call('DELETE', `/interaction-content/interactions/${call1.interaction.id}/content/${bCall.recording?.item.id}`, 'interaction-content:delete'));
      assert.equal((await b.call('GET', contentPath(bCall, 'recording'), 'interaction-content:read')).status, 200);
      assert.equal((await read(contentPath(call1, 'recording'))).status, 200);
    });

    it('deletes for good: 204, then 404 on download and on a second delete, and gone from the list', async () => {
      const res = await a.call('DELETE', contentPath(call1, 'recording'), 'interaction-content:delete');
      assert.equal(res.status, 204);
      assert.equal(res.bytes.length, 0);
      assertNotFound(await read(contentPath(call1, 'recording')));
      assertNotFound(await a.call('DELETE', contentPath(call1, 'recording'), 'interaction-content:delete'));
      const list = await read(`/interaction-content/interactions/${call1.interaction.id}/content`);
      assert.deepEqual(list.json.items?.map((i) => i.kind), ['transcript']);
      assert.equal(await t.region.store.interactionContent.read(a.account.id, call1.recording?.item.id as string), undefined);
    });
  });

  it('reads need interaction-content:read', async () => {
    assertInsufficientScope(await a.call('GET', `/interaction-content/interactions/${call1.interaction.id}/content`, 'stats'), 'interaction-content:read');
    assertInsufficientScope(await a.call('GET', contentPath(call1, 'transcript'), 'interaction-content:delete'), 'interaction-content:read');
  });
});
