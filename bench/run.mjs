// `npm run bench`: runs the benchmark scenarios, prints their tables and PASS/FAIL against the
// targets, and writes bench/results/latest.json (and a timestamped copy; bench/results/ is not
// committed).
//
//   node bench/run.mjs [scenario ...] [--duration 10] [--warmup 2] [--connections 1,16,64]
//                      [--workers 1,2] [--credentials 1000000] [--revoked 100000] [--stores sqlite,postgres]
//                      [--quick] [--cpu-prof] [--wait-quiet SECONDS] [--skip-floor] [--nice N] [--strict] [--list]
//
// Scenarios, in order: token (one core: ccauth vs oidc-provider, the node:http floor, the RS256
// sign rate), workers (CCAUTH_WORKERS=N), sweep (16 / 64 / 256 connections), es256, scale (1M
// credentials on SQLite and PostgreSQL), gateway. --quick runs every one very briefly (2 s
// measurements, 100,000 credentials) to smoke-test the harness; its figures mean nothing.
//
// A scenario is a module in bench/scenarios/ exporting `name`, `description` and
// `async run(options)` that resolves to { checks: [{ name, target, value, pass }], text,
// markdown, ...figures }. To add one, write the module and register it in SCENARIOS below.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR, fmt, machineInfo, setNiceness, waitForQuiet, warn } from './lib.mjs';
import * as token from './scenarios/token.mjs';
import * as workers from './scenarios/workers.mjs';
import * as sweep from './scenarios/sweep.mjs';
import * as es256 from './scenarios/es256.mjs';
import * as scale from './scenarios/scale.mjs';
import * as gateway from './scenarios/gateway.mjs';

const SCENARIOS = [token, workers, sweep, es256, scale, gateway];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '1,16,64' },
    workers: { type: 'string', default: '1,2' },
    'connections-per-worker': { type: 'string', default: '16' },
    'sweep-connections': { type: 'string', default: '16,64,256' },
    'sweep-workers': { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    credentials: { type: 'string' },
    revoked: { type: 'string', default: '100000' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    quick: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    'wait-quiet': { type: 'string', default: '0' },
    'skip-floor': { type: 'boolean', default: false },
    nice: { type: 'string', default: process.getuid?.() === 0 ? '-10' : '0' },
    strict: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help || values.list) {
  process.stdout.write(
    (values.help
      ? 'usage: node bench/run.mjs [scenario ...] [--duration S] [--warmup S] [--connections 1,16,64] [--workers 1,2,4,8]\n' +
        '         [--credentials N] [--revoked M] [--stores sqlite,postgres] [--quick] [--cpu-prof] [--wait-quiet S] [--skip-floor] [--nice N] [--strict] [--list]\n' +
        '  --duration S  seconds per measurement (default 10; --quick 2), --warmup S (default 2; --quick 0.5)\n' +
        '  --workers L   worker counts of the workers scenario (those above the cores available are skipped)\n' +
        '  --connections-per-worker C  connections per worker there (default 16)\n' +
        '  --sweep-connections L  connection counts of the sweep (default 16,64,256); --sweep-workers N (default 1)\n' +
        '  --rounds R    rounds of the workers, sweep, es256 and scale scenarios (default 2: order reversed every other round)\n' +
        '  --credentials N  credentials in the scale scenario (default 1,000,000; --quick 100,000); --revoked M (default 100,000)\n' +
        '  --stores L    stores of the scale scenario (default sqlite,postgres; PostgreSQL from DATABASE_BENCH_URL or postgres://postgres@127.0.0.1:5432/test)\n' +
        '  --quick       every scenario very briefly (smoke test of the harness; the figures mean nothing)\n' +
        '  --cpu-prof  write V8 CPU profiles of ccauth to bench/results/profiles/\n' +
        '  --wait-quiet S  first wait up to S seconds for the machine to be under 15% busy for 8 s\n' +
        '  --skip-floor  do not measure the bare node:http reference endpoint\n' +
        '  --nice N    niceness of the measured processes (default -10 as root, else 0)\n' +
        '  --strict    exit 1 when a target is missed\n\nscenarios:\n'
      : '') + SCENARIOS.map((s) => `  ${s.name.padEnd(10)} ${s.description}`).join('\n') + '\n',
  );
  process.exit(0);
}

const selected = positionals.length ? positionals.map((n) => SCENARIOS.find((s) => s.name === n) ?? fail(`unknown scenario ${n}; try --list`)) : SCENARIOS;
const connections = values.connections.split(',').map((c) => Number(c.trim()));
if (connections.some((c) => !Number.isInteger(c) || c < 1)) fail('--connections takes positive integers, e.g. 1,16,64');
const quick = values.quick;
const durationSec = Number(values.duration ?? (quick ? 2 : 10));
const warmupSec = Number(values.warmup ?? (quick ? 0.5 : 2));
if (!(durationSec > 0) || !(warmupSec >= 0)) fail('--duration must be > 0 and --warmup >= 0 (seconds)');
const intList = (name) => {
  const list = values[name].split(',').map((c) => Number(c.trim()));
  if (list.length === 0 || list.some((c) => !Number.isInteger(c) || c < 1)) fail(`--${name} takes positive integers, e.g. 1,2`);
  return list;
};
const positiveInt = (name, fallback) => {
  const n = Number(values[name] ?? fallback);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} takes an integer >= 0`);
  return n;
};
const stores = values.stores.split(',').map((s) => s.trim());
if (stores.some((s) => s !== 'sqlite' && s !== 'postgres')) fail('--stores takes sqlite and/or postgres');
const scenarioOptions = {
  quick,
  workers: intList('workers'),
  connectionsPerWorker: positiveInt('connections-per-worker'),
  sweepConnections: intList('sweep-connections'),
  sweepWorkers: positiveInt('sweep-workers'),
  rounds: Math.max(1, positiveInt('rounds')),
  credentials: Math.max(1, positiveInt('credentials', quick ? 100_000 : 1_000_000)),
  revoked: positiveInt('revoked'),
  stores,
  ...(quick ? { signSec: 1, idleSec: 1 } : {}),
};

const resultsDir = join(BENCH_DIR, 'results');
mkdirSync(resultsDir, { recursive: true });
const ccauthNodeArgs = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(resultsDir, 'profiles')}`] : [];

