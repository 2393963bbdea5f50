import type { SessionLink } from '../session-link.ts';

const CHUNK_MS = 1000;
const CHUNK_BYTES = 256 * 1024;
const KEY_FLUSH_MS = 2000;

/**
 * Turns session-shell records into the session's data: asciicast v2 (`o`, `i`, `r`, absolute times
 * from the session start) cut into chunks when the agent holds the session, and `keystrokes`
 * events (searchable as `agent-keystrokes`). Input typed with ECHO off is in neither.
 */
export class ShellRecorder {
  private cast: string[] = [];
  private castBytes = 0;
  private headerWritten: boolean;
  private lastCut = Date.now();
  private keys = '';
  private keysAt = 0;
  private keysLastAt = 0;
  private decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(
    private readonly link: SessionLink,
    private readonly opts: { recordKeystrokes: () => boolean; writeCast: boolean; castStarted: boolean },
  ) {
    this.headerWritten = opts.castStarted;
  }

  hello(cols: number, rows: number, term: string): void {
    const m = this.link.spool.meta;
    if (!this.opts.writeCast) return;
    if (!this.headerWritten) {
      this.push(JSON.stringify({ version: 2, width: cols, height: rows, timestamp: Math.floor(m.startedAt / 1000), env: { TERM: term, SHELL: 'vigil session-shell' } }) + '\n');
      this.headerWritten = true;
    } else {
      this.resize(Date.now(), cols, rows);
    }
  }

  output(at: number, data: Buffer): void {
    if (this.opts.writeCast) this.push(this.line(at, 'o', this.decoder.decode(data, { stream: true })));
    this.link.live({ type: 'output', data: data.toString('base64'), at: at - this.link.spool.meta.startedAt });
  }

  input(at: number, data: Buffer, echo: boolean): void {
    if (!echo) return; // a password prompt: never recorded
    const text = data.toString('utf8');
    if (this.opts.writeCast) this.push(this.line(at, 'i', text));
    if (!this.opts.recordKeystrokes()) return;
    if (this.keys === '') this.keysAt = at;
    this.keys += text;
    this.keysLastAt = at;
    if (/[\r\n]/.test(text)) this.flushKeys();
  }

  resize(at: number, cols: number, rows: number): void {
    if (this.opts.writeCast) this.push(this.line(at, 'r', `${cols}x${rows}`));
  }

  /** Called every ~250 ms: cuts a chunk and flushes typed text that waited long enough. */
  tick(now = Date.now()): void {
    if (this.keys && now - this.keysLastAt >= KEY_FLUSH_MS) this.flushKeys();
    if (this.castBytes > 0 && now - this.lastCut >= CHUNK_MS) this.cut();
  }

  finish(): void {
    this.flushKeys();
    this.cut();
  }

  private flushKeys(): void {
    if (!this.keys) return;
    // Readable text: line ends as newlines, other control characters and escape sequences dropped.
    // eslint-disable-next-line no-control-regex
    const text = this.keys.replace(/\x1b\[[0-9;?]*[A-Za-z~]|\x1b./g, '').replace(/\r\n?/g, '\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
    this.keys = '';
    if (text.trim()) this.link.event(this.keysAt, 'keystrokes', text, { via: 'session-shell' });
  }

  private line(at: number, code: string, data: string): string {
    return JSON.stringify([Math.max(0, at - this.link.spool.meta.startedAt) / 1000, code, data]) + '\n';
  }

  private push(s: string): void {
    this.cast.push(s);
    this.castBytes += Buffer.byteLength(s);
    if (this.castBytes >= CHUNK_BYTES) this.cut();
  }

  private cut(): void {
    this.lastCut = Date.now();
    if (this.castBytes === 0) return;
    const data = Buffer.from(this.cast.join(''));
    this.cast = [];
    this.castBytes = 0;
    this.link.spool.addChunk(data);
  }
}
