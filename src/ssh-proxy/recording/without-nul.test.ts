import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { withoutNul } from './session-recorder.ts';

/** The obvious definition, to compare against. */
const reference = (b: Buffer): Buffer => Buffer.from([...b].filter((x) => x !== 0));

describe('withoutNul', () => {
  it('returns the same buffer when there is no NUL, an empty one when all are NUL', () => {
    const text = Buffer.from('hello\r\n');
    assert.equal(withoutNul(text), text);
    assert.equal(withoutNul(Buffer.alloc(32 * 1024)).length, 0);
    assert.equal(withoutNul(Buffer.alloc(0)).length, 0);
  });

  it('drops NUL runs of every length and place, across the 4 KiB block edges', () => {
    const cases: Buffer[] = [
      Buffer.concat([Buffer.alloc(4096), Buffer.from('x')]),
      Buffer.concat([Buffer.alloc(4095), Buffer.from('ab'), Buffer.alloc(4097), Buffer.from('c')]),
      Buffer.concat([Buffer.from('a'), Buffer.alloc(8192), Buffer.from('b'), Buffer.alloc(3)]),
      Buffer.concat([Buffer.alloc(10_000), Buffer.from('tail')]),
    ];
    for (let i = 0; i < 50; i += 1) {
      // Random data with many zeros and long zero runs.
      const parts: Buffer[] = [];
      for (let k = 0; k < 20; k += 1) parts.push(Math.random() < 0.5 ? Buffer.alloc(Math.floor(Math.random() * 9000)) : randomBytes(Math.floor(Math.random() * 300)));
      cases.push(Buffer.concat(parts));
    }
    for (const c of cases) assert.deepEqual(withoutNul(c), reference(c));
  });
});
