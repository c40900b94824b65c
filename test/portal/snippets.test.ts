// The portal's pure helpers: the code examples (secret only where given, shell quoting) and the
// lockout message from Retry-After. The browser tests cover the pages that use them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, lockoutMessage } from '../../src/portal/src/format.js';
import { SECRET_PLACEHOLDER, exampleCall, snippets } from '../../src/portal/src/snippets.js';

const base = { publicUrl: 'https://emea.example.com/', tokenUrl: 'https://emea.example.com/Auth/connect/token', clientId: 'c0ffee', scopes: ['users:write', 'stats'] };

describe('portal code examples', () => {
  it('carry the client ID everywhere and the secret only when given', () => {
    const withSecret = snippets({ ...base, clientSecret: 's3cr3t-_x' });
    const without = snippets({ ...base, clientSecret: null });
    assert.deepEqual(
      withSecret.map((s) => s.id),
      ['curl', 'node-client', 'node-fetch', 'python', 'csharp'],
    );
    for (const s of withSecret) {
      assert.ok(s.code.includes('c0ffee'), s.id);
      assert.ok(s.code.includes('s3cr3t-_x'), s.id);
      assert.equal(s.code.includes(SECRET_PLACEHOLDER), false, s.id);
    }
    for (const s of without) {
      assert.ok(s.code.includes('c0ffee'), s.id);
      assert.ok(s.code.includes(SECRET_PLACEHOLDER), s.id);
    }
  });

  it('ask for the first scope with a read-only sample call, at the region base URL without a double slash', () => {
    assert.equal(exampleCall(base.scopes).scope, 'stats');
    assert.match(exampleCall(base.scopes).path ?? '', /^\/stats\/interactions\?start=\d{4}-\d\d-\d\dT00:00:00Z&end=/);
    assert.deepEqual(exampleCall(['globalpci']), { scope: 'globalpci', path: null });
    const curl = snippets({ ...base, clientSecret: null }).find((s) => s.id === 'curl')?.code ?? '';
    assert.match(curl, /'https:\/\/emea\.example\.com\/stats\/interactions\?/);
    assert.match(curl, /scope='stats'/);
  });

  it('quote values for the shell, JavaScript, Python and C#', () => {
    const tricky = `a'b"c\\d`;
    const [curl, , fetchJs, python, csharp] = snippets({ ...base, clientSecret: tricky });
    assert.ok(curl?.code.includes(`client_secret='a'\\''b"c\\d'`), curl?.code);
    assert.ok(fetchJs?.code.includes(JSON.stringify(tricky)));
    assert.ok(python?.code.includes(JSON.stringify(tricky)));
    assert.ok(csharp?.code.includes(`"a'b\\"c\\\\d"`), csharp?.code);
  });
});

describe('sign-in lockout message', () => {
  it("names the server's Retry-After, whole minutes past a minute", () => {
    assert.equal(lockoutMessage(900), 'Too many sign-in attempts. Try again in 15 minutes.');
    assert.equal(lockoutMessage(899), 'Too many sign-in attempts. Try again in 15 minutes.');
    assert.equal(lockoutMessage(61), 'Too many sign-in attempts. Try again in 2 minutes.');
    assert.equal(lockoutMessage(45), 'Too many sign-in attempts. Try again in 45 seconds.');
    assert.equal(lockoutMessage(null), 'Too many sign-in attempts. Wait a moment and try again.');
    assert.equal(formatDuration(3600), '1 hour');
  });
});
