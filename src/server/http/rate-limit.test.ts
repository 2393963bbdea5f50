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

it('reports a key as exhausted only while its window is full', () => {
  let now = 0;
  const rl = new RateLimiter(2, 1000, () => now);
  assert.equal(rl.exhausted('a'), false);
  rl.hit('a');
  assert.equal(rl.exhausted('a'), false);
  rl.hit('a');
  assert.equal(rl.exhausted('a'), true);
  assert.equal(rl.exhausted('b'), false);
  now = 1000;
  assert.equal(rl.exhausted('a'), false);
});
