import { createHash } from 'node:crypto';

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * Normalises what gets pinned for a target: an OpenSSH public key line (`type base64 [comment]`,
 * kept as `type base64`) or an OpenSSH `SHA256:` fingerprint. Throws an Error when it is neither.
 */
export function normaliseHostKey(input: string): string {
  const text = input.trim();
  if (FINGERPRINT.test(text)) return text;
  const [type, b64] = text.split(/\s+/);
  if (!type || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('must be an OpenSSH public key line or a SHA256: fingerprint');
  const blob = Buffer.from(b64, 'base64');
  // The blob starts with the length-prefixed key type, which must match the line's type.
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len <= 0 || blob.length < 4 + len || blob.subarray(4, 4 + len).toString('latin1') !== type) {
    throw new Error('must be an OpenSSH public key line or a SHA256: fingerprint');
  }
  return `${type} ${blob.toString('base64')}`;
}

/** `SHA256:…` of a normalised host key (the value itself when a fingerprint was pinned). */
export function hostKeyFingerprint(pinned: string): string {
  if (pinned.startsWith('SHA256:')) return pinned;
  const b64 = pinned.split(' ')[1] ?? '';
  return `SHA256:${createHash('sha256').update(Buffer.from(b64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}
