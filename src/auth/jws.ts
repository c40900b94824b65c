import { type KeyObject, sign, verify } from 'node:crypto';

/** The JWS algorithms a region may sign its tokens with (CCAUTH_SIGNING_ALG); RS256 is the default. */
export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export function isSigningAlg(value: unknown): value is SigningAlg {
  return value === 'RS256' || value === 'ES256';
}

/** RFC 7518 3.4: an ES256 signature is R || S, 32 bytes each (IEEE P1363), not DER. */
const ES256_SIGNATURE_LENGTH = 64;

/** What node:crypto is given for a key of this alg: ECDSA signatures in the JWS (P1363) form. */
function keyInput(alg: SigningAlg, key: KeyObject): KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' } {
  return alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key;
}

/**
 * The JWS signature of `input`, computed on the libuv thread pool (crypto.sign's callback form):
 * the event loop goes on parsing and answering while the pool's threads sign in parallel.
 */
export function jwsSign(alg: SigningAlg, privateKey: KeyObject, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sign('sha256', input, keyInput(alg, privateKey), (err, signature) => (err ? reject(err) : resolve(signature)));
  });
}

/**
 * Whether `signature` is the JWS signature of `input` under `publicKey` for `alg` (the key's own
 * alg, never the token's header), checked on the thread pool. Any error is a bad signature.
 */
export function jwsVerify(alg: SigningAlg, publicKey: KeyObject, input: Buffer, signature: Buffer): Promise<boolean> {
  if (alg === 'ES256' && signature.length !== ES256_SIGNATURE_LENGTH) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify('sha256', input, keyInput(alg, publicKey), signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}
