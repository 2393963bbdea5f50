import { Terminal, type IBufferCell } from '@xterm/headless';
import { DEFAULT_BG, DEFAULT_FG, PALETTE, rgb } from './palette.ts';

/** A run of cells with the same look, rendered as one text span. */
export interface Run {
  text: string;
  fg: string | null;
  bg: string | null;
  bold: boolean;
  italic: boolean;
  underline: boolean;
  dim: boolean;
  strike: boolean;
  cursor: boolean;
}

export interface ScreenState {
  cols: number;
  rows: number;
  lines: Run[][];
}

/**
 * A terminal screen: xterm.js's emulator (the headless build) parses the output, and the console
 * renders its buffer as React text. The DOM renderer of @xterm/xterm injects <style> elements and
 * style="" attributes, which the console's CSP (style-src 'self') refuses; this keeps the view
 * within the CSP, and every character reaches the page as a text node.
 */
export class Screen {
  readonly term: Terminal;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;
  showCursor: boolean;

  constructor(opts: { cols?: number; rows?: number; scrollback?: number; cursor?: boolean } = {}) {
    this.term = new Terminal({ cols: opts.cols ?? 80, rows: opts.rows ?? 24, scrollback: opts.scrollback ?? 0, allowProposedApi: true });
    this.showCursor = opts.cursor ?? true;
    this.term.onWriteParsed(() => this.changed());
    this.term.onResize(() => this.changed());
  }

  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve) => this.term.write(data, resolve));
  }

  resize(cols: number, rows: number): void {
    const c = clamp(cols, 2, 1000);
    const r = clamp(rows, 1, 500);
    if (c !== this.term.cols || r !== this.term.rows) this.term.resize(c, r);
  }

  reset(): void {
    this.term.reset();
    this.changed();
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  dispose(): void {
    this.listeners.clear();
    this.term.dispose();
  }

  /** Listeners hear at most once per animation frame. */
  private changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const l of this.listeners) l();
    });
  }

  /** The visible rows as runs of equally styled text. */
  state(): ScreenState {
    const buf = this.term.buffer.active;
    const cell: IBufferCell | undefined = buf.getNullCell();
    const lines: Run[][] = [];
    const cursorY = buf.cursorY;
    const cursorX = buf.cursorX;
    for (let y = 0; y < this.term.rows; y++) {
      const line = buf.getLine(buf.viewportY + y);
      const runs: Run[] = [];
      let cur: Run | null = null;
      for (let x = 0; x < this.term.cols; x++) {
        const c = line?.getCell(x, cell);
        if (c && c.getWidth() === 0) continue; // the right half of a wide character
        const look = c ? lookOf(c) : BLANK;
        const isCursor = this.showCursor && y === cursorY && x === cursorX && buf.viewportY === buf.baseY;
        const chars = c?.getChars() || ' ';
        const text = look.invisible ? ' '.repeat(chars.length) : chars;
        if (cur && !isCursor && !cur.cursor && sameLook(cur, look)) {
          cur.text += text;
        } else {
          cur = { text, fg: look.fg, bg: look.bg, bold: look.bold, italic: look.italic, underline: look.underline, dim: look.dim, strike: look.strike, cursor: isCursor };
          runs.push(cur);
        }
        if (isCursor) cur = null;
      }
      lines.push(runs);
    }
    return { cols: this.term.cols, rows: this.term.rows, lines };
  }
}

type Look = Omit<Run, 'text' | 'cursor'> & { invisible: boolean };
const BLANK: Look = { fg: null, bg: null, bold: false, italic: false, underline: false, dim: false, strike: false, invisible: false };

function color(mode: 'fg' | 'bg', c: IBufferCell): string | null {
  if (mode === 'fg') {
    if (c.isFgRGB()) return rgb(c.getFgColor());
    if (c.isFgPalette()) return PALETTE[c.getFgColor()] ?? null;
    return null;
  }
  if (c.isBgRGB()) return rgb(c.getBgColor());
  if (c.isBgPalette()) return PALETTE[c.getBgColor()] ?? null;
  return null;
}

function lookOf(c: IBufferCell): Look {
  let fg = color('fg', c);
  let bg = color('bg', c);
  const bold = c.isBold() !== 0;
  // Bold text in one of the first 8 colours shows the bright variant, as terminals do.
  if (bold && c.isFgPalette() && c.getFgColor() < 8) fg = PALETTE[c.getFgColor() + 8] ?? fg;
  if (c.isInverse()) [fg, bg] = [bg ?? DEFAULT_BG, fg ?? DEFAULT_FG];
  return { fg, bg, bold, italic: c.isItalic() !== 0, underline: c.isUnderline() !== 0, dim: c.isDim() !== 0, strike: c.isStrikethrough() !== 0, invisible: c.isInvisible() !== 0 };
}

const sameLook = (a: Run, b: Look): boolean =>
  a.fg === b.fg && a.bg === b.bg && a.bold === b.bold && a.italic === b.italic && a.underline === b.underline && a.dim === b.dim && a.strike === b.strike;

const clamp = (n: number, lo: number, hi: number) => (Number.isFinite(n) ? Math.min(hi, Math.max(lo, Math.floor(n))) : lo);
