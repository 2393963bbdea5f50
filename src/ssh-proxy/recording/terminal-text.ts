/**
 * Terminal output to plain text for the search index: escape sequences (CSI, OSC, DCS, charset
 * selection) removed, CR LF and lone CR become LF, backspace erases, other control characters
 * dropped. A sequence cut by a chunk boundary may leave a few stray characters; the index is for
 * finding a session, the cast is the exact record.
 */
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1bO[A-Za-z]|\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[()*+][0-9A-Za-z]|\x1b[@-Z\\-_=>78]|\x9b[0-?]*[ -/]*[@-~]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

export function stripEscapes(s: string): string {
  return s.replace(ESCAPES, '');
}

export function terminalText(s: string): string {
  let text = stripEscapes(s).replace(/\r+\n/g, '\n').replace(/\r/g, '\n');
  if (text.includes('\b')) {
    let out = '';
    for (const ch of text) out = ch === '\b' ? out.slice(0, -1) : out + ch;
    text = out;
  }
  return text.replace(CONTROLS, '');
}

/** Keystrokes as searchable text: printable characters as typed, special keys as [NAME] tokens. */
export function keystrokeText(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\x1b') {
      const m = /^\x1b(?:\[[0-?]*[ -/]*[@-~]|O[A-Za-z]|.)?/.exec(s.slice(i))!; // eslint-disable-line no-control-regex
      out += `[${KEY_NAMES[m[0]] ?? 'ESC'}]`;
      i += Math.max(1, m[0].length);
      continue;
    }
    const code = c.charCodeAt(0);
    if (c === '\t') out += '[TAB]';
    else if (code === 0x7f || code === 0x08) out += '[BS]';
    else if (c === '\r' || c === '\n') out += '';
    else if (code < 0x20) out += `[^${String.fromCharCode(code + 64)}]`;
    else out += c;
    i += 1;
  }
  return out;
}

const KEY_NAMES: Record<string, string> = {
  '\x1b[A': 'UP', '\x1b[B': 'DOWN', '\x1b[C': 'RIGHT', '\x1b[D': 'LEFT',
  '\x1bOA': 'UP', '\x1bOB': 'DOWN', '\x1bOC': 'RIGHT', '\x1bOD': 'LEFT',
  '\x1b[H': 'HOME', '\x1b[F': 'END', '\x1bOH': 'HOME', '\x1bOF': 'END',
  '\x1b[1~': 'HOME', '\x1b[4~': 'END', '\x1b[2~': 'INS', '\x1b[3~': 'DEL', '\x1b[5~': 'PGUP', '\x1b[6~': 'PGDN',
};
