import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { fingerprintOf, generateEd25519 } from '../adapters/ssh/public-key.ts';

export interface ProxyHostKey {
  /** OpenSSH private key text, for ssh2's `hostKeys`. */
  privateKey: string;
  /** `ssh-ed25519 <base64>`: what clients see and pin. */
  publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -lf` and the ssh client print it. */
  fingerprint: string;
}

export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

/**
 * The proxy's own ed25519 host key: created in the data dir on first start (mode 0600) and
 * reused after, so clients that pinned it keep trusting the proxy across restarts and nodes that
 * share the data dir. A file that exists but does not parse stops start-up: silently replacing
 * it would make every client see a host-key change.
 */
export function loadOrCreateHostKey(dataDir: string): ProxyHostKey {
  const file = path.join(dataDir, HOST_KEY_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(dataDir, { recursive: true });
    const pair = generateEd25519({ comment: 'vigil-ssh-proxy' });
    try {
      // `wx`: two nodes starting at once on a shared data dir must not overwrite each other's key.
      fs.writeFileSync(file, pair.private, { mode: 0o600, flag: 'wx' });
      fs.writeFileSync(`${file}.pub`, `${pair.public}\n`, { mode: 0o644 });
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code !== 'EEXIST') throw writeErr;
    }
    text = fs.readFileSync(file, 'utf8');
  }
  const parsed = ssh2.utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey()) throw new Error(`the SSH proxy host key ${file} is not a readable private key; move it away to have a new one made`);
  const blob = key.getPublicSSH();
  return { privateKey: text, publicKey: `${key.type} ${blob.toString('base64')}`, fingerprint: fingerprintOf(blob) };
}
