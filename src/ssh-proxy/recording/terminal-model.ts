import serializeAddon from '@xterm/addon-serialize';
import xtermHeadless from '@xterm/headless';
import type { IMarker, Terminal } from '@xterm/headless';

type Op =
  | { kind: 'data'; data: string }
  | { kind: 'resize'; cols: number; rows: number }
  | { kind: 'mark' }
  | { kind: 'read'; resolve: (line: string | null) => void }
  | { kind: 'snapshot'; resolve: (screen: Screen) => void };

export interface Screen {
  cols: number;
  rows: number;
  data: string;
}

/** Output bytes waiting for the emulator beyond which the oldest are skipped (bulk output). */
const MAX_BACKLOG = 256 * 1024;
const WRITE_BATCH = 64 * 1024;

/**
 * A headless xterm fed with the session's output, off the hot path: output is queued and parsed
 * asynchronously, and when a burst outruns the emulator the oldest queued output is skipped (the
 * end of a bulk `cat` is what decides the screen). Marks and reads are queued in order with the
 * output, so a read sees the screen as it was when its turn came.
 */
export class TerminalModel {
  private readonly term: Terminal;
  private readonly queue: Op[] = [];
  private queued = 0;
  private running = false;
  private mark: { marker: IMarker | undefined; col: number } | undefined;
  private disposed = false;
  private readonly serializer = new serializeAddon.SerializeAddon();
  skippedBytes = 0;

  constructor(cols: number, rows: number) {
    this.term = new xtermHeadless.Terminal({ cols: clamp(cols, 80), rows: clamp(rows, 24), scrollback: 1000, allowProposedApi: true });
    this.term.loadAddon(this.serializer);
  }

  /**
   * The screen once everything written so far is parsed, as escape sequences that redraw it (for
   * a late-joining viewer): output still queued for the emulator is part of it, output written
   * after this call is not.
   */
  snapshot(): Promise<Screen> {
    return new Promise((resolve) => (this.disposed ? resolve(this.screen()) : this.push({ kind: 'snapshot', resolve })));
  }

  write(data: string): void {
    if (this.disposed || data.length === 0) return;
    this.queue.push({ kind: 'data', data });
    this.queued += data.length;
    while (this.queued > MAX_BACKLOG) {
      const i = this.queue.findIndex((op) => op.kind === 'data');
      if (i < 0) break;
      const op = this.queue.splice(i, 1)[0] as { kind: 'data'; data: string };
      this.queued -= op.data.length;
      this.skippedBytes += op.data.length;
    }
    this.pump();
  }

  resize(cols: number, rows: number): void {
    this.push({ kind: 'resize', cols, rows });
  }

  /** Remembers where the line being typed starts (just after the prompt). */
  markLineStart(): void {
    this.push({ kind: 'mark' });
  }

  /** The text typed on the marked line (with its wrapped continuation), null in full-screen apps. */
  readLine(): Promise<string | null> {
    return new Promise((resolve) => (this.disposed ? resolve(null) : this.push({ kind: 'read', resolve })));
  }

  dispose(): void {
    if (this.disposed) return;
    // A snapshot still waiting gets the screen as parsed so far (not a blank one), before the
    // emulator goes.
    for (const op of this.queue.splice(0)) {
      if (op.kind === 'read') op.resolve(null);
      else if (op.kind === 'snapshot') op.resolve(this.screen());
    }
    this.disposed = true;
    this.term.dispose();
  }

  private push(op: Op): void {
    if (this.disposed) return;
    this.queue.push(op);
    this.pump();
  }

  private pump(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    while (!this.disposed && this.queue.length > 0) {
      const op = this.queue.shift()!;
      try {
        await this.apply(op);
      } catch {
        // The emulator failed on this op: its waiter gets nothing, the queue goes on.
        if (op.kind === 'read') op.resolve(null);
        else if (op.kind === 'snapshot') op.resolve({ cols: this.term.cols, rows: this.term.rows, data: '' });
      }
    }
    this.running = false;
  }

  private async apply(op: Op): Promise<void> {
    switch (op.kind) {
      case 'data': {
        let data = op.data;
        while (this.queue[0]?.kind === 'data' && data.length < WRITE_BATCH) data += (this.queue.shift() as { data: string }).data;
        this.queued -= data.length;
        await new Promise<void>((r) => this.term.write(data, r));
        break;
      }
      case 'resize':
        this.term.resize(clamp(op.cols, 80), clamp(op.rows, 24));
        break;
      case 'mark':
        this.mark?.marker?.dispose();
        this.mark = { marker: this.term.registerMarker(0), col: this.term.buffer.active.cursorX };
        break;
      case 'read':
        op.resolve(this.currentLine());
        break;
      case 'snapshot':
        op.resolve(this.screen());
        break;
    }
  }

  private screen(): Screen {
    return { cols: this.term.cols, rows: this.term.rows, data: this.disposed ? '' : this.serializer.serialize({ scrollback: 0 }) };
  }

  private currentLine(): string | null {
    const buf = this.term.buffer.active;
    if (buf.type === 'alternate') return null;
    const cursorRow = buf.baseY + buf.cursorY;
    let row = cursorRow;
    let col = 0;
    const markRow = this.mark?.marker?.line ?? -1;
    if (markRow >= 0 && markRow <= cursorRow) {
      row = markRow;
      col = this.mark!.col;
    } else {
      // No usable mark (screen cleared, line scrolled away): the logical line under the cursor.
      while (row > 0 && buf.getLine(row)?.isWrapped) row -= 1;
    }
    this.mark?.marker?.dispose();
    this.mark = undefined;
    let text = '';
    for (let r = row; ; r += 1) {
      const line = buf.getLine(r);
      if (!line || (r > row && !line.isWrapped)) break;
      const next = buf.getLine(r + 1);
      text += line.translateToString(!next?.isWrapped, r === row ? col : 0);
    }
    return text.trim();
  }
}

function clamp(n: number, fallback: number): number {
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1000) : fallback;
}
