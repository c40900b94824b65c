import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The master key protects what ccauth keeps at rest: it encrypts signing private keys and keys
 * the client-secret hash. From CCAUTH_MASTER_KEY (32 bytes, base64 or hex), else from
 * `<dataDir>/master.key` (created with mode 0600 on first use). Instances sharing a PostgreSQL
 * store must share the key: set CCAUTH_MASTER_KEY for them.
 */
export class MasterKey {
  private constructor(private readonly key: Buffer) {}

  static load(options: { masterKey?: string | undefined; dataDir: string }): MasterKey {
    if (options.masterKey) return new MasterKey(decodeKey(options.masterKey, 'CCAUTH_MASTER_KEY'));
    const file = join(options.dataDir, 'master.key');
    if (existsSync(file)) {
      const mode = statSync(file).mode & 0o777;
      if (mode & 0o077) throw new Error(`${file} must be readable by its owner only (chmod 600); it has mode ${mode.toString(8)}`);
      return new MasterKey(decodeKey(readFileSync(file, 'utf8').trim(), file));
    }
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const key = randomBytes(32);
    try {
      writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
    } catch (err) {
      // Another process (a CLI next to the server) created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return MasterKey.load(options);
      throw err;
    }
    return new MasterKey(key);
  }

  /** A sub-key for one purpose, so no two uses share key material. */
  derive(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `ccauth ${purpose}`, 32));
  }

  encrypt(plaintext: Buffer, purpose: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.derive(`encrypt ${purpose}`), iv);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  decrypt(sealed: string, purpose: string): Buffer {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('Unrecognised encrypted value');
    const decipher = createDecipheriv('aes-256-gcm', this.derive(`encrypt ${purpose}`), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
    } catch {
      throw new Error('Cannot decrypt a stored key: the master key differs from the one it was encrypted with (CCAUTH_MASTER_KEY or master.key)');
    }
  }
}

function decodeKey(text: string, source: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error(`${source} must hold 32 bytes, base64 or hex encoded`);
  return key;
}
