import ssh2 from 'ssh2';

/**
 * Checks that `pem` is one SSH private key (PEM or OpenSSH format) that opens with `passphrase`.
 * Throws an Error with a readable message; messages are fixed strings so that nothing from the
 * key itself (ssh2 quotes parts of it in some errors) can reach a response or a log.
 */
export function validatePrivateKey(pem: string, passphrase?: string): void {
  const text = pem.trim();
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
    if (/^(ssh-|ecdsa-|sk-)/.test(text) || text.includes('PUBLIC KEY')) throw new Error('this is a public key; paste the private key');
    throw new Error('not a private key: paste a PEM or OpenSSH private key (it starts with -----BEGIN … PRIVATE KEY-----)');
  }
  if (text.match(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/g)!.length > 1) throw new Error('paste exactly one private key');
  let parsed: ReturnType<typeof ssh2.utils.parseKey>;
  try {
    parsed = ssh2.utils.parseKey(text, passphrase);
  } catch {
    throw new Error('not a valid private key');
  }
  if (parsed instanceof Error) throw new Error(describe(parsed.message, passphrase !== undefined));
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) throw new Error('not a valid private key');
}

function describe(message: string, hadPassphrase: boolean): string {
  if (/no passphrase given/i.test(message)) return 'the private key is encrypted; give its passphrase';
  if (/bad passphrase|integrity check|decrypt|bad_decrypt/i.test(message)) {
    return hadPassphrase ? 'the passphrase does not open this private key' : 'the private key is encrypted; give its passphrase';
  }
  if (/unsupported/i.test(message)) return 'unsupported private key format, type or cipher (use an OpenSSH key, or a PEM RSA/DSA/EC key)';
  return 'not a valid private key (malformed)';
}
