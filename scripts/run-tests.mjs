#!/usr/bin/env node
// Runs every test file under test/ with node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [substring filters...]
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (/\.test\.ts$/.test(name)) out.push(p);
  }
  return out;
}

const files = find(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Files whose subject is a real-time bound (a change reaching every instance within 1 s, a
// Redis lease timeout) say `@run-alone` in their text: they run after the others, one at a
// time, so that they measure the product and not a machine loaded by three other test files and
// a browser. Their bounds stay as SPEC states them.
const alone = files.filter((f) => readFileSync(join(root, f), 'utf8').includes('@run-alone'));
const together = files.filter((f) => !alone.includes(f));

function run(list, concurrency) {
  if (list.length === 0) return 0;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, '--test-timeout=120000', ...list],
    { stdio: 'inherit', cwd: root, env: { ...process.env, NODE_ENV: 'test' } },
  );
  return result.status ?? 1;
}

const first = run(together, 3);
if (alone.length > 0) console.log(`\n# ${alone.length} file(s) with real-time bounds, one at a time: ${alone.join(', ')}\n`);
const second = run(alone, 1);
process.exit(first !== 0 ? first : second);
