import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ALL_SCOPES, SCOPE_LIST_FORMS, splitScopeList } from '../../src/domain/scopes.js';

describe('the scope separator rule (spaces or commas)', () => {
  it('accepts spaces, commas and any mix, folds duplicates and keeps the order', () => {
    for (const text of ['users:read stats', 'users:read,stats', 'users:read, stats', ' users:read ,  stats ', 'users:read\tstats,users:read', 'users:read,,stats']) {
      assert.deepEqual(splitScopeList(text), { ok: true, scopes: ['users:read', 'stats'] }, text);
    }
  });

  it('refuses other separators and empty lists with a message that names the accepted forms', () => {
    for (const text of ['', '  ', ',', 'users:read;stats', 'users:read|stats', 'users:read+stats', '"users:read"']) {
      const result = splitScopeList(text);
      assert.equal(result.ok, false, text);
      assert.ok(!result.ok && result.message.includes(SCOPE_LIST_FORMS), text);
    }
  });

  it('any list of catalogue scopes joined by any mix of separators parses back to the same list', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom(...ALL_SCOPES), { minLength: 1 }), fc.array(fc.constantFrom(' ', ',', ', ', ' , ', '\t'), { minLength: 8, maxLength: 8 }), (scopes, seps) => {
        const text = scopes.map((s, i) => (i === 0 ? s : `${seps[i % seps.length] as string}${s}`)).join('');
        assert.deepEqual(splitScopeList(text), { ok: true, scopes });
      }),
    );
  });
});
