// The signing baseline: how many crypto.sign('sha256', data, key) calls one core does per second
// on a payload the size of a token's signing input: RS256 with a 2048-bit RSA key (default), or
// ES256 with a P-256 key (signature in the JWS form, dsaEncoding ieee-p1363). Run pinned by the
// caller. Input: one JSON argument { seconds, payloadBytes, alg }. Output: one JSON document on stdout.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const { seconds = 4, payloadBytes = 600, alg = 'RS256' } = JSON.parse(process.argv[2] ?? '{}');
if (alg !== 'RS256' && alg !== 'ES256') throw new Error(`alg ${alg}: RS256 or ES256`);
const { privateKey: keyObject } =
  alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
const privateKey = alg === 'RS256' ? keyObject : { key: keyObject, dsaEncoding: 'ieee-p1363' };
// base64url text like a real JWS signing input, a fresh one per call (as a token service does).
const base = randomBytes(Math.ceil((payloadBytes * 3) / 4)).toString('base64url').slice(0, payloadBytes);
const input = (i) => Buffer.from(base.slice(0, payloadBytes - 10) + String(i).padStart(10, '0'));

// Warm up (JIT, OpenSSL caches) for half a second.
for (let t0 = performance.now(), i = 0; performance.now() - t0 < 500; i++) sign('sha256', input(i), privateKey);

let count = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const deadline = t0 + seconds * 1000;
let now = t0;
while (now < deadline) {
  for (let j = 0; j < 50; j++) sign('sha256', input(count + j), privateKey);
  count += 50;
  now = performance.now();
}
const elapsedSec = (now - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSec = (cpu.user + cpu.system) / 1e6;
// signsPerCpuSec: per second of CPU this process got; signsPerSec is per wall-clock second, lower
// when other processes share the core.
process.stdout.write(JSON.stringify({ signsPerSec: count / elapsedSec, signsPerCpuSec: count / cpuSec, utilization: cpuSec / elapsedSec, count, seconds: elapsedSec, payloadBytes, alg, ...(alg === 'RS256' ? { modulusLength: 2048 } : { namedCurve: 'P-256' }) }) + '\n');
