import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { CredentialDecryptError, decryptCredential, encryptCredential } from './secret-cipher.ts';

const key = randomBytes(32);
const id = '0b6d5c0e-0d64-4c36-9d0e-6b0c3e8f1a11';
const cred = { type: 'private-key' as const, value: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n', passphrase: 'pässphrase' };

describe('secret cipher', () => {
  it('round-trips a credential and never shows the plaintext', () => {
    const enc = encryptCredential(key, id, cred);
    assert.match(enc, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(!enc.includes('OPENSSH') && !enc.includes('abc'));
    assert.deepEqual(decryptCredential(key, id, enc), cred);
    assert.deepEqual(decryptCredential(key, id, encryptCredential(key, id, { type: 'password', value: 'hunter22' })), { type: 'password', value: 'hunter22' });
  });

  it('uses a fresh IV every time', () => {
    assert.notEqual(encryptCredential(key, id, cred), encryptCredential(key, id, cred));
  });

  it('detects tampering with the ciphertext, tag or IV', () => {
    const parts = encryptCredential(key, id, cred).split('.');
    for (const i of [1, 2, 3]) {
      const bytes = Buffer.from(parts[i]!, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      const tampered = parts.map((p, j) => (j === i ? bytes.toString('base64url') : p)).join('.');
      assert.throws(() => decryptCredential(key, id, tampered), CredentialDecryptError);
    }
    assert.throws(() => decryptCredential(key, id, `v2.${parts.slice(1).join('.')}`), CredentialDecryptError);
  });

  it('refuses a ciphertext moved to another secret (wrong AAD)', () => {
    const enc = encryptCredential(key, id, cred);
    assert.throws(() => decryptCredential(key, '7d1f0d5e-5b1c-4c1e-8a55-0a3b8f2e9c01', enc), CredentialDecryptError);
  });

  it('refuses the wrong key without revealing anything', () => {
    const enc = encryptCredential(key, id, cred);
    assert.throws(() => decryptCredential(randomBytes(32), id, enc), (err: Error) => err instanceof CredentialDecryptError && !err.message.includes('abc'));
    assert.throws(() => encryptCredential(randomBytes(16), id, cred), /32 bytes/);
  });
});
