// The client's API errors against a running region: the server's error and message, the status
// and the request id, for the platform APIs' answer shapes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiError, ApiRequestError, CcauthClient } from '../../src/client/index.js';
import { type TestRegion, createCredential, createTenant, startRegion } from '../support/region.js';

let t: TestRegion;
let client: CcauthClient;
before(async () => {
  t = await startRegion();
  const tenant = await createTenant(t.region);
  const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['agents-availability:read', 'users:read']);
  client = new CcauthClient({ baseUrl: t.baseUrl, clientId: credential.clientId, clientSecret, scope: 'agents-availability:read users:read' });
});
after(async () => {
  await t?.close();
});

async function failure(path: string, init: RequestInit = {}): Promise<ApiError> {
  try {
    await client.json(path, init);
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    return err;
  }
  throw new Error(`${path} did not fail`);
}

describe('ApiError', () => {
  it("carries the server's error and message, the status and the request id", async () => {
    const e = await failure('/useradmin/users/no-such-user', { headers: { 'x-request-id': 'my-trace-42' } });
    assert.equal(e.status, 404);
    assert.equal(e.error, 'not_found');
    assert.match(e.message, /no-such-user/);
    assert.equal(e.requestId, 'my-trace-42');
    assert.equal(e.name, 'ApiError');
    assert.ok(e instanceof ApiRequestError, 'the earlier name still matches');
  });

  it('turns a validation answer {"Field":["problem"]} into invalid_request with the problem as message', async () => {
    const e = await failure('/agents-availability');
    assert.equal(e.status, 400);
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.message, 'SkillNames: The SkillNames field is required.');
    assert.match(e.requestId ?? '', /\S/, 'a generated request id');
    assert.deepEqual(e.body, { SkillNames: ['The SkillNames field is required.'] });
  });

  it('names the missing scope of a 403, and a 406 keeps its code', async () => {
    const scoped = await failure('/stats/interactions?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z');
    assert.equal(scoped.status, 403);
    assert.equal(scoped.error, 'insufficient_scope');
    assert.match(scoped.message, /stats/);
    const version = await failure('/agents-availability?skillNames=English', { headers: { accept: 'application/vnd.newvoicemedia.v9+json' } });
    assert.equal(version.status, 406);
    assert.match(version.error, /\S/);
    assert.doesNotMatch(version.message, /^API request failed/);
  });
});
