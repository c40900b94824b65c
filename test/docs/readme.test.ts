// The README stands alone: every link it has points into this repository, at a file that exists
// (or is a web address); none goes outside the checkout (e.g. ../shared/...).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('README', () => {
  it('links only to files of the repository that exist', () => {
    const text = readFileSync(join(root, 'README.md'), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
    assert.ok(targets.length > 3);
    for (const target of targets) {
      if (/^(https?:|mailto:|#)/.test(target)) continue;
      const path = resolve(root, target.split('#')[0] as string);
      const inside = relative(root, path);
      assert.ok(!inside.startsWith('..'), `${target} points outside the repository`);
      assert.ok(existsSync(path), `${target} does not exist`);
    }
  });
});
