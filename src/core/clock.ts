/** Time source injected everywhere time matters, so tests can drive retention and expiry. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
