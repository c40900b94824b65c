// The start banner of `ccauth serve` (without --json) names the region's public URL
// (CCAUTH_PUBLIC_URL), the token URL clients must use and the API reference.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort, tempDir } from '../support/env.js';
import { ensureBuilt, serve } from './helpers.js';

describe('ccauth serve start banner', () => {
  const dir = tempDir('ccauth-cli-banner-');
  after(() => dir.remove());

  it('prints CCAUTH_PUBLIC_URL with the token URL and /docs', async () => {
    await ensureBuilt();
    const port = await freePort();
    const server = await serve([], { CCAUTH_DATA_DIR: dir.path, PORT: String(port), CCAUTH_HOST: '127.0.0.1', CCAUTH_PUBLIC_URL: 'https://emea.api.example.test' }, { human: true });
    try {
      assert.match(server.stdout(), /^public URL \(CCAUTH_PUBLIC_URL\): https:\/\/emea\.api\.example\.test {2}token URL: https:\/\/emea\.api\.example\.test\/Auth\/connect\/token {2}API reference: https:\/\/emea\.api\.example\.test\/docs$/m);
      assert.match(server.stdout(), new RegExp(`listening on http://127\\.0\\.0\\.1:${port} \\(issuer https://emea\\.api\\.example\\.test/Auth\\)`));
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
