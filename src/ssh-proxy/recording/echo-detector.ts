import { stripEscapes } from './terminal-text.ts';

/**
 * One piece of client input (split at Enter). It is `visible` once its typed text came back as
 * echo, `hidden` once some of it did not within the echo window — a password typed at a prompt
 * that turned echo off. Input without printable characters (Enter, arrows, ^C) is visible.
 */
export class InputUnit {
  state: 'pending' | 'visible' | 'hidden';
  /** Runs of printable characters not yet seen echoed. */
  waiting: number;
  constructor(
    readonly data: string,
    readonly at: number,
    runs: number,
  ) {
    this.waiting = runs;
    this.state = runs === 0 ? 'visible' : 'pending';
  }
}

interface Run {
  text: string;
  /** Characters of `text` already matched at the end of the previous output chunk. */
  matched: number;
  unit: InputUnit;
}

/** How many printable characters of output may come before an echo (a prompt, other output). */
const LEAD_MAX = 256;

/**
 * The proxy cannot see the remote pty's ECHO flag, so it watches for the echo instead. Input is
 * cut into runs of printable characters (control keys such as Tab or Backspace end a run, since
 * the shell answers them with text of its own); each run must reappear contiguously in later
 * output, shortly after the previous echo. A run not seen within the window makes its unit
 * hidden: when in doubt, privacy wins and the input stays out of the index.
 */
export class EchoDetector {
  private runs: Run[] = [];

  constructor(private readonly windowMs: number) {}

  input(data: string, at: number): InputUnit {
    const texts = stripEscapes(data).split(/\p{C}+/u).filter((r) => r.length > 0);
    const unit = new InputUnit(data, at, texts.length);
    for (const text of texts) this.runs.push({ text, matched: 0, unit });
    return unit;
  }

  output(data: string): void {
    if (this.runs.length === 0) return;
    const text = stripEscapes(data).replace(/\p{C}+/gu, '');
    let pos = 0;
    for (const run of this.runs) {
      if (run.unit.state === 'hidden') continue;
      if (run.matched > 0) {
        // Continue a run cut by the previous chunk's end, right at this chunk's start.
        const rest = run.text.slice(run.matched);
        if (text.startsWith(rest)) {
          this.seen(run);
          pos = rest.length;
          continue;
        }
        if (rest.startsWith(text)) {
          run.matched += text.length;
          return;
        }
        run.matched = 0;
      }
      const window = text.slice(pos, pos + LEAD_MAX + run.text.length);
      const i = window.indexOf(run.text);
      if (i >= 0) {
        this.seen(run);
        pos += i + run.text.length;
        continue;
      }
      // The chunk may end inside the echo: keep the longest tail that starts the run.
      const tail = text.slice(pos, pos + LEAD_MAX + run.text.length);
      for (let k = Math.min(run.text.length - 1, tail.length); k > 0; k -= 1) {
        if (tail.endsWith(run.text.slice(0, k)) && text.length - k - pos <= LEAD_MAX) {
          run.matched = k;
          return;
        }
      }
    }
    this.runs = this.runs.filter((r) => r.unit.state === 'pending' && r.text.length > 0);
  }

  /** Decides what has waited longer than the window: still-unseen runs make their unit hidden. */
  expire(now: number): void {
    for (const run of this.runs) {
      if (run.unit.state === 'pending' && now - run.unit.at >= this.windowMs) run.unit.state = 'hidden';
    }
    this.runs = this.runs.filter((r) => r.unit.state === 'pending');
  }

  private seen(run: Run): void {
    run.matched = 0;
    run.text = '';
    if (run.unit.state === 'pending' && --run.unit.waiting === 0) run.unit.state = 'visible';
  }
}
