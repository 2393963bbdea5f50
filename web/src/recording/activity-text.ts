/**
 * Keystrokes and output carry control characters; shown as visible symbols so a row stays on one
 * line and an escape sequence cannot alter what follows it. The result is still only text.
 */
export function visibleText(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\r' || ch === '\n') out += '⏎';
    else if (ch === '\t') out += '⇥';
    else if (c === 0x1b) out += '⎋';
    else if (c === 0x7f || c === 0x08) out += '⌫';
    else if (c < 0x20) out += `^${String.fromCharCode(c + 64)}`;
    else if (c >= 0x80 && c < 0xa0) out += '�';
    else out += ch;
  }
  return out;
}
