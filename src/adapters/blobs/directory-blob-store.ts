import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { assertSafeKey, type BlobStore } from '../../core/recording/blob-store.ts';

/**
 * Media kept as files under a directory (a network share or the archive). A put writes a
 * temporary file, fsyncs it, renames it into place and fsyncs the directory, so a crash leaves
 * either the whole blob or none.
 */
export class DirectoryBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  private file(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, data: Buffer): Promise<void> {
    const file = this.file(key);
    const dir = path.dirname(file);
    await fs.mkdir(dir, { recursive: true, mode: 0o750 });
    const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
    const fh = await fs.open(tmp, 'wx', 0o640);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
    const dh = await fs.open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  get(key: string): Promise<Buffer> {
    return fs.readFile(this.file(key));
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    const fh = await fs.open(this.file(key), 'r');
    try {
      const buf = Buffer.alloc(end - start + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, start);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fs.access(this.file(key));
      return true;
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }
}
