import assert from 'node:assert/strict';
import { StringDecoder } from 'node:string_decoder';
import { describe, it } from 'node:test';
import { castEventLine } from './cast-line.ts';

const reference = (t: number, code: string, data: string) => `${JSON.stringify([t, code, data])}\n`;

describe('castEventLine', () => {
  it('parses back to exactly the same strings for hostile input, and matches JSON.stringify byte for byte', () => {
    const hostile = [
      '',
      'a',
      'plain text, nothing to escape',
      '"quoted" and \\back\\slashed\\',
      '\\"',
      '\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b[31mred\x1b[0m\x1f\x7f',
      'line\u2028separator\u2029paragraph', // valid in JSON, not escaped by JSON.stringify either
      'lone high \ud800 surrogate',
      'lone low \udc00 surrogate',
      'at the end \udbff',
      '\udfff at the start',
      'reversed pair \udc00\ud800',
      'a pair 😀 and a lone half \ud83d',
      '\ud83d\ud83d\ude00', // lone high followed by a pair
      'é ü 中文 \ufffd \uffff',
      `${'x'.repeat(300)}"${'y'.repeat(300)}\n`, // longer than the scanned length
      `${'clean '.repeat(100)}`,
      `${'\ud800'.repeat(200)}`,
    ];
    for (const data of hostile) {
      for (const [t, code] of [[0, 'o'], [1.234, 'i'], [86400.001, 'm'], [0.5, 'r']] as const) {
        const line = castEventLine(t, code, data);
        assert.equal(line, reference(t, code, data), `line for ${JSON.stringify(data)}`);
        assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line');
        assert.deepEqual(JSON.parse(line), [t, code, data]);
        // Through the bytes a chunk stores: a raw lone surrogate would come back as U+FFFD.
        assert.deepEqual(JSON.parse(Buffer.from(line).toString('utf8')), [t, code, data]);
      }
    }
  });

  it('keeps invalid UTF-8 split across reads as the decoder gives it (U+FFFD), and valid sequences split across reads intact', () => {
    const bytes = Buffer.concat([Buffer.from('ok '), Buffer.from([0xe2, 0x82]), Buffer.from([0xac]), Buffer.from(' bad '), Buffer.from([0xff, 0xc3]), Buffer.from([0x28]), Buffer.from(' surrogate-encoded '), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(' "q" \\ \x1b end'), Buffer.from([0xf0, 0x9f])]);
    for (const cut of [1, 2, 3, 5, 7]) {
      const decoder = new StringDecoder('utf8');
      const lines: string[] = [];
      const texts: string[] = [];
      for (let i = 0; i < bytes.length; i += cut) {
        const text = decoder.write(bytes.subarray(i, i + cut));
        texts.push(text);
        lines.push(castEventLine(i / 1000, 'o', text));
      }
      const rest = decoder.end();
      texts.push(rest);
      lines.push(castEventLine(1, 'o', rest));
      const parsed = lines.map((l) => (JSON.parse(l) as [number, string, string])[2]);
      assert.deepEqual(parsed, texts);
      assert.equal(parsed.join(''), bytes.toString('utf8'), `cut every ${cut} bytes`);
    }
  });
});
