import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** One line of vigil-proc-connector's output (format in proc-connector.c), decoded. */
export type HelperRecord =
  | { kind: 'fork'; pid: number; ppid: number }
  | { kind: 'exec'; pid: number; monoUs: number; ppid: number; uid: number | null; sid: number | null; exe: string | null; cwd: string | null; args: string[]; name: string }
  | { kind: 'exit'; pid: number; monoUs: number; exitCode: number }
  | { kind: 'lost'; count: number }
  | { kind: 'ready' };

const ESCAPES: Record<string, string> = { t: '\t', n: '\n', u: '\x1f', '\\': '\\' };
const unescape = (s: string): string => (s.includes('\\') ? s.replace(/\\(.)/g, (_m, c: string) => ESCAPES[c] ?? c) : s);
const int = (s: string | undefined): number => (s ? Number.parseInt(s, 10) : Number.NaN);

/** Decodes one line (without its newline); null for a line it does not know or cannot read. */
export function parseRecord(line: string): HelperRecord | null {
  const f = line.split('\t');
  switch (f[0] ?? '') {
    case 'F': {
      const pid = int(f[1]);
      const ppid = int(f[2]);
      return pid > 0 && ppid >= 0 ? { kind: 'fork', pid, ppid } : null;
    }
    case 'E': {
      if (f.length !== 10) return null;
      const monoUs = int(f[1]);
      const pid = int(f[2]);
      if (!(pid > 0) || Number.isNaN(monoUs)) return null;
      const uid = int(f[4]);
      const sid = int(f[5]);
      // " (deleted)": the binary was replaced or removed after the process started.
      const exe = unescape(f[6]!).replace(/ \(deleted\)$/, '') || null;
      // Arguments are separated by \x1f; one inside an argument arrives escaped (\u).
      const args = f[8] ? f[8].split('\x1f').map(unescape) : [];
      const name = exe ? path.basename(exe) : args[0] ? path.basename(args[0]) : unescape(f[9]!) || '?';
      return { kind: 'exec', pid, monoUs, ppid: Math.max(0, int(f[3]) || 0), uid: uid >= 0 ? uid : null, sid: sid > 0 ? sid : null, exe, cwd: unescape(f[7]!) || null, args, name };
    }
    case 'X': {
      const monoUs = int(f[1]);
      const pid = int(f[2]);
      const status = int(f[3]);
      if (!(pid > 0) || Number.isNaN(status) || Number.isNaN(monoUs)) return null;
      // The kernel reports the wait status: exit code in the high byte, or the signal.
      return { kind: 'exit', pid, monoUs, exitCode: status & 0x7f ? 128 + (status & 0x7f) : status >> 8 };
    }
    case 'L':
      return { kind: 'lost', count: int(f[1]) || 1 };
    case 'READY':
      return { kind: 'ready' };
    default:
      return null;
  }
}

/** Wall-clock ms of a kernel CLOCK_MONOTONIC time in µs (process.hrtime reads the same clock). */
export function monoToWallMs(monoUs: number, nowMs = Date.now(), nowMonoNs = process.hrtime.bigint()): number {
  return Math.round(nowMs - (Number(nowMonoNs / 1000n) - monoUs) / 1000);
}

/**
 * Splits the helper's output into records as chunks arrive: a line may span chunks, and a UTF-8
 * character may be cut between two (invalid UTF-8 in a command line becomes U+FFFD).
 */
export class RecordReader {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';

  push(chunk: Buffer): HelperRecord[] {
    const text = this.rest + this.decoder.write(chunk);
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      this.rest = text;
      return [];
    }
    this.rest = text.slice(end + 1);
    const out: HelperRecord[] = [];
    for (const line of text.slice(0, end).split('\n')) {
      const r = parseRecord(line);
      if (r) out.push(r);
    }
    return out;
  }
}
