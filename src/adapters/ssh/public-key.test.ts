import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { generateEd25519 } from './public-key.ts';

describe('generateEd25519', () => {
  it('only hands out keys that parse back (ssh2 alone writes a malformed one about 1 in 130)', () => {
    for (let i = 0; i < 400; i++) {
      const pair = generateEd25519({ comment: 'test' });
      const parsed = ssh2.utils.parseKey(pair.private);
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      assert.ok(key && !(key instanceof Error) && key.isPrivateKey(), `key ${i}: ${String(parsed)}`);
      assert.equal(key.getPublicSSH().length, 51);
      assert.ok(pair.public.startsWith('ssh-ed25519 '));
    }
  });

  it('keeps a passphrase-protected key readable with its passphrase only', () => {
    const pair = generateEd25519({ passphrase: 'pw-for-test', cipher: 'aes256-ctr', rounds: 2 });
    const withPw = ssh2.utils.parseKey(pair.private, 'pw-for-test');
    assert.ok(!(withPw instanceof Error));
    assert.ok(ssh2.utils.parseKey(pair.private) instanceof Error);
  });
});
