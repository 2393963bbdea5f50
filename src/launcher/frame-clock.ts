/**
 * Session times for the encoder's frames. ffmpeg stamps each frame with its grab time counted
 * from the first grab (`ptsMs`); what is unknown is when, on our clock, that first grab was.
 * A frame leaves the encoder after it was grabbed, so `arrival − ptsMs` is never earlier than
 * that moment, and the smallest value seen is the closest bound. Counting from the first frame's
 * arrival instead put every later frame as far in the future as the first keyframe took to
 * encode — seconds on a loaded machine — and frames from before the session's end past it.
 */
export class FrameClock {
  private grabStart = Infinity;
  private first = true;

  /** `origin`: local time (ms) of the session's start, which video times count from. */
  constructor(private readonly origin: number) {}

  /**
   * The frame's time (ms from the session's start). The first frame is 0: it stands for the
   * screen since the session's start, so video time and event times line up.
   */
  stamp(ptsMs: number, arrivalMs: number): number {
    this.grabStart = Math.min(this.grabStart, arrivalMs - ptsMs);
    if (this.first) {
      this.first = false;
      return 0;
    }
    return Math.max(0, this.grabStart - this.origin + ptsMs);
  }
}
