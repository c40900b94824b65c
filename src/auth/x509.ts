import { type KeyObject, X509Certificate, randomBytes, sign } from 'node:crypto';
import type { SigningAlg } from './jws.js';

/**
 * A self-signed X.509 v3 certificate for a signing key (RFC 5280), so that the JWKS `x5c`/`x5t`
 * mean what clients expect. Written here in DER by hand (a few lines of TLV) and signed with
 * node:crypto, for RSA and P-256 keys alike: node-forge cannot sign with EC keys, and its RSA
 * signature is pure JavaScript.
 */

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const sequence = (...content: Buffer[]) => tlv(0x30, ...content);
const set = (...content: Buffer[]) => tlv(0x31, ...content);
const explicit = (n: number, content: Buffer) => tlv(0xa0 + n, content);
const utf8String = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const octetString = (content: Buffer) => tlv(0x04, content);
const bitString = (content: Buffer, unusedBits = 0) => tlv(0x03, Buffer.from([unusedBits]), content);
const BOOLEAN_TRUE = tlv(0x01, Buffer.from([0xff]));
const NULL = tlv(0x05);

function objectIdentifier(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) base128.unshift(0x80 | (n & 0x7f));
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A non-negative INTEGER from big-endian bytes (minimal, with a 0x00 when the top bit is set). */
function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(0x02, (trimmed[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:T]/g, '');
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

/** The certificate's signature algorithm: sha256WithRSAEncryption (NULL parameters) or ecdsa-with-SHA256 (none, RFC 5758 3.2). */
function signatureAlgorithm(alg: SigningAlg): Buffer {
  return alg === 'ES256' ? sequence(objectIdentifier('1.2.840.10045.4.3.2')) : sequence(objectIdentifier('1.2.840.113549.1.1.11'), NULL);
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return sequence(objectIdentifier(oid), ...(critical ? [BOOLEAN_TRUE] : []), octetString(value));
}

export interface CertificateSubject {
  commonName: string;
  organizationalUnit: string;
}

/** The DER of a self-signed certificate for the key pair, valid from a minute ago for ten years. */
export function selfSignedCertificate(alg: SigningAlg, privateKey: KeyObject, publicKey: KeyObject, subject: CertificateSubject, now = new Date()): Buffer {
  const name = sequence(
    set(sequence(objectIdentifier('2.5.4.3'), utf8String(subject.commonName))),
    set(sequence(objectIdentifier('2.5.4.11'), utf8String(subject.organizationalUnit))),
  );
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + 10 * 365 * 24 * 3600_000);
  const extensions = sequence(
    // basicConstraints: not a CA (cA DEFAULT FALSE, so an empty sequence).
    extension('2.5.29.19', true, sequence()),
    // keyUsage: digitalSignature only (bit 0 of a one-bit string).
    extension('2.5.29.15', true, bitString(Buffer.from([0x80]), 7)),
  );
  const algorithm = signatureAlgorithm(alg);
  const tbs = sequence(
    explicit(0, tlv(0x02, Buffer.from([2]))), // v3
    unsignedInteger(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    algorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ format: 'der', type: 'spki' }),
    explicit(3, extensions),
  );
  // RSA: PKCS#1 v1.5; ECDSA: the DER ECDSA-Sig-Value X.509 wants (node's default dsaEncoding).
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, algorithm, bitString(signature));
  // Never publish a certificate that does not parse or does not verify with its own key.
  const parsed = new X509Certificate(der);
  if (!parsed.verify(publicKey) || !parsed.publicKey.equals(publicKey)) throw new Error('The signing key certificate does not verify with its key');
  return der;
}
