// Summarises a V8 .cpuprofile (e.g. from `node bench/run.mjs token --cpu-prof`): where the
// non-idle time went, by function (self time) and inclusive time of the biggest subtrees.
//
//   node bench/cpuprofile-summary.mjs bench/results/profiles/CPU....cpuprofile [--top 30] [--match dist/]
//        [--after issue]   only samples from the first one whose stack holds a function of that
//                          name on (e.g. `issue`: from the first token request, leaving out startup)
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT } from './lib.mjs';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' }, match: { type: 'string' }, after: { type: 'string' } } });
if (!positionals[0]) {
  process.stderr.write('usage: node bench/cpuprofile-summary.mjs FILE.cpuprofile [--top N] [--match SUBSTRING]\n');
  process.exit(2);
}
const top = Number(values.top);
process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1)); // e.g. piped into head
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const stackHas = (id, fn) => {
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur).callFrame.functionName === fn) return true;
  return false;
};
let first = 0;
if (values.after) {
  first = profile.samples.findIndex((id) => stackHas(id, values.after));
  if (first < 0) {
    process.stderr.write(`no sample has ${values.after} on its stack\n`);
    process.exit(1);
  }
}

const selfUs = new Map();
for (let i = first; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}

const where = (cf) => {
  let url = cf.url || '';
  if (url.startsWith('file://')) url = relative(ROOT, fileURLToPath(url));
  return `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
};

let total = 0;
let idle = 0;
const selfByFn = new Map();
const inclByFn = new Map();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  total += us;
  if (node.callFrame.functionName === '(idle)') {
    idle += us;
    continue;
  }
  const key = where(node.callFrame);
  selfByFn.set(key, (selfByFn.get(key) ?? 0) + us);
  // Inclusive: count once per distinct function on the stack.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = where(byId.get(cur).callFrame);
    if (seen.has(k)) continue;
    seen.add(k);
    inclByFn.set(k, (inclByFn.get(k) ?? 0) + us);
  }
}
const busy = total - idle;
const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const show = (title, map) => {
  process.stdout.write(`\n${title}\n`);
  const rows = [...map].filter(([k]) => !values.match || k.includes(values.match)).sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) process.stdout.write(`${ms(us)} ${pct(us)}  ${k}\n`);
};

process.stdout.write(`profile${values.after ? ` from the first sample in ${values.after}` : ''}: ${(total / 1e6).toFixed(2)} s sampled, ${(idle / 1e6).toFixed(2)} s idle, ${(busy / 1e6).toFixed(2)} s busy (percentages are of busy time)\n`);
show('self time by function', selfByFn);
show('inclusive time by function', inclByFn);
