import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

const REASONS: Record<string, string> = {
  ENOTDIR: 'a part of this path is a file, not a directory',
  EEXIST: 'exists and is not a directory',
  EACCES: 'the server has no permission to write here',
  EPERM: 'the server has no permission to write here',
  EROFS: 'is on a read-only file system',
  ENOSPC: 'the file system is full',
  EDQUOT: 'the disk quota is exhausted',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'the path has a symbolic link loop',
  ENOENT: 'cannot be created (a parent directory is missing or unreachable)',
  EIO: 'the file system reported an I/O error (is the share mounted?)',
  ESTALE: 'the network share is stale (remount it)',
};

/**
 * Makes sure the server can keep files in `dir`: creates it if missing (like `mkdir -p`), checks it
 * is a directory, and writes and removes a probe file (access(2) alone misjudges network shares).
 * Throws an Error whose message says what is wrong.
 */
export async function checkWritableDir(dir: string): Promise<void> {
  try {
    await mkdirp(dir);
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'EEXIST' });
    await fs.access(dir, fs.constants.W_OK | fs.constants.X_OK);
    const probe = path.join(dir, `.vigil-probe-${randomUUID()}`);
    await fs.writeFile(probe, 'vigil write probe\n', { flag: 'wx', mode: 0o600 });
    await fs.unlink(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new Error(REASONS[code] ?? `is not a usable directory (${code || (err as Error).message})`, { cause: err });
  }
}

/**
 * `mkdir -p` one level at a time. Node's recursive mkdir loops forever on file systems that answer
 * ENOENT for a directory they will not create (e.g. under /proc), which would pin a libuv thread.
 */
async function mkdirp(dir: string): Promise<void> {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  for (;;) {
    try {
      await fs.stat(cur);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.unshift(cur);
      const parent = path.dirname(cur);
      if (parent === cur) break;
      cur = parent;
    }
  }
  for (const d of missing) {
    try {
      await fs.mkdir(d, { mode: 0o750 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
