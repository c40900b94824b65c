import { type KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type Forge from 'node-forge';
import type { Store } from '../store/store.js';
import type { SigningKeyRow } from '../store/signing-keys.js';
import type { MasterKey } from './master-key.js';

const KEY_PURPOSE = 'signing-key';
/** The store-wide lock around every change to the key set's states. */
const SIGNING_KEYS_LOCK = 'signing-keys';

export interface PublicJwk {
  kty: 'RSA';
  use: 'sig';
  alg: 'RS256';
  kid: string;
  n: string;
  e: string;
  x5t: string;
  x5c: string[];
}

export interface ActiveKey {
  kid: string;
  x5t: string;
  privateKey: KeyObject;
  /** The base64url JWS header of every token this key signs, computed once. */
  encodedHeader: string;
}

/** RFC 7638 thumbprint of an RSA public JWK: the key id. */
function jwkThumbprint(n: string, e: string): string {
  return createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
}

// node-forge is only needed when a key is made (first start, rotation): loaded then, not at start.
let forgeModule: typeof Forge | undefined;
async function loadForge(): Promise<typeof Forge> {
  forgeModule ??= (await import('node-forge')).default;
  return forgeModule;
}

/** A self-signed X.509 certificate for the key, so that `x5t`/`x5c` mean what clients expect. */
function selfSignedCertificate(forge: typeof Forge, privatePem: string, publicPem: string, kid: string, region: string): Buffer {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + 10 * 365 * 24 * 3600_000);
  const attrs = [
    { name: 'commonName', value: `ccauth token signing ${kid.slice(0, 16)}` },
    { name: 'organizationalUnitName', value: `region ${region}` },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privatePem), forge.md.sha256.create());
  return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
}

export async function createKeyRow(masterKey: MasterKey, region: string, state: 'next' | 'active', now = Date.now()): Promise<SigningKeyRow> {
  const forge = await loadForge();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  const kid = jwkThumbprint(jwk.n, jwk.e);
  const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const der = selfSignedCertificate(forge, privatePem, publicPem, kid, region);
  const x5t = createHash('sha1').update(der).digest('base64url');
  const publicJwk: PublicJwk = { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n: jwk.n, e: jwk.e, x5t, x5c: [der.toString('base64')] };
  return {
    kid,
    alg: 'RS256',
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
 * keys that verify tokens. Reloaded from the store when the change feed says keys changed.
 */
export class KeySet {
  private active: ActiveKey | undefined;
  private jwksJson = '{"keys":[]}';
  private verifiers = new Map<string, KeyObject>();
  private nextExpiryCheck = Infinity;

  constructor(
    private readonly store: Store,
    private readonly masterKey: MasterKey,
    private readonly region: string,
  ) {}

  /** Make sure there is an active key and a published next key (first start), then load. */
  async ensureAndLoad(): Promise<void> {
    const published = await this.store.keys.listPublished();
    if (!published.some((k) => k.state === 'active')) {
      // Made before the lock: RSA generation takes a moment, and other instances need not wait.
      const active = await createKeyRow(this.masterKey, this.region, 'active');
      const next = await createKeyRow(this.masterKey, this.region, 'next');
      // Instances starting together on an empty store: the check and the insert run under the
      // store-wide lock, so exactly one active and one next key come to exist.
      await this.store.withLock(SIGNING_KEYS_LOCK, (db) =>
        db.transaction().execute(async (trx) => {
          const again = await this.store.keys.listPublished(Date.now(), trx);
          if (!again.some((k) => k.state === 'active')) await this.store.keys.insert(active, trx);
          if (!again.some((k) => k.state === 'next')) await this.store.keys.insert(next, trx);
        }),
      );
    }
    await this.reload();
  }

  async reload(): Promise<void> {
    const rows = await this.store.keys.listPublished();
    const activeRow = rows.filter((r) => r.state === 'active').sort((a, b) => Number(b.activated_at) - Number(a.activated_at))[0];
    if (!activeRow) throw new Error('No active signing key in the store; run `ccauth keys rotate` or restart to create one');
    const privateKey = createPrivateKey({ key: this.masterKey.decrypt(activeRow.private_key_enc, KEY_PURPOSE), format: 'der', type: 'pkcs8' });
    const header = { alg: 'RS256', typ: 'at+jwt', kid: activeRow.kid, x5t: activeRow.x5t };
    const jwks = rows.map((r) => JSON.parse(r.public_jwk) as PublicJwk);
    const verifiers = new Map<string, KeyObject>();
    for (const jwk of jwks) verifiers.set(jwk.kid, createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' }));
    this.active = {
      kid: activeRow.kid,
      x5t: activeRow.x5t,
      privateKey,
      encodedHeader: Buffer.from(JSON.stringify(header)).toString('base64url'),
    };
    this.jwksJson = JSON.stringify({ keys: jwks });
    this.verifiers = verifiers;
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

  verificationKey(kid: string): KeyObject | undefined {
    return this.verifiers.get(kid);
  }
}

/**
 * Rotation: the next key (published since the previous rotation) starts signing, the active key
 * is retired but stays published until the last token it signed has expired, and a new next key
 * is published. Safe to run while servers are running; they pick it up through the change feed.
 */
export async function rotateKeys(store: Store, masterKey: MasterKey, region: string): Promise<{ activated: string; retired: string | null; next: string }> {
  const nextRow = await createKeyRow(masterKey, region, 'next');
  // Under the same lock as first start's key creation: two rotations at once cannot both
  // activate the same next key or leave two next keys.
  return store.withLock(SIGNING_KEYS_LOCK, (db) => db.transaction().execute(async (trx) => {
    const now = Date.now();
    const rows = await store.keys.listPublished(now, trx);
    const active = rows.find((r) => r.state === 'active');
    let next = rows.find((r) => r.state === 'next');
    if (!next) {
      // No pre-published key (should not happen after first start): publish one now and use it.
      next = await createKeyRow(masterKey, region, 'next', now);
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
