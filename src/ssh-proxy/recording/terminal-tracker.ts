import { EchoDetector, type InputUnit } from './echo-detector.ts';
import { TerminalModel, type Screen } from './terminal-model.ts';
import { keystrokeText } from './terminal-text.ts';

export interface TrackerSink {
  keystrokes(at: number, text: string, details: Record<string, unknown>): void;
  command(at: number, text: string): void;
}

interface Line {
  units: InputUnit[];
  startAt: number;
  enterAt: number;
  /** Resolved with the reconstructed command; undefined while it waits for the echo of Enter. */
  command: string | null | undefined;
  reading?: Promise<void>;
  cancelled: boolean;
}

/** How long after Enter the proxy waits for its echo (a newline) before reading the line anyway. */
const READ_FALLBACK_MS = 1000;
/** Keystrokes of a line still being typed are flushed once this old (full-screen apps, long edits). */
const PARTIAL_FLUSH_MS = 60_000;

/**
 * Turns one interactive terminal's input and output into keystroke and command events.
 * Keystrokes are grouped per line; commands are read from a terminal emulator at each Enter, so
 * line editing, tab completion and history recall give what actually ran. A line with input that
 * was not echoed (a password prompt) yields neither.
 */
export class TerminalTracker {
  private readonly echo: EchoDetector;
  private readonly model: TerminalModel;
  private current: InputUnit[] = [];
  private currentStart = 0;
  private readonly lines: Line[] = [];
  /** Reads waiting for the newline that echoes their Enter, oldest first. */
  private readonly awaitingNewline: Array<{ line: Line; timer: NodeJS.Timeout }> = [];

  constructor(
    cols: number,
    rows: number,
    private readonly sink: TrackerSink,
    echoWindowMs: number,
  ) {
    this.echo = new EchoDetector(echoWindowMs);
    this.model = new TerminalModel(cols, rows);
  }

  /** Client input at `at` (ms from session start); returns its units, split at Enter. */
  input(data: string, at: number): InputUnit[] {
    const units: InputUnit[] = [];
    let start = 0;
    for (let i = 0; i < data.length; i += 1) {
      const c = data[i];
      if (c !== '\r' && c !== '\n' && c !== '\x03') continue;
      if (c === '\n' && i > 0 && data[i - 1] === '\r') continue;
      units.push(this.add(data.slice(start, i + 1), at));
      this.endLine(at, c === '\x03');
      start = i + 1;
    }
    if (start < data.length) units.push(this.add(data.slice(start), at));
    return units;
  }

  output(data: string): void {
    this.echo.output(data);
    let rest = data;
    while (this.awaitingNewline.length > 0) {
      const nl = rest.indexOf('\n');
      if (nl < 0) break;
      this.model.write(rest.slice(0, nl));
      this.read(this.awaitingNewline.shift()!);
      rest = rest.slice(nl);
    }
    this.model.write(rest);
  }

  resize(cols: number, rows: number): void {
    this.model.resize(cols, rows);
  }

  /** The screen once the output given so far is parsed (TerminalModel.snapshot). */
  snapshot(): Promise<Screen> {
    return this.model.snapshot();
  }

  /** Decides echo for what has waited long enough and emits the lines that are complete. */
  tick(now: number): void {
    this.echo.expire(now);
    while (this.lines.length > 0) {
      const line = this.lines[0]!;
      if (line.units.some((u) => u.state === 'pending') || line.command === undefined) break;
      this.lines.shift();
      this.emit(line);
    }
    if (this.current.length > 0 && now - this.currentStart >= PARTIAL_FLUSH_MS && this.current.every((u) => u.state !== 'pending')) {
      this.emitKeystrokes(this.current, this.currentStart);
      this.current = [];
    }
  }

  /** Emits everything, deciding what is still pending as not echoed. */
  async close(now: number): Promise<void> {
    for (const w of this.awaitingNewline.splice(0)) this.read(w);
    await Promise.all(this.lines.map((l) => l.reading));
    this.echo.expire(Number.MAX_SAFE_INTEGER);
    this.tick(now);
    if (this.current.length > 0) this.emitKeystrokes(this.current, this.currentStart);
    this.current = [];
    this.model.dispose();
  }

  private add(data: string, at: number): InputUnit {
    if (this.current.length === 0) {
      this.currentStart = at;
      this.model.markLineStart();
    }
    const unit = this.echo.input(data, at);
    this.current.push(unit);
    return unit;
  }

  private endLine(at: number, cancelled: boolean): void {
    const line: Line = { units: this.current, startAt: this.currentStart, enterAt: at, command: cancelled ? null : undefined, cancelled };
    this.current = [];
    this.lines.push(line);
    if (cancelled) return;
    const wait = { line, timer: setTimeout(() => this.readLate(wait), READ_FALLBACK_MS) };
    wait.timer.unref();
    this.awaitingNewline.push(wait);
  }

  private readLate(wait: { line: Line; timer: NodeJS.Timeout }): void {
    const i = this.awaitingNewline.indexOf(wait);
    if (i < 0) return;
    this.awaitingNewline.splice(i, 1);
    this.read(wait);
  }

  private read(wait: { line: Line; timer: NodeJS.Timeout }): void {
    clearTimeout(wait.timer);
    wait.line.reading = this.model.readLine().then((text) => {
      wait.line.command = text;
    });
  }

  private emit(line: Line): void {
    this.emitKeystrokes(line.units, line.startAt);
    const hidden = line.units.some((u) => u.state === 'hidden');
    if (!hidden && !line.cancelled && line.command) this.sink.command(line.enterAt, line.command);
  }

  private emitKeystrokes(units: InputUnit[], at: number): void {
    const visible = units.filter((u) => u.state === 'visible');
    const text = keystrokeText(visible.map((u) => u.data).join(''));
    const masked = visible.length < units.length;
    if (text.length > 0) this.sink.keystrokes(at, text, masked ? { masked: true } : {});
  }
}
