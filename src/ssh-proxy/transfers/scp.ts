import path from 'node:path/posix';
import type { FileTransfer } from './file-transfer.ts';

export interface ScpCommand {
  direction: 'upload' | 'download';
  path: string;
  recursive: boolean;
}

/**
 * Recognises the remote half of a legacy-protocol scp (`scp -t …` receives an upload, `scp -f …`
 * sends a download). OpenSSH 9's scp uses SFTP by default, which is seen as the sftp subsystem.
 */
export function parseScpCommand(command: string): ScpCommand | undefined {
  const words = shellWords(command);
  if (words.length === 0 || path.basename(words[0]!) !== 'scp') return undefined;
  let direction: ScpCommand['direction'] | undefined;
  let recursive = false;
  const rest: string[] = [];
  let flags = true;
  for (const w of words.slice(1)) {
    if (flags && w === '--') {
      flags = false;
    } else if (flags && w.startsWith('-') && w.length > 1) {
      if (w.includes('t')) direction = 'upload';
      if (w.includes('f')) direction = 'download';
      if (w.includes('r')) recursive = true;
    } else {
      rest.push(w);
    }
  }
  if (!direction) return undefined;
  return { direction, path: rest.join(' ') || '.', recursive };
}

/** Splits a command line the way a POSIX shell would for plain words and quotes. */
function shellWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i += 1) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
    }
  }
  if (has || cur) out.push(cur);
  return out;
}

const MAX_LINE = 8192;

/**
 * Follows the data-carrying direction of a legacy scp stream (the client's input for an upload,
 * the target's output for a download): `C<mode> <size> <name>` announces a file and its bytes
 * follow, `D`/`E` enter and leave directories, `T` carries times. The contents are skipped.
 */
export class ScpObserver {
  private line: number[] = [];
  private remaining = 0;
  private dirs: string[] = [];
  private file: FileTransfer | undefined;

  constructor(
    private readonly command: ScpCommand,
    private readonly onFile: (t: FileTransfer) => void,
  ) {}

  feed(data: Buffer): void {
    let i = 0;
    while (i < data.length) {
      if (this.file) {
        const n = Math.min(this.remaining, data.length - i);
        this.file.bytes += n;
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.done();
        continue;
      }
      const b = data[i++]!;
      // A status byte (\0) follows each file's contents; it never starts a message line.
      if (this.line.length === 0 && b === 0) continue;
      if (b !== 0x0a) {
        if (this.line.length < MAX_LINE) this.line.push(b);
        continue;
      }
      this.header(Buffer.from(this.line).toString('utf8'));
      this.line = [];
    }
  }

  /** A transfer cut short: reports the file in progress with the bytes seen. */
  end(): void {
    if (this.file) this.onFile(this.file);
    this.file = undefined;
  }

  private done(): void {
    this.file!.complete = true;
    this.onFile(this.file!);
    this.file = undefined;
  }

  private header(line: string): void {
    const m = /^([CD])([0-7]{3,4}) (\d+) (.*)$/.exec(line);
    if (m) {
      const name = m[4]!;
      if (m[1] === 'D') {
        this.dirs.push(name);
        return;
      }
      const size = Number(m[3]);
      this.file = { protocol: 'scp', direction: this.command.direction, path: this.pathOf(name), bytes: 0, size, complete: false };
      this.remaining = size;
      if (size === 0) this.done();
      return;
    }
    if (line === 'E') this.dirs.pop();
  }

  private pathOf(name: string): string {
    const base = this.command.path;
    if (this.command.direction === 'download' && !this.command.recursive) return base;
    if (this.dirs.length === 0 && !this.command.recursive && path.basename(base) === name) return base;
    if (this.command.direction === 'download') return path.join(path.dirname(base), ...this.dirs, name);
    return path.join(base, ...this.dirs, name);
  }
}
