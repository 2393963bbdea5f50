import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const MASTER_KEY_FILE = 'master.key';
const KEY_BYTES = 32;

/**
 * The key that encrypts secret credentials at rest. From VIGIL_MASTER_KEY when set (64 hex digits
 * or base64 of 32 bytes), else `<dataDir>/master.key` (32 raw bytes), created on first start.
 * Losing the key makes every stored credential unreadable: back it up with the database.
 */
export function loadMasterKey(opts: { masterKey: string | undefined; dataDir: string }): Buffer {
  if (opts.masterKey !== undefined && opts.masterKey.trim() !== '') return decodeEnvKey(opts.masterKey.trim());
  const file = path.join(opts.dataDir, MASTER_KEY_FILE);
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  try {
    return readKeyFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    return createKeyFile(file);
  } catch (err) {
    // Another node or process sharing the data dir created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFile(file);
    throw err;
  }
}

/** Never echoes the value: it is a key. */
function decodeEnvKey(v: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) {
    const key = Buffer.from(v, /[-_]/.test(v) ? 'base64url' : 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new Error(`VIGIL_MASTER_KEY must be ${KEY_BYTES} bytes, as 64 hex digits or base64 (e.g. \`openssl rand -hex 32\`)`);
}

function createKeyFile(file: string): Buffer {
  const key = randomBytes(KEY_BYTES);
  // 'wx' + mode 0600 at creation: the file never exists with wider permissions, and an existing
  // file is never overwritten.
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, key);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  return key;
}

function readKeyFile(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new Error(`${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run \`chmod 600 ${file}\``);
    }
    if (st.size !== KEY_BYTES) throw new Error(`${file} must hold exactly ${KEY_BYTES} bytes but holds ${st.size}; restore it from backup or set VIGIL_MASTER_KEY`);
    const key = Buffer.alloc(KEY_BYTES);
    if (fs.readSync(fd, key, 0, KEY_BYTES, 0) !== KEY_BYTES) throw new Error(`${file} could not be read completely`);
    return key;
  } finally {
    fs.closeSync(fd);
  }
}
