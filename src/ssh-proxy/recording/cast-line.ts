import type { CastCode } from './cast-writer.ts';

/** Anything JSON must escape (quote, backslash, C0 controls) or may (surrogates: escaped when lone). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NEEDS_CARE = /["\\\u0000-\u001f\ud800-\udfff]/;
/**
 * Below this length a string is scanned by the regex and, when clean, quoted as is. Longer ones go
 * to JSON.stringify directly: V8's serializer scans and escapes a long string natively faster than
 * a regex scan plus a copy (measured: 64 KB of text ~0.4 ms either way, so no second scan).
 */
const SCAN_MAX = 256;

/**
 * One asciicast v2 event line, `[time, code, data]\n`, byte for byte what
 * `JSON.stringify([time, code, data]) + '\n'` gives — without building an array and running the
 * generic serializer for every event. Most events are short (a keystroke, its echo, a prompt):
 * those without anything to escape are quoted as they are (~4× faster per event); the rest take
 * JSON.stringify of the string alone, which escapes controls, quotes, backslashes and lone
 * surrogates (as \\udXXX) exactly as before. `time` is in seconds; `code` never needs escaping.
 */
export function castEventLine(seconds: number, code: CastCode, data: string): string {
  const quoted = data.length <= SCAN_MAX && !NEEDS_CARE.test(data) ? `"${data}"` : JSON.stringify(data);
  return `[${seconds},"${code}",${quoted}]\n`;
}
