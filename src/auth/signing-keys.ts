import { type KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { Store } from '../store/store.js';
import type { SigningKeyRow } from '../store/signing-keys.js';
import { type SigningAlg, isSigningAlg } from './jws.js';
import type { MasterKey } from './master-key.js';
import { selfSignedCertificate } from './x509.js';

const KEY_PURPOSE = 'signing-key';
/** The store-wide lock around every change to the key set's states. */
const SIGNING_KEYS_LOCK = 'signing-keys';

interface JwkCommon {
  use: 'sig';
  kid: string;
  x5t: string;
  x5c: string[];
}
export type PublicJwk = JwkCommon & ({ kty: 'RSA'; alg: 'RS256'; n: string; e: string } | { kty: 'EC'; alg: 'ES256'; crv: 'P-256'; x: string; y: string });

export interface ActiveKey {
  kid: string;
  x5t: string;
  /** The JWS alg of the key, and of every token it signs. */
  alg: SigningAlg;
  privateKey: KeyObject;
  /** The base64url JWS header of every token this key signs, computed once. */
  encodedHeader: string;
}

/** A published public key and the one alg it verifies (the key's own, never a token's header). */
export interface VerificationKey {
  kid: string;
  alg: SigningAlg;
  key: KeyObject;
}

/** RFC 7638 thumbprint of a public JWK (its required members, in lexicographic order): the key id. */
function jwkThumbprint(jwk: { kty: 'RSA'; n: string; e: string } | { kty: 'EC'; crv: string; x: string; y: string }): string {
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: 'RSA', n: jwk.n } : { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

const generate = promisify(generateKeyPair);

/** A new key pair for the alg (RSA 2048 or P-256), made on the thread pool. */
async function newKeyPair(alg: SigningAlg): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return alg === 'ES256' ? generate('ec', { namedCurve: 'P-256' }) : generate('rsa', { modulusLength: 2048 });
}

/** The alg of a stored key: its column, else its JWK's (rows written before ES256 say RS256 in both). */
export function rowAlg(row: Pick<SigningKeyRow, 'alg' | 'public_jwk'>): SigningAlg {
  if (isSigningAlg(row.alg)) return row.alg;
  const fromJwk = (JSON.parse(row.public_jwk) as { alg?: unknown }).alg;
  if (isSigningAlg(fromJwk)) return fromJwk;
  throw new Error(`A signing key in the store has an unsupported alg: ${String(row.alg)}`);
}

function publicKeyOf(jwk: PublicJwk): KeyObject {
  return createPublicKey({ key: jwk.kty === 'RSA' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
}

export async function createKeyRow(masterKey: MasterKey, region: string, state: 'next' | 'active', now = Date.now(), alg: SigningAlg = 'RS256'): Promise<SigningKeyRow> {
  const { privateKey, publicKey } = await newKeyPair(alg);
  const exported = publicKey.export({ format: 'jwk' }) as { n: string; e: string; crv: 'P-256'; x: string; y: string };
  const kid = alg === 'ES256' ? jwkThumbprint({ kty: 'EC', crv: exported.crv, x: exported.x, y: exported.y }) : jwkThumbprint({ kty: 'RSA', n: exported.n, e: exported.e });
  const der = selfSignedCertificate(alg, privateKey, publicKey, { commonName: `ccauth token signing ${kid.slice(0, 16)}`, organizationalUnit: `region ${region}` }, new Date(now));
  const x5t = createHash('sha1').update(der).digest('base64url');
  const x5c = [der.toString('base64')];
  const publicJwk: PublicJwk =
    alg === 'ES256'
      ? { kty: 'EC', crv: 'P-256', x: exported.x, y: exported.y, alg: 'ES256', use: 'sig', kid, x5t, x5c }
      : { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n: exported.n, e: exported.e, x5t, x5c };
  return {
    kid,
    alg,
    state,
    public_jwk: JSON.stringify(publicJwk),
    certificate: der.toString('base64'),
    x5t,
    private_key_enc: masterKey.encrypt(privateKey.export({ format: 'der', type: 'pkcs8' }), KEY_PURPOSE),
    created_at: now,
    activated_at: state === 'active' ? now : null,
    retired_at: null,
    publish_until: null,
  };
}

export interface KeyInfo {
  kid: string;
  alg: SigningAlg;
  state: string;
  x5t: string;
  createdAt: string;
  activatedAt: string | null;
  retiredAt: string | null;
  publishedUntil: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function keyInfo(row: SigningKeyRow): KeyInfo {
  return {
    kid: row.kid,
    alg: rowAlg(row),
    state: row.state,
    x5t: row.x5t,
    createdAt: iso(row.created_at) as string,
    activatedAt: iso(row.activated_at),
    retiredAt: iso(row.retired_at),
    publishedUntil: iso(row.publish_until),
  };
}

/**
 * The region's key set, held in memory: the active signing key, the published JWKS, and the public
 * keys that verify tokens, each with its own alg. Reloaded from the store when the change feed
 * says keys changed. `alg` (CCAUTH_SIGNING_ALG) is the alg of the keys this process makes; tokens
 * are signed with the active key's alg, whatever it is, so a switch takes effect at a rotation.
 */
export class KeySet {
  private active: ActiveKey | undefined;
  private jwksJson = '{"keys":[]}';
  private verifiers = new Map<string, VerificationKey>();
  private algs: SigningAlg[] = [];
  private nextExpiryCheck = Infinity;

  constructor(
    private readonly store: Store,
    private readonly masterKey: MasterKey,
    private readonly region: string,
    readonly alg: SigningAlg = 'RS256',
  ) {}

  /**
   * Make sure there is an active key and a published next key (first start), then load. With
   * `publishConfiguredAlg` (a server starting), a next key of another alg than the configured one
   * (a region switched from RS256 to ES256, or back) is replaced by one of the configured alg:
   * it never signed, and the new one is published now, so the next rotation signs with it.
   */
  async ensureAndLoad(options: { publishConfiguredAlg?: boolean } = {}): Promise<void> {
    const published = await this.store.keys.listPublished();
    const hasActive = published.some((k) => k.state === 'active');
    const nextRow = published.find((k) => k.state === 'next');
    const replaceNext = options.publishConfiguredAlg === true && nextRow !== undefined && rowAlg(nextRow) !== this.alg;
    if (!hasActive || replaceNext) {
      // Made before the lock: key generation takes a moment, and other instances need not wait.
      const active = hasActive ? undefined : await createKeyRow(this.masterKey, this.region, 'active', Date.now(), this.alg);
      const next = await createKeyRow(this.masterKey, this.region, 'next', Date.now(), this.alg);
      // Instances starting together on an empty store: the check and the insert run under the
      // store-wide lock, so exactly one active and one next key come to exist.
      await this.store.withLock(SIGNING_KEYS_LOCK, (db) =>
        db.transaction().execute(async (trx) => {
          const now = Date.now();
          const again = await this.store.keys.listPublished(now, trx);
          if (active && !again.some((k) => k.state === 'active')) await this.store.keys.insert(active, trx);
          const currentNext = again.find((k) => k.state === 'next');
          if (currentNext && options.publishConfiguredAlg === true && rowAlg(currentNext) !== this.alg) {
            // Withdrawn at once: a next key has signed nothing.
            await this.store.keys.setState(currentNext.kid, 'retired', { retired_at: now, publish_until: now }, trx);
            await this.store.keys.insert(next, trx);
          } else if (!currentNext) {
            await this.store.keys.insert(next, trx);
          }
        }),
      );
    }
    await this.reload();
  }

  async reload(): Promise<void> {
    const rows = await this.store.keys.listPublished();
    const activeRow = rows.filter((r) => r.state === 'active').sort((a, b) => Number(b.activated_at) - Number(a.activated_at))[0];
    if (!activeRow) throw new Error('No active signing key in the store; run `ccauth keys rotate` or restart to create one');
    const activeAlg = rowAlg(activeRow);
    const privateKey = createPrivateKey({ key: this.masterKey.decrypt(activeRow.private_key_enc, KEY_PURPOSE), format: 'der', type: 'pkcs8' });
    const header = { alg: activeAlg, typ: 'at+jwt', kid: activeRow.kid, x5t: activeRow.x5t };
    const jwks = rows.map((r) => JSON.parse(r.public_jwk) as PublicJwk);
    const verifiers = new Map<string, VerificationKey>();
    rows.forEach((row, i) => {
      const jwk = jwks[i] as PublicJwk;
      verifiers.set(jwk.kid, { kid: jwk.kid, alg: rowAlg(row), key: publicKeyOf(jwk) });
    });
    this.active = {
      kid: activeRow.kid,
      x5t: activeRow.x5t,
      alg: activeAlg,
      privateKey,
      encodedHeader: Buffer.from(JSON.stringify(header)).toString('base64url'),
    };
    this.jwksJson = JSON.stringify({ keys: jwks });
    this.verifiers = verifiers;
    this.algs = [...new Set([activeAlg, ...rows.map(rowAlg)])];
    const expiries = rows.map((r) => (r.publish_until === null ? Infinity : Number(r.publish_until)));
    this.nextExpiryCheck = Math.min(...expiries);
  }

  get loaded(): boolean {
    return this.active !== undefined;
  }

  signingKey(): ActiveKey {
    if (!this.active) throw new Error('Signing keys are not loaded');
    return this.active;
  }

  /** The JWKS document; a retired key drops out once its last token has expired. */
  jwks(): string {
    if (Date.now() >= this.nextExpiryCheck) {
      this.nextExpiryCheck = Infinity;
      // A failed reload is tried again by a JWKS request a second later.
      void this.reload().catch(() => (this.nextExpiryCheck = Date.now() + 1000));
    }
    return this.jwksJson;
  }

  /** The algs of the published keys (the active key's first): what tokens of this region may be signed with. */
  publishedAlgs(): SigningAlg[] {
    this.jwks();
    return this.algs.length > 0 ? [...this.algs] : [this.alg];
  }

  verificationKey(kid: string): VerificationKey | undefined {
    return this.verifiers.get(kid);
  }
}

/**
 * Rotation: the next key (published since the previous rotation) starts signing, the active key
 * is retired but stays published until the last token it signed has expired, and a new next key
 * of `alg` (the configured one) is published. Safe to run while servers are running; they pick it
 * up through the change feed. A next key published before a switch of alg keeps its own alg: it
 * signs after this rotation, and the new alg from the one after (a server started with the new
 * alg replaces the next key at once, see KeySet.ensureAndLoad).
 */
export async function rotateKeys(store: Store, masterKey: MasterKey, region: string, alg: SigningAlg = 'RS256'): Promise<{ activated: string; retired: string | null; next: string }> {
  const nextRow = await createKeyRow(masterKey, region, 'next', Date.now(), alg);
  // Under the same lock as first start's key creation: two rotations at once cannot both
  // activate the same next key or leave two next keys.
  return store.withLock(SIGNING_KEYS_LOCK, (db) => db.transaction().execute(async (trx) => {
    const now = Date.now();
    const rows = await store.keys.listPublished(now, trx);
    const active = rows.find((r) => r.state === 'active');
    let next = rows.find((r) => r.state === 'next');
    if (!next) {
      // No pre-published key (should not happen after first start): publish one now and use it.
      next = await createKeyRow(masterKey, region, 'next', now, alg);
      await store.keys.insert(next, trx);
    }
    const maxLifetime = await store.accounts.maxTokenLifetimeSeconds(trx);
    if (active) {
      await store.keys.setState(active.kid, 'retired', { retired_at: now, publish_until: now + (maxLifetime + 60) * 1000 }, trx);
    }
    await store.keys.setState(next.kid, 'active', { activated_at: now }, trx);
    await store.keys.insert(nextRow, trx);
    return { activated: next.kid, retired: active?.kid ?? null, next: nextRow.kid };
  }));
}
