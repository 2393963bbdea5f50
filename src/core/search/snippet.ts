/** Length of a hit's snippet, in UTF-16 units, not counting the ellipses. */
export const SNIPPET_LENGTH = 80;

// Control characters (newlines, tabs, terminal escapes) become spaces, one for one, so match
// offsets stay valid and the snippet stays on one line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g; // eslint-disable-line no-control-regex

/**
 * About SNIPPET_LENGTH characters of `text` around the first case-insensitive occurrence of `q`,
 * as plain text (the console escapes it when rendering; nothing here is HTML). Falls back to the
 * start of the text when `q` cannot be located (e.g. a case folding the database does differently).
 */
export function snippet(text: string, q: string): string {
  const flat = text.replace(CONTROL, ' ');
  const idx = q ? flat.toLowerCase().indexOf(q.toLowerCase()) : -1;
  const width = Math.max(SNIPPET_LENGTH, q.length);
  let start = idx < 0 ? 0 : Math.max(0, idx - Math.floor((width - q.length) / 2));
  let end = Math.min(flat.length, start + width);
  start = Math.max(0, end - width);
  // Never cut a surrogate pair in half.
  if (start > 0 && isLowSurrogate(flat.charCodeAt(start))) start--;
  if (end < flat.length && isLowSurrogate(flat.charCodeAt(end))) end++;
  return `${start > 0 ? '…' : ''}${flat.slice(start, end).trim()}${end < flat.length ? '…' : ''}`;
}

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;
