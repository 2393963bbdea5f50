import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RateLimiter } from './rate-limit.ts';

it('allows max hits per window per key, then refuses until the window turns', () => {
  let now = 0;
  const rl = new RateLimiter(3, 1000, () => now);
  assert.deepEqual([rl.hit('a'), rl.hit('a'), rl.hit('a'), rl.hit('a')], [true, true, true, false]);
  assert.equal(rl.hit('b'), true);
  now = 1000;
  assert.equal(rl.hit('a'), true);
});
