// Scenario "es256": the token endpoint of ccauth signing ES256 (CCAUTH_SIGNING_ALG=ES256) beside
// the same with RS256 (the default), one worker each on the server core, at 16 connections, in
// rounds whose order is reversed every other round; plus the sign rates of one core for both
// algorithms (bench/sign-rate.mjs: 2048-bit RSA, P-256). A build that does not know
// CCAUTH_SIGNING_ALG issues RS256 tokens anyway: that is recorded as "not supported by this
// build" and only RS256 is measured.
import { availableParallelism } from 'node:os';
import * as ccauthPeer from '../peers/ccauth.mjs';
import { check, coreLayout, decodeJwt, fmt, log, markdownTable, measureSignRate, roundRobin, runLoad, sendOnce, table } from '../lib.mjs';

export const name = 'es256';
export const description = 'ES256 beside RS256 (CCAUTH_SIGNING_ALG): tokens/s, per CPU-second, and the sign rates';

export const TARGETS = { connections: 16 };

/** opts: { durationSec, warmupSec, signSec, rounds, ccauthNodeArgs }. */
export async function run(opts) {
  const { durationSec, warmupSec, signSec = 4, rounds = 2, ccauthNodeArgs = [] } = opts;
  const layout = coreLayout(1, { nproc: availableParallelism() });
  log(`es256: sign rates (${signSec} s each)...`);
  const signRs = await measureSignRate({ seconds: signSec, alg: 'RS256' });
  const signEs = await measureSignRate({ seconds: signSec, alg: 'ES256' });
  log(`  RS256 ${fmt.n(signRs.signsPerCpuSec)}, ES256 ${fmt.n(signEs.signsPerCpuSec)} signs per CPU-second`);

  const servers = {};
  const tokens = {};
  let supported = false;
  try {
    for (const alg of ['RS256', 'ES256']) {
      servers[alg] = await ccauthPeer.start({ core: layout.serverCores, label: `ccauth ${alg}`, env: { CCAUTH_WORKERS: '1', UV_THREADPOOL_SIZE: '1', CCAUTH_SIGNING_ALG: alg }, nodeArgs: ccauthNodeArgs });
      const res = await sendOnce(servers[alg].tokenRequest());
      if (res.status !== 200) throw new Error(`es256: ccauth ${alg} token request returned ${res.status}: ${res.text.slice(0, 300)}`);
      const jwt = decodeJwt(JSON.parse(res.text).access_token);
      tokens[alg] = { alg: jwt.header.alg, length: jwt.length };
      const jwks = await sendOnce({ url: `${servers[alg].baseUrl}/Auth/.well-known/openid-configuration/jwks`, method: 'GET' }).catch(() => undefined);
      tokens[alg].jwksAlgs = jwks?.status === 200 ? [...new Set((JSON.parse(jwks.text).keys ?? []).map((k) => k.alg ?? k.kty))] : undefined;
    }
    supported = tokens.ES256.alg === 'ES256';
    if (!supported) {
      log(`  a server started with CCAUTH_SIGNING_ALG=ES256 issued a ${tokens.ES256.alg} token: ES256 is not supported by this build; measuring RS256 only`);
      await servers.ES256.stop();
      delete servers.ES256;
    }
    const measured = supported ? ['RS256', 'ES256'] : ['RS256'];
    const runs = Object.fromEntries(
      measured.map((alg) => [
        alg,
        (seconds) => runLoad({ request: servers[alg].tokenRequest(), connections: TARGETS.connections, durationSec: seconds, warmupSec, serverPid: servers[alg].pid, serverCores: layout.serverCores, loaderCore: layout.loaderCores[0], keepLatencies: true }),
      ]),
    );
    const merged = await roundRobin(runs, {
      durationSec,
      rounds,
      onResult: (alg, m, r) => log(`  round ${r + 1}, ${alg}: ${fmt.n(m.tokensPerSec)} tokens/s, ${fmt.n(m.server?.tokensPerCpuSec)} per CPU-s, p50 ${fmt.ms(m.p50)} p99 ${fmt.ms(m.p99)} ms, ${m.errors} errors`),
    });
    return report({ durationSec, warmupSec, rounds, layout, signRs, signEs, tokens, supported, merged });
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
}

function report({ durationSec, warmupSec, rounds, layout, signRs, signEs, tokens, supported, merged }) {
  const sign = { RS256: signRs, ES256: signEs };
  const rows = Object.entries(merged).map(([alg, m]) => ({ alg, tokensPerSec: m.tokensPerSec, p50: m.p50, p99: m.p99, errors: m.errors, utilization: m.server?.utilization, tokensPerCpuSec: m.server?.tokensPerCpuSec, ofSignRatePerCpu: m.server?.tokensPerCpuSec / sign[alg].signsPerCpuSec, tokenLength: tokens[alg]?.length }));
  const rs = rows.find((r) => r.alg === 'RS256');
  const es = rows.find((r) => r.alg === 'ES256');
  const checks = [];
  if (supported && rs && es) {
    const ratio = es.tokensPerSec / rs.tokensPerSec;
    checks.push(check(`ES256 tokens/s vs RS256 at ${TARGETS.connections} conns`, '> 1x (faster)', fmt.x(ratio), ratio > 1));
  } else {
    checks.push(check('ES256 (CCAUTH_SIGNING_ALG=ES256)', 'supported', 'not supported by this build', false));
  }
  const errors = rows.reduce((a, r) => a + r.errors, 0);
  checks.push(check('errors (es256 scenario)', '0', String(errors), errors === 0));

  const headers = ['alg', 'tokens/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU', 'tokens/CPU-s', '% of the alg sign rate per CPU-s', 'token chars'];
  const body = rows.map((r) => [r.alg, fmt.n(r.tokensPerSec), fmt.ms(r.p50), fmt.ms(r.p99), r.errors, fmt.pct(r.utilization), fmt.n(r.tokensPerCpuSec), fmt.pct(r.ofSignRatePerCpu), r.tokenLength]);
  if (!supported) body.push(['ES256', 'not supported by this build', '', '', '', '', '', '', '']);
  const signLine = `sign rate of one core (crypto.sign, 600-byte input): RS256 (2048-bit) ${fmt.n(signRs.signsPerCpuSec)}, ES256 (P-256) ${fmt.n(signEs.signsPerCpuSec)} per CPU-second (${fmt.x(signEs.signsPerCpuSec / signRs.signsPerCpuSec)})`;
  const checkHeaders = ['target', 'wanted', 'measured', 'result'];
  const checkRows = checks.map((c) => [c.name, c.target, c.value, c.pass ? 'PASS' : 'FAIL']);
  const setup = `ccauth with CCAUTH_WORKERS=1 and CCAUTH_SIGNING_ALG=RS256 / ES256, ${layout.description}; ${TARGETS.connections} connections, ${rounds} rounds of ${warmupSec} s warm-up + ${fmt.n(durationSec / rounds, 1)} s each, the order reversed every other round`;
  const text = [`== ${name}: ${description}`, setup, signLine, '', table(headers, body, 'lrrrrrrrr'), '', table(checkHeaders, checkRows, 'llrl')].join('\n');
  const markdown = [`${setup}.`, '', `${signLine}.`, '', markdownTable(headers, body, 'lrrrrrrrr'), '', markdownTable(checkHeaders, checkRows, 'llrl')].join('\n');
  return { name, description, supported, tokens, sign: { RS256: signRs, ES256: signEs }, rows, checks, text, markdown };
}
