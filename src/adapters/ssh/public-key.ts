import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';

export interface ParsedPublicKey {
  algorithm: string;
  /** Canonical `type base64` line (the comment is dropped). */
  publicKey: string;
  /** OpenSSH style `SHA256:<base64 without padding>`. */
  fingerprint: string;
  comment: string;
}

const ALLOWED = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com']);

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Parses one OpenSSH public key line; throws an Error with a readable message when it is not one. */
export function parsePublicKey(line: string): ParsedPublicKey {
  const text = line.trim();
  if (text.includes('PRIVATE KEY')) throw new Error('this is a private key; paste the public key (the .pub file)');
  if (text.includes('\n')) throw new Error('paste exactly one public key line');
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) throw new Error(`not a valid OpenSSH public key (${parsed.message})`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey()) throw new Error('not a valid OpenSSH public key');
  if (!ALLOWED.has(key.type)) throw new Error(`key type ${key.type} is not accepted`);
  const blob = key.getPublicSSH();
  if (key.type === 'ssh-rsa') {
    // Public exponent then modulus, each length-prefixed: refuse RSA keys under 2048 bits.
    const eLen = blob.readUInt32BE(4 + 7);
    const nLen = blob.readUInt32BE(4 + 7 + 4 + eLen);
    if ((nLen - 1) * 8 < 2048) throw new Error('RSA keys must be at least 2048 bits');
  }
  return { algorithm: key.type, publicKey: `${key.type} ${blob.toString('base64')}`, fingerprint: fingerprintOf(blob), comment: key.comment ?? '' };
}

/**
 * A new ed25519 key pair in OpenSSH format. ssh2's generator writes a malformed key now and then
 * (about 1 in 130 here: a public key whose leading zero byte was dropped, which its own parser then
 * refuses), so every pair is parsed back before it is used, and a bad one is made again.
 */
export function generateEd25519(opts: { comment?: string; passphrase?: string; cipher?: string; rounds?: number } = {}): { private: string; public: string } {
  for (let i = 0; i < 20; i++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', opts as never);
    const parsed = ssh2.utils.parseKey(pair.private, opts.passphrase);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key && !(key instanceof Error) && key.isPrivateKey() && key.getPublicSSH().length === 51) return pair;
  }
  throw new Error('could not generate a valid ed25519 key pair');
}
