import { type KeyObject, createHmac, createSecretKey, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

/** 32 random bytes (256 bits), URL-safe: the client secret, shown once. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** 16 random bytes as 32 lowercase hex characters: easy to copy, no ambiguous characters. */
export function generateClientId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Client secrets are 256-bit random values, not passwords: a keyed fast hash (HMAC-SHA-256 with a
 * key derived from the master key) is as strong against guessing as a slow KDF and keeps the token
 * endpoint fast. A stolen database alone does not let anyone test candidate secrets.
 */
export class SecretHasher {
  private readonly key: KeyObject;

  constructor(key: Buffer) {
    // Imported once: creating the HMAC from raw bytes would re-import the key on every request.
    this.key = createSecretKey(key);
  }

  hash(secret: string): string {
    return 'h1$' + createHmac('sha256', this.key).update(secret, 'utf8').digest('base64url');
  }

  /** Constant-time in the secret: always computes the HMAC and compares 32 bytes. */
  matches(secret: string, storedHash: string): boolean {
    const candidate = Buffer.from(this.hash(secret));
    const stored = Buffer.from(storedHash);
    if (candidate.length !== stored.length) {
      timingSafeEqual(candidate, candidate);
      return false;
    }
    return timingSafeEqual(candidate, stored);
  }
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

/** Passwords of portal users: scrypt with a random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  // Unknown users and users without a password cost the same as a wrong password.
  const parts = (stored ?? DUMMY_PASSWORD_HASH).split('$');
  const [kind, n, r, p, salt, hash] = parts;
  if (kind !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
  return timingSafeEqual(actual, expected) && stored !== null;
}

const DUMMY_PASSWORD_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** A readable random password (for generated demo and CLI-created users). */
export function generatePassword(): string {
  return randomBytes(12).toString('base64url');
}