const nice = Number(values.nice);
if (!Number.isInteger(nice) || nice < -20 || nice > 19) fail('--nice takes an integer from -20 to 19');
setNiceness(nice);
if (Number(values['wait-quiet']) > 0) await waitForQuiet({ maxWaitSec: Number(values['wait-quiet']) });
const machine = machineInfo();
const command = `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim();
process.stdout.write(
  `ccauth benchmark — ${machine.date}\n` +
    `machine: ${machine.nproc} CPUs, ${machine.cpuModel}, Node ${machine.node}, ${machine.platform}, load average at start ${machine.loadavgAtStart}\n` +
    (machine.pinned ? `servers pinned to core ${machine.serverCore}, loader to core ${machine.loaderCore} (taskset)` : 'UNPINNED (no taskset): figures are not comparable to the targets') +
    `; measured processes at niceness ${machine.niceness}\n` +
    '\n',
);
if (quick) warn('--quick: every scenario runs very briefly, to smoke-test the harness; the figures mean nothing');
if (ccauthNodeArgs.length) warn('--cpu-prof: ccauth runs under the V8 profiler, so its figures are lower than normal');

const results = [];
for (const scenario of selected) {
  const started = Date.now();
  const result = await scenario.run({ ...scenarioOptions, connections, durationSec, warmupSec, ccauthNodeArgs, floor: !values['skip-floor'] });
  result.elapsedSec = (Date.now() - started) / 1000;
  results.push(result);
  process.stdout.write(`${result.text}\n\n`);
}

const checks = results.flatMap((r) => r.checks.map((c) => ({ scenario: r.name, ...c })));
const failed = checks.filter((c) => !c.pass);
process.stdout.write(failed.length ? `RESULT: FAIL (${failed.length} of ${checks.length} targets missed: ${failed.map((c) => c.name).join('; ')})\n` : `RESULT: PASS (${checks.length} targets met)\n`);

const doc = { machine: { ...machine, loadavgAtEnd: machineInfo().loadavgAtStart }, command, options: { connections, durationSec, warmupSec, ...scenarioOptions, cpuProf: values['cpu-prof'], floor: !values['skip-floor'], niceness: machine.niceness }, pass: failed.length === 0, checks, scenarios: results };
const json = JSON.stringify(doc, null, 2) + '\n';
const stamp = machine.date.replace(/[:.]/g, '-');
writeFileSync(join(resultsDir, 'latest.json'), json);
writeFileSync(join(resultsDir, `${stamp}.json`), json);
process.stdout.write(`results: ${join('bench', 'results', 'latest.json')} (and ${stamp}.json); total ${fmt.n(results.reduce((a, r) => a + r.elapsedSec, 0))} s\n`);
if (values.strict && failed.length) process.exitCode = 1;

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}
