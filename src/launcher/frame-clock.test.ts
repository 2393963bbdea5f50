import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameClock } from './frame-clock.ts';

describe('FrameClock', () => {
  const origin = 1_000_000;

  it('stamps the first frame 0 and later frames by their grab time stamps', () => {
    const clock = new FrameClock(origin);
    // The first grab 300 ms after the session's start; each frame arrives 40 ms after its grab.
    assert.equal(clock.stamp(0, origin + 340), 0);
    assert.equal(clock.stamp(1000, origin + 1340), 1340);
    assert.equal(clock.stamp(5000, origin + 5340), 5340);
  });

  it('does not put frames in the future when the first keyframe was slow to encode', () => {
    const clock = new FrameClock(origin);
    // Grabbed at +300 ms but out of the encoder 2.5 s later; the next frames take 50 ms.
    assert.equal(clock.stamp(0, origin + 2800), 0);
    const t1 = clock.stamp(3000, origin + 3350);
    assert.equal(t1, 3350, 'a frame is never stamped later than it arrived');
    assert.equal(clock.stamp(4000, origin + 4350), 4350);
    // A later slow frame does not move the others back into the future.
    assert.equal(clock.stamp(5000, origin + 7000), 5350);
  });
});
