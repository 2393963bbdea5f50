import { generateKeyPairSync } from 'node:crypto';

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** A fresh ed25519 key pair; the public half as an OpenSSH `authorized_keys` line. */
export function ed25519PublicKeyLine(comment = 'test@vigil'): { line: string; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]);
  return { line: `ssh-ed25519 ${blob.toString('base64')} ${comment}`, privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}
