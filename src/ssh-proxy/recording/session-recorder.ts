import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../../adapters/log/logger.ts';
import type { Clock } from '../../core/clock.ts';
import type { ActivityType } from '../../protocol/sessions.ts';
import type { RelayTaps } from '../channel-relay.ts';
import { CastWriter } from './cast-writer.ts';
import { EventLog } from './event-log.ts';
import type { RecordingWriter } from './recording-writer.ts';
import { TerminalTracker } from './terminal-tracker.ts';
import type { Screen } from './terminal-model.ts';
import { terminalText } from './terminal-text.ts';

export interface RecorderDeps {
  /** Group commit shared by the proxy's sessions: chunks, events, heartbeats and the shared ticks. */
  writer: Pick<RecordingWriter, 'chunk' | 'events' | 'heartbeat' | 'every'>;
  clock: Clock;
  logger: Logger;
  /**
   * Called once when the recording cannot be written: the session must not go on unrecorded.
   * `starting`: it failed before the first channel started (nothing ran yet).
   */
  onFailure(err: unknown, phase: 'starting' | 'running'): void;
  /** Live viewers: every output byte, as sent to the client. */
  onOutput?(data: Buffer): void;
}

export interface RecordedSession {
  id: string;
  started_at: number;
  record_video: number;
  record_keystrokes: number;
}

export interface RecorderOptions {
  flushIntervalMs?: number;
  heartbeatIntervalMs?: number;
  echoWindowMs?: number;
}

export interface TerminalInfo {
  cols: number;
  rows: number;
  term: string;
}

/** Search text kept from the output per flush; the cast holds everything. */
const OUTPUT_TEXT_PER_FLUSH = 16 * 1024;

/**
 * Records one proxied session: the asciicast (flushed as a chunk every second and at close),
 * activity events (keystrokes, commands, output text, file transfers, markers) and heartbeats.
 * With recording off for the session only metadata events (file transfers) are kept.
 */
export class SessionRecorder {
  readonly recording: boolean;
  readonly keystrokes: boolean;
  private readonly cast: CastWriter | undefined;
  private readonly events: EventLog;
  private tracker: TerminalTracker | undefined;
  private outputText = '';
  private outputAt = 0;
  private outputClipped = false;
  private readonly stopTimers: Array<() => void>;
  private closed: Promise<void> | undefined;
  private failed = false;
  private began = false;
  private readonly echoWindowMs: number;

  constructor(
    private readonly deps: RecorderDeps,
    readonly session: RecordedSession,
    opts: RecorderOptions = {},
  ) {
    this.recording = session.record_video === 1;
    this.keystrokes = this.recording && session.record_keystrokes === 1;
    const { writer } = deps;
    this.cast = this.recording ? new CastWriter({ startedAtMs: Number(session.started_at), width: 80, height: 24 }, (seq, data) => writer.chunk(session.id, seq, data)) : undefined;
    this.events = new EventLog((events) => writer.events(session.id, events));
    this.echoWindowMs = opts.echoWindowMs ?? 1000;
    // Shared timers: every session flushes on the same tick, so their writes share one commit.
    this.stopTimers = [
      writer.every(opts.flushIntervalMs ?? 1000, () => void this.flush()),
      writer.every(200, () => this.tick()),
      writer.every(opts.heartbeatIntervalMs ?? 10_000, () => {
        writer.heartbeat(session.id).catch((err: unknown) => this.deps.logger.warn({ err, session: session.id }, 'session heartbeat failed'));
      }),
    ];
  }

  /** Milliseconds since the session started. */
  now(): number {
    return this.deps.clock.now() - Number(this.session.started_at);
  }

  /** An activity event at this moment (file transfers, messages, refusals). */
  event(type: ActivityType, text: string, details?: Record<string, unknown>): void {
    if (this.closed) return;
    this.events.add(type, this.now(), text, details);
  }

  /** A cast marker (`m`), for commands and messages; jump-to points in the player. */
  marker(label: string): void {
    this.cast?.push(this.now(), 'm', label);
  }

  /**
   * Taps for a terminal channel (shell, or exec): output into the cast and the search text, and
   * for a pty channel keystrokes and commands. The first pty channel of the session is tracked.
   */
  terminal(pty: TerminalInfo | undefined, command: string | undefined): { taps: RelayTaps; resize(cols: number, rows: number): void } {
    if (command !== undefined) {
      this.marker(`$ ${command}`);
      if (this.recording) this.event('command', command, { exec: true });
    }
    if (pty && this.cast?.setSize(pty.cols, pty.rows, pty.term) === false) this.cast.push(this.now(), 'r', `${pty.cols}x${pty.rows}`);
    const tracker = pty && this.recording && !this.tracker ? new TerminalTracker(pty.cols, pty.rows, this.trackerSink(), this.echoWindowMs) : undefined;
    if (tracker) this.tracker = tracker;
    const out = new StringDecoder('utf8');
    const err = new StringDecoder('utf8');
    const inp = new StringDecoder('utf8');
    const output = (decoder: StringDecoder) => (data: Buffer): void | Promise<void> => {
      this.deps.onOutput?.(data);
      if (!this.cast) return undefined;
      // NUL is ignored by terminals; dropping it keeps a binary `cat` from bloating the cast.
      const text = decoder.write(withoutNul(data));
      if (text.length === 0) return this.cast.whenWritable();
      const at = this.now();
      this.cast.push(at, 'o', text);
      tracker?.output(text);
      this.addOutputText(text, at);
      return this.cast.whenWritable();
    };
    const taps: RelayTaps = { stdout: output(out), stderr: output(err) };
    // Input is recorded only where echo is watched (the tracked terminal), so that what is typed
    // with echo off never reaches the cast.
    if (tracker) {
      taps.stdin = (data: Buffer): void => {
        const text = inp.write(data);
        if (!text) return;
        const at = this.now();
        const units = tracker.input(text, at);
        if (this.keystrokes) for (const u of units) this.cast!.push(at, 'i', u.data, u);
      };
    }
    return {
      taps,
      resize: (cols, rows) => {
        tracker?.resize(cols, rows);
        if (this.cast && !this.cast.setSize(cols, rows)) this.cast.push(this.now(), 'r', `${cols}x${rows}`);
      },
    };
  }

