// Scenario "token": the client-credentials token endpoint of ccauth against panva's
// oidc-provider doing the same job (same grant, scope and RS256 JWT access token), each server
// pinned to the server core and autocannon on the loader core, at several connection counts;
// plus the RS256 signing rate of one core (crypto.sign) and ccauth's idle RSS.
import * as ccauthPeer from '../peers/ccauth.mjs';
import * as oidcPeer from '../peers/oidc-provider.mjs';
import { assertIssuesRs256Jwt, check, fmt, log, markdownTable, measureSignRate, memoryOf, runLoad, sleep, table, warn } from '../lib.mjs';

export const name = 'token';
export const description = 'POST /Auth/connect/token (client_credentials, RS256 JWT): ccauth vs oidc-provider';

/** The targets of the issue, at TARGET_CONNECTIONS connections. */
export const TARGETS = {
  connections: 16,
  ratioVsOidcProvider: 1.6,
  fractionOfSignRate: 0.85,
  p99Ms: 10,
  idleRssMB: 150,
};

/**
 * opts: { connections: number[], durationSec, warmupSec, idleSec, signSec, ccauthNodeArgs }.
 * Returns { name, description, sign, peers, measurements, ratios, checks, text, markdown }.
 */
export async function run(opts) {
  const { connections, durationSec, warmupSec, idleSec = 3, signSec = 4, ccauthNodeArgs = [] } = opts;
  const peers = [ccauthPeer, oidcPeer];

  log(`RS256 signing baseline (crypto.sign, ${signSec} s)...`);
  const signBefore = await measureSignRate({ seconds: signSec });
  log(`  ${fmt.n(signBefore.signsPerSec)} signs/s`);

  const servers = [];
  const info = {};
  try {
    for (const peer of peers) {
      log(`starting ${peer.name}...`);
      const server = await peer.start(peer === ccauthPeer ? { nodeArgs: ccauthNodeArgs } : {});
      servers.push(server);
      // Idle RSS: after startup and a short idle, before any request.
      await sleep(idleSec * 1000);
      const idle = memoryOf(server.pid);
      const token = await assertIssuesRs256Jwt(server.name, server.tokenRequest());
      info[server.name] = { pid: server.pid, idleRssMB: idle.rssMB, token: { header: token.header, claims: Object.keys(token.payload), length: token.length, expiresIn: token.expiresIn, scope: token.scope } };
      log(`  ${server.name}: pid ${server.pid}, idle RSS ${fmt.n(idle.rssMB, 1)} MB, token ${token.header.alg}/${token.header.typ}, ${token.length} chars`);
    }

    // Interleaved: at each connection count, one server then the other, so slow drifts in
    // machine load affect both alike. The idle server sleeps meanwhile.
    const measurements = Object.fromEntries(servers.map((s) => [s.name, []]));
    for (const c of connections) {
      for (const server of servers) {
        log(`${server.name}: ${c} connection(s), ${warmupSec} s warm-up + ${durationSec} s...`);
        const m = await runLoad({ request: server.tokenRequest(), connections: c, durationSec, warmupSec, serverPid: server.pid });
        measurements[server.name].push(m);
        log(`  ${fmt.n(m.tokensPerSec)} tokens/s, p50 ${fmt.ms(m.p50)} ms, p99 ${fmt.ms(m.p99)} ms, ${m.errors} errors; server CPU ${fmt.pct(m.server?.utilization)}, ${fmt.n(m.server?.tokensPerCpuSec)} tokens/CPU-s; other load on its core ${fmt.pct(m.core?.otherBusy)}; loader CPU ${fmt.pct(m.loader.utilization)}, other load on the loader's core ${fmt.pct(m.loader.otherBusy)}`);
      }
    }
    for (const server of servers) info[server.name].afterLoad = memoryOf(server.pid);

    // Once more after the load, to see the machine's noise; the higher rate is the stricter baseline.
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    log(`RS256 signing baseline again (${signSec} s)...`);
    const signAfter = await measureSignRate({ seconds: signSec });
    log(`  ${fmt.n(signAfter.signsPerSec)} signs/s`);
    const signsPerSec = Math.max(signBefore.signsPerSec, signAfter.signsPerSec);

    const signsPerCpuSec = Math.max(signBefore.signsPerCpuSec, signAfter.signsPerCpuSec);
    return report({
      connections,
      durationSec,
      warmupSec,
      sign: { before: signBefore.signsPerSec, after: signAfter.signsPerSec, signsPerSec, signsPerCpuSec, beforeCpu: signBefore.signsPerCpuSec, afterCpu: signAfter.signsPerCpuSec, payloadBytes: signBefore.payloadBytes },
      info,
      measurements,
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

function report({ connections, durationSec, warmupSec, sign, info, measurements }) {
  const cc = measurements[ccauthPeer.name];
  const op = measurements[oidcPeer.name];
  const ratios = connections.map((c, i) => ({ connections: c, ratio: cc[i].tokensPerSec / op[i].tokensPerSec }));
  const at = (list, c) => list[connections.indexOf(c)];
  const T = TARGETS;
  const cc16 = at(cc, T.connections);
  const op16 = at(op, T.connections);
  const ccErrors = cc.reduce((a, m) => a + m.errors, 0);

  const checks = [];
  if (cc16 && op16) {
    checks.push(check(`tokens/s at ${T.connections} conns vs oidc-provider`, `>= ${T.ratioVsOidcProvider}x`, fmt.x(cc16.tokensPerSec / op16.tokensPerSec), cc16.tokensPerSec / op16.tokensPerSec >= T.ratioVsOidcProvider));
    checks.push(check(`tokens/s at ${T.connections} conns vs one core's RS256 sign rate (${fmt.n(sign.signsPerSec)}/s)`, `>= ${fmt.pct(T.fractionOfSignRate)}`, fmt.pct(cc16.tokensPerSec / sign.signsPerSec), cc16.tokensPerSec / sign.signsPerSec >= T.fractionOfSignRate));
    checks.push(check(`p99 at ${T.connections} conns`, `< ${T.p99Ms} ms`, `${fmt.ms(cc16.p99)} ms`, cc16.p99 < T.p99Ms));
  } else {
    checks.push(check(`measured at ${T.connections} connections`, 'yes', 'no', false));
  }
  checks.push(check('errors (ccauth, all runs)', '0', String(ccErrors), ccErrors === 0));
  checks.push(check('idle RSS (ccauth)', `< ${T.idleRssMB} MB`, `${fmt.n(info.ccauth.idleRssMB, 1)} MB`, info.ccauth.idleRssMB < T.idleRssMB));

  const headers = ['server', 'conns', 'tokens/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU', 'tokens/CPU-s', 'noise: server core', 'noise: loader core'];
  const rows = [];
  for (const [name, list] of Object.entries(measurements)) {
    for (const m of list) rows.push([name, m.connections, fmt.n(m.tokensPerSec), fmt.ms(m.p50), fmt.ms(m.p99), m.errors, fmt.pct(m.server?.utilization), fmt.n(m.server?.tokensPerCpuSec), fmt.pct(m.core?.otherBusy), fmt.pct(m.loader.otherBusy)]);
  }
  const ratioHeaders = ['conns', 'ccauth / oidc-provider', 'ccauth % of sign rate', 'per CPU-s: ccauth / oidc-provider', 'per CPU-s: ccauth % of sign rate'];
  const ratioRows = ratios.map(({ connections: c, ratio }) => [
    c,
    fmt.x(ratio),
    fmt.pct(at(cc, c).tokensPerSec / sign.signsPerSec),
    fmt.x(at(cc, c).server?.tokensPerCpuSec / at(op, c).server?.tokensPerCpuSec),
    fmt.pct(at(cc, c).server?.tokensPerCpuSec / sign.signsPerCpuSec),
  ]);
  const busyLoader = Object.values(measurements).flat().filter((m) => m.loader.utilization > 0.9);
  if (busyLoader.length) warn(`the loader was over 90% busy in ${busyLoader.length} measurement(s): it may have limited the throughput`);
  const checkHeaders = ['target', 'wanted', 'measured', 'result'];
  const checkRows = checks.map((c) => [c.name, c.target, c.value, c.pass ? 'PASS' : 'FAIL']);
  const memHeaders = ['server', 'idle RSS MB', 'RSS after load MB', 'peak RSS MB'];
  const memRows = Object.entries(info).map(([name, i]) => [name, fmt.n(i.idleRssMB, 1), fmt.n(i.afterLoad?.rssMB, 1), fmt.n(i.afterLoad?.peakRssMB, 1)]);

  const signLine =
    `RS256 sign rate of one core (crypto.sign, 2048-bit, ${sign.payloadBytes}-byte input): ${fmt.n(sign.before)}/s before, ${fmt.n(sign.after)}/s after the load; baseline = ${fmt.n(sign.signsPerSec)}/s (the higher). ` +
    `Per CPU-second (insensitive to other processes on the core): ${fmt.n(sign.beforeCpu)} and ${fmt.n(sign.afterCpu)}, baseline ${fmt.n(sign.signsPerCpuSec)}`;
  const noteLine = "'server CPU': share of one core the server used; 'noise': share of the server's / the loader's core used by other processes during the measurement; 'per CPU-s' figures divide by CPU time used and so discount that noise (diagnostic, not the targets)";
  const setup = `${warmupSec} s warm-up + ${durationSec} s per measurement; servers interleaved per connection count`;
  const text = [
    `== ${name}: ${description}`,
    setup,
    signLine,
    noteLine,
    '',
    table(headers, rows, 'lrrrrrrrrr'),
    '',
    table(ratioHeaders, ratioRows, 'rrrrr'),
    '',
    table(memHeaders, memRows),
    '',
    table(checkHeaders, checkRows, 'llrl'),
  ].join('\n');
  const markdown = [
    `${setup}.`,
    '',
    `${signLine}.`,
    '',
    `${noteLine}.`,
    '',
    markdownTable(headers, rows, 'lrrrrrrrrr'),
    '',
    markdownTable(ratioHeaders, ratioRows, 'rrrrr'),
    '',
    markdownTable(memHeaders, memRows),
    '',
    markdownTable(checkHeaders, checkRows, 'llrl'),
  ].join('\n');

  return { name, description, setup: { connections, durationSec, warmupSec }, sign, peers: info, measurements, ratios, checks, text, markdown };
}
