import type { FileOperation, FileTransfer } from './file-transfer.ts';

/** Bytes kept of each packet: enough for every header field read here, never the file data. */
const PREFIX = 8192;

const FXP = { OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, REMOVE: 13, MKDIR: 14, RMDIR: 15, RENAME: 18, EXTENDED: 200, STATUS: 101, HANDLE: 102, DATA: 103 } as const;
const FXF_WRITE = 0x02;

/** Reassembles SFTP packets from a byte stream, keeping a bounded prefix of each. */
class PacketReader {
  private header = Buffer.alloc(0);
  private length = -1;
  private seen = 0;
  private prefix: Buffer[] = [];
  private prefixLen = 0;

  constructor(private readonly onPacket: (prefix: Buffer, length: number) => void) {}

  feed(data: Buffer): void {
    let i = 0;
    while (i < data.length) {
      if (this.length < 0) {
        const need = 4 - this.header.length;
        this.header = Buffer.concat([this.header, data.subarray(i, i + need)]);
        i += Math.min(need, data.length - i);
        if (this.header.length < 4) return;
        this.length = this.header.readUInt32BE(0);
        this.header = Buffer.alloc(0);
        this.seen = 0;
        if (this.length === 0) this.length = -1;
        continue;
      }
      const n = Math.min(this.length - this.seen, data.length - i);
      const keep = Math.min(n, PREFIX - this.prefixLen);
      if (keep > 0) {
        this.prefix.push(data.subarray(i, i + keep));
        this.prefixLen += keep;
      }
      this.seen += n;
      i += n;
      if (this.seen === this.length) {
        const prefix = Buffer.concat(this.prefix);
        const length = this.length;
        this.prefix = [];
        this.prefixLen = 0;
        this.length = -1;
        this.onPacket(prefix, length);
      }
    }
  }
}

/** Bounds-checked reads over a packet prefix; a short read throws and the packet is ignored. */
class Fields {
  private p = 0;
  constructor(private readonly b: Buffer) {}
  byte(): number {
    return this.b.readUInt8(this.p++);
  }
  u32(): number {
    const v = this.b.readUInt32BE(this.p);
    this.p += 4;
    return v;
  }
  skip(n: number): void {
    this.p += n;
  }
  string(): Buffer {
    const n = this.u32();
    if (this.p + n > this.b.length) throw new RangeError('short');
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
}

interface OpenFile {
  path: string;
  flags: number;
  read: number;
  written: number;
}

/**
 * Watches a raw SFTP (v3) subsystem stream in both directions and reports files transferred:
 * OPEN gives the path and flags, HANDLE ties the handle to it, READ/DATA and WRITE count bytes,
 * CLOSE (or the end of the channel) reports the file. Removals, renames and directory changes are
 * reported as operations. Contents are never kept.
 */
export class SftpObserver {
  private readonly requests = new PacketReader((p) => this.request(p));
  private readonly responses = new PacketReader((p) => this.response(p));
  private readonly opening = new Map<number, { path: string; flags: number }>();
  private readonly reading = new Map<number, string>();
  private readonly files = new Map<string, OpenFile>();

  constructor(
    private readonly onFile: (t: FileTransfer) => void,
    private readonly onOperation: (op: FileOperation) => void,
  ) {}

  /** Client → target bytes. */
  fromClient(data: Buffer): void {
    this.requests.feed(data);
  }

  /** Target → client bytes. */
  fromTarget(data: Buffer): void {
    this.responses.feed(data);
  }

  end(): void {
    for (const f of this.files.values()) this.report(f, false);
    this.files.clear();
  }

  private request(prefix: Buffer): void {
    try {
      const f = new Fields(prefix);
      const type = f.byte();
      const id = f.u32();
      switch (type) {
        case FXP.OPEN: {
          const path = f.string().toString('utf8');
          this.opening.set(id, { path, flags: f.u32() });
          break;
        }
        case FXP.READ:
          this.reading.set(id, f.string().toString('hex'));
          break;
        case FXP.WRITE: {
          const file = this.files.get(f.string().toString('hex'));
          f.skip(8);
          if (file) file.written += f.u32();
          break;
        }
        case FXP.CLOSE: {
          const handle = f.string().toString('hex');
          const file = this.files.get(handle);
          if (file) {
            this.files.delete(handle);
            this.report(file, true);
          }
          break;
        }
        case FXP.REMOVE:
          this.onOperation({ protocol: 'sftp', operation: 'remove', path: f.string().toString('utf8') });
          break;
        case FXP.MKDIR:
          this.onOperation({ protocol: 'sftp', operation: 'mkdir', path: f.string().toString('utf8') });
          break;
        case FXP.RMDIR:
          this.onOperation({ protocol: 'sftp', operation: 'rmdir', path: f.string().toString('utf8') });
          break;
        case FXP.RENAME: {
          const from = f.string().toString('utf8');
          this.onOperation({ protocol: 'sftp', operation: 'rename', path: from, to: f.string().toString('utf8') });
          break;
        }
        case FXP.EXTENDED: {
          // OpenSSH's sftp renames with this extension when the server offers it.
          if (f.string().toString('latin1') !== 'posix-rename@openssh.com') break;
          const from = f.string().toString('utf8');
          this.onOperation({ protocol: 'sftp', operation: 'rename', path: from, to: f.string().toString('utf8') });
          break;
        }
        default:
          break;
      }
    } catch {
      // A packet too short for its own fields: not SFTP we understand; leave it alone.
    }
  }

  private response(prefix: Buffer): void {
    try {
      const f = new Fields(prefix);
      const type = f.byte();
      if (type !== FXP.HANDLE && type !== FXP.DATA && type !== FXP.STATUS) return;
      const id = f.u32();
      if (type === FXP.HANDLE) {
        const open = this.opening.get(id);
        this.opening.delete(id);
        if (open) this.files.set(f.string().toString('hex'), { ...open, read: 0, written: 0 });
      } else if (type === FXP.DATA) {
        const handle = this.reading.get(id);
        this.reading.delete(id);
        const file = handle === undefined ? undefined : this.files.get(handle);
        if (file) file.read += f.u32();
      } else {
        this.opening.delete(id);
        this.reading.delete(id);
      }
    } catch {
      // see request()
    }
  }

  private report(file: OpenFile, complete: boolean): void {
    const upload = file.written > 0 || (file.read === 0 && (file.flags & FXF_WRITE) !== 0);
    this.onFile({ protocol: 'sftp', direction: upload ? 'upload' : 'download', path: file.path, bytes: upload ? file.written : file.read, complete });
  }
}
