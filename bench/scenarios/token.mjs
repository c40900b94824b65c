// Scenario "token": the client-credentials token endpoint of ccauth against panva's
// oidc-provider doing the same job (same grant, scope and RS256 JWT access token), each server
// pinned to the server core and autocannon on the loader core, at several connection counts;
// plus the RS256 signing rate of one core (crypto.sign) and ccauth's idle RSS. For reference, a
// bare node:http token endpoint (the "floor": what Node itself costs per request) is measured at
// the target connection count.
import * as ccauthPeer from '../peers/ccauth.mjs';
import * as floorPeer from '../peers/floor.mjs';
import * as oidcPeer from '../peers/oidc-provider.mjs';
import { assertIssuesRs256Jwt, check, fmt, log, markdownTable, measureSignRate, memoryOf, runLoad, sleep, table, warn } from '../lib.mjs';

export const name = 'token';
export const description = 'POST /Auth/connect/token (client_credentials, RS256 JWT): ccauth vs oidc-provider';

const UNSIGNED = 'node:http unsigned';

/** The targets of the issue; the throughput and latency ones apply at `connections` connections. */
export const TARGETS = {
  connections: 16,
  ratioVsOidcProvider: 1.6,
  fractionOfSignRate: 0.85,
  p99Ms: 10,
  idleRssMB: 150,
};

/**
 * opts: { connections: number[], durationSec, warmupSec, idleSec, signSec, ccauthNodeArgs, floor }.
 * Returns { name, description, sign, peers, measurements, ratios, checks, text, markdown }.
 */