  /**
   * Stores the cast header now, so that a session whose recording cannot be stored does not
   * start (fail closed). Rejects, after telling `onFailure`, when it cannot.
   */
  async begin(): Promise<void> {
    if (this.failed) throw new Error('the recording cannot be stored');
    if (!this.cast || this.began) return;
    this.began = true;
    try {
      await this.cast.flush();
    } catch (err) {
      this.failed = true;
      this.deps.onFailure(err, 'starting');
      throw err;
    }
  }

  /** Text the proxy itself wrote to the user's terminal (messages, notices): cast and live viewers see it too. */
  proxyOutput(text: string): void {
    this.deps.onOutput?.(Buffer.from(text));
    this.cast?.push(this.now(), 'o', text);
  }

  /** The screen of the tracked terminal once the output so far is parsed, when there is one. */
  snapshot(): Promise<Screen | undefined> {
    return this.tracker ? this.tracker.snapshot() : Promise.resolve(undefined);
  }

  /** Writes everything and stops. Resolves when the last chunk and events are stored. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      for (const stop of this.stopTimers) stop();
      await this.tracker?.close(this.now());
      await this.flush(true);
    })();
    return this.closed;
  }

  private trackerSink() {
    return {
      keystrokes: (at: number, text: string, details: Record<string, unknown>) => {
        if (this.keystrokes) this.events.add('keystrokes', at, text, details);
      },
      command: (at: number, text: string) => {
        this.events.add('command', at, text);
        this.marker(text);
      },
    };
  }

  private tick(): void {
    this.tracker?.tick(this.now());
    this.cast?.release();
  }

  private addOutputText(text: string, at: number): void {
    if (this.outputText.length >= OUTPUT_TEXT_PER_FLUSH) {
      this.outputClipped = true;
      return;
    }
    if (this.outputText.length === 0) this.outputAt = at;
    this.outputText += terminalText(text).slice(0, OUTPUT_TEXT_PER_FLUSH - this.outputText.length);
  }

  private async flush(final = false): Promise<void> {
    this.tick();
    const text = this.outputText.replace(/\n{2,}/g, '\n').trim();
    if (text) this.events.add('output', this.outputAt, text, this.outputClipped ? { clipped: true } : undefined);
    this.outputText = '';
    this.outputClipped = false;
    // Cast and events are handed over in the same turn, so they share one commit (a commit holds
    // the event loop for its fsync: one per second instead of two).
    const [cast, events] = await Promise.allSettled([this.cast && !this.failed ? this.cast.flush(final) : undefined, this.events.flush()]);
    if (cast.status === 'rejected') {
      this.failed = true;
      this.deps.onFailure(cast.reason, 'running');
    }
    if (events.status === 'rejected') {
      this.deps.logger.warn({ err: events.reason as unknown, session: this.session.id }, 'storing session events failed; will retry');
      if (final) throw events.reason;
    }
  }
}

/** Zeros to compare runs of NULs against with memcmp (Buffer.compare) instead of a JS loop. */
const ZEROS = Buffer.alloc(4096);

/** Index of the first byte at or after `from` that is not NUL (b.length if none). */
function skipNul(b: Buffer, from: number): number {
  let j = from;
  // Whole blocks first (a bulk `cat` of zeros is all NULs), then byte by byte within the last one.
  while (j + ZEROS.length <= b.length && ZEROS.compare(b, j, j + ZEROS.length) === 0) j += ZEROS.length;
  while (j < b.length && b[j] === 0) j += 1;
  return j;
}

/** The bytes without NULs (a copy only when there are any; nothing to copy when all are NUL). */
export function withoutNul(b: Buffer): Buffer {
  let i = b.indexOf(0);
  if (i < 0) return b;
  if (i === 0 && skipNul(b, 0) === b.length) return b.subarray(0, 0);
  const out = Buffer.allocUnsafe(b.length);
  let n = 0;
  let start = 0;
  while (i >= 0) {
    n += b.copy(out, n, start, i);
    const j = skipNul(b, i + 1);
    start = j;
    i = j < b.length ? b.indexOf(0, j) : -1;
  }
  n += b.copy(out, n, start);
  return out.subarray(0, n);
}
