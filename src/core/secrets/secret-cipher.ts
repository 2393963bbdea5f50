import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** What a secret holds for reaching its target; only ever leaves the server towards the target. */
export interface Credential {
  type: 'password' | 'private-key';
  value: string;
  passphrase?: string;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Thrown when a stored credential does not decrypt: wrong master key, tampering, or a row copied from another secret. */
export class CredentialDecryptError extends Error {
  constructor(reason: string) {
    super(`the stored credential cannot be decrypted (${reason}); was the master key (VIGIL_MASTER_KEY or master.key) changed?`);
  }
}

// Binding the secret id as associated data: a ciphertext pasted into another row fails to open.
const aad = (secretId: string): Buffer => Buffer.from(`vigil-secret:${secretId}`, 'utf8');

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new Error('the master key must be 32 bytes');
}

/** AES-256-GCM with a fresh random IV: `v1.<iv>.<tag>.<ciphertext>`, each base64url. */
export function encryptCredential(key: Buffer, secretId: string, credential: Credential): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(secretId));
  const plain: Credential = { type: credential.type, value: credential.value, ...(credential.passphrase !== undefined ? { passphrase: credential.passphrase } : {}) };
  const ct = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

export function decryptCredential(key: Buffer, secretId: string, encoded: string): Credential {
  checkKey(key);
  const parts = encoded.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new CredentialDecryptError('unknown format');
  const iv = Buffer.from(parts[1]!, 'base64url');
  const tag = Buffer.from(parts[2]!, 'base64url');
  const ct = Buffer.from(parts[3]!, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new CredentialDecryptError('malformed');
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(secretId));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
  } catch {
    throw new CredentialDecryptError('authentication failed');
  }
  const parsed = JSON.parse(plain) as Partial<Credential>;
  if ((parsed.type !== 'password' && parsed.type !== 'private-key') || typeof parsed.value !== 'string') throw new CredentialDecryptError('unexpected content');
  return { type: parsed.type, value: parsed.value, ...(typeof parsed.passphrase === 'string' ? { passphrase: parsed.passphrase } : {}) };
}