export async function run(opts) {
  const { connections, durationSec, warmupSec, idleSec = 3, signSec = 4, ccauthNodeArgs = [], floor = true } = opts;
  const peers = [ccauthPeer, oidcPeer, ...(floor ? [floorPeer] : [])];

  log(`RS256 signing baseline (crypto.sign, ${signSec} s)...`);
  const signBefore = await measureSignRate({ seconds: signSec });
  log(`  ${fmt.n(signBefore.signsPerSec)} signs/s (${fmt.n(signBefore.signsPerCpuSec)} per CPU-second)`);

  const servers = [];
  const info = {};
  try {
    for (const peer of peers) {
      log(`starting ${peer.name}...`);
      const server = await peer.start(peer === ccauthPeer ? { nodeArgs: ccauthNodeArgs, env: { CCAUTH_WORKERS: '1', UV_THREADPOOL_SIZE: '1' } } : {});
      servers.push(server);
      // Idle RSS: after startup and a short idle, before any request.
      await sleep(idleSec * 1000);
      const idle = memoryOf(server.pid);
      const token = await assertIssuesRs256Jwt(server.name, server.tokenRequest());
      info[server.name] = { pid: server.pid, idleRssMB: idle.rssMB, token: { header: token.header, claims: Object.keys(token.payload), length: token.length, expiresIn: token.expiresIn, scope: token.scope } };
      log(`  ${server.name}: pid ${server.pid}, idle RSS ${fmt.n(idle.rssMB, 1)} MB, token ${token.header.alg}/${token.header.typ}, ${token.length} chars`);
    }

    // What is loaded: each server's token endpoint; for the floor also its endpoint without the
    // signature. The references are measured at the target connection count only.
    const targets = servers.flatMap((server) =>
      server.name === floorPeer.name
        ? [
            { name: server.name, server, request: server.tokenRequest(), only: TARGETS.connections },
            { name: UNSIGNED, server, request: server.unsignedRequest(), only: TARGETS.connections },
          ]
        : [{ name: server.name, server, request: server.tokenRequest() }],
    );
    // Interleaved: at each connection count, one server then the other, so slow drifts in
    // machine load affect both alike. The idle servers sleep meanwhile.
    const measurements = Object.fromEntries(targets.map((t) => [t.name, []]));
    for (const c of connections) {
      for (const t of targets) {
        if (t.only !== undefined && t.only !== c) continue;
        log(`${t.name}: ${c} connection(s), ${warmupSec} s warm-up + ${durationSec} s...`);
        const m = await runLoad({ request: t.request, connections: c, durationSec, warmupSec, serverPid: t.server.pid });
        measurements[t.name].push(m);
        log(`  ${fmt.n(m.tokensPerSec)} tokens/s, p50 ${fmt.ms(m.p50)} ms, p99 ${fmt.ms(m.p99)} ms, ${m.errors} errors; server CPU ${fmt.pct(m.server?.utilization)}, ${fmt.n(m.server?.tokensPerCpuSec)} tokens/CPU-s; other load on its core ${fmt.pct(m.core?.otherBusy)}; loader CPU ${fmt.pct(m.loader.utilization)}, other load on the loader's core ${fmt.pct(m.loader.otherBusy)}`);
      }
    }
    for (const server of servers) info[server.name].afterLoad = memoryOf(server.pid);

    // Once more after the load, to see the machine's noise; the higher rate is the stricter baseline.
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    log(`RS256 signing baseline again (${signSec} s)...`);
    const signAfter = await measureSignRate({ seconds: signSec });
    log(`  ${fmt.n(signAfter.signsPerSec)} signs/s (${fmt.n(signAfter.signsPerCpuSec)} per CPU-second)`);
    // The baseline is what one core signs when it is wholly given to signing: per CPU-second
    // (other processes on the core lower the wall-clock rate but not this), the higher of the two
    // samples. That is the strict reading of the target on a shared machine.
    const signsPerSec = Math.max(signBefore.signsPerCpuSec, signAfter.signsPerCpuSec);

    const signsPerCpuSec = signsPerSec;
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
  const fl = measurements[floorPeer.name] ?? [];
  const at = (list, c) => list.find((m) => m.connections === c);
  const ratios = connections.map((c) => ({ connections: c, ratio: at(cc, c).tokensPerSec / at(op, c).tokensPerSec, ofFloor: at(cc, c).tokensPerSec / at(fl, c)?.tokensPerSec }));
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
  const ratioHeaders = ['conns', 'ccauth / oidc-provider', 'ccauth % of sign rate', 'ccauth % of floor', 'per CPU-s: ccauth / oidc-provider', 'per CPU-s: ccauth % of sign rate', 'per CPU-s: floor % of sign rate'];
  const ratioRows = ratios.map(({ connections: c, ratio, ofFloor }) => [
    c,
    fmt.x(ratio),
    fmt.pct(at(cc, c).tokensPerSec / sign.signsPerSec),
    fmt.pct(ofFloor),
    fmt.x(at(cc, c).server?.tokensPerCpuSec / at(op, c).server?.tokensPerCpuSec),
    fmt.pct(at(cc, c).server?.tokensPerCpuSec / sign.signsPerCpuSec),
    fmt.pct(at(fl, c)?.server?.tokensPerCpuSec / sign.signsPerCpuSec),
  ]);
  // Where one token's CPU time goes, at the target connection count (per CPU-second figures).
  const us = (m) => 1e6 / m?.server?.tokensPerCpuSec;
  const ccUs = us(cc16);
  const signUs = 1e6 / sign.signsPerCpuSec;
  const unsignedUs = us(at(measurements[UNSIGNED] ?? [], T.connections));
  const floorUs = us(at(fl, T.connections));
  const breakdown = Number.isFinite(floorUs)
    ? {
        connections: T.connections,
        ccauthUs: ccUs,
        floorUs,
        signUs,
        unsignedUs,
        signingInServerExtraUs: floorUs - signUs - unsignedUs,
        ccauthOverFloorUs: ccUs - floorUs,
      }
    : undefined;
  const breakdownLine = breakdown
    ? `CPU per token at ${T.connections} conns: ccauth ${fmt.n(ccUs)} µs; the bare node:http endpoint ${fmt.n(floorUs)} µs = ` +
      `RSA signature as in the sign baseline ${fmt.n(signUs)} µs + the same request without the signature ${fmt.n(unsignedUs)} µs + ` +
      `${fmt.n(breakdown.signingInServerExtraUs)} µs more that signing costs between requests than in a tight loop; ` +
      `so ccauth's own cost over bare node:http (Fastify, client cache, policy, claims, metrics) is ${fmt.n(breakdown.ccauthOverFloorUs)} µs a token`
    : undefined;
  const busyLoader = Object.values(measurements).flat().filter((m) => m.loader.utilization > 0.9);
  if (busyLoader.length) warn(`the loader was over 90% busy in ${busyLoader.length} measurement(s): it may have limited the throughput`);
  const checkHeaders = ['target', 'wanted', 'measured', 'result'];
  const checkRows = checks.map((c) => [c.name, c.target, c.value, c.pass ? 'PASS' : 'FAIL']);
  const memHeaders = ['server', 'idle RSS MB', 'RSS after load MB', 'peak RSS MB'];
  const memRows = Object.entries(info).map(([name, i]) => [name, fmt.n(i.idleRssMB, 1), fmt.n(i.afterLoad?.rssMB, 1), fmt.n(i.afterLoad?.peakRssMB, 1)]);

  const signLine =
    `RS256 sign rate of one core (crypto.sign, 2048-bit key, ${sign.payloadBytes}-byte input), before / after the load: ${fmt.n(sign.beforeCpu)} / ${fmt.n(sign.afterCpu)} per CPU-second ` +
    `(${fmt.n(sign.before)} / ${fmt.n(sign.after)} per wall-clock second, lowered by other processes on the core); baseline = ${fmt.n(sign.signsPerSec)}/s, the highest`;
  const noteLine = "'server CPU': share of one core the server used; 'noise': share of the server's / the loader's core used by other processes during the measurement; 'per CPU-s' figures divide by CPU time used and so discount that noise (diagnostic, not the targets)";
  const setup = `${warmupSec} s warm-up + ${durationSec} s per measurement; servers interleaved per connection count`;
  const text = [
    `== ${name}: ${description}`,
    setup,
    signLine,
    noteLine,
    ...(breakdownLine ? [breakdownLine] : []),
    '',
    table(headers, rows, 'lrrrrrrrrr'),
    '',
    table(ratioHeaders, ratioRows, 'rrrrrrr'),
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
    ...(breakdownLine ? [`${breakdownLine}.`, ''] : []),
    markdownTable(headers, rows, 'lrrrrrrrrr'),
    '',
    markdownTable(ratioHeaders, ratioRows, 'rrrrrrr'),
    '',
    markdownTable(memHeaders, memRows),
    '',
    markdownTable(checkHeaders, checkRows, 'llrl'),
  ].join('\n');

  return { name, description, setup: { connections, durationSec, warmupSec }, sign, peers: info, measurements, ratios, breakdown, checks, text, markdown };
}
