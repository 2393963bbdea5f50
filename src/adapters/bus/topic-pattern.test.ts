import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { topicMatches } from './topic-pattern.ts';

describe('topicMatches (AMQP topic exchange rules)', () => {
  const cases: [pattern: string, topic: string, expected: boolean][] = [
    ['session.abc.control', 'session.abc.control', true],
    ['session.abc.control', 'session.abc.controls', false],
    ['session.*.control', 'session.abc.control', true],
    ['session.*.control', 'session.control', false],
    ['session.*.control', 'session.a.b.control', false],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['*', '', false],
    ['*.*', 'a.', true],
    ['#', '', true],
    ['#', 'a', true],
    ['#', 'a.b.c', true],
    ['session.#', 'session', true],
    ['session.#', 'session.a.b', true],
    ['session.#', 'sessions.a', false],
    ['#.control', 'control', true],
    ['#.control', 'x.y.control', true],
    ['#.control', 'x.y.controls', false],
    ['a.#.b', 'a.b', true],
    ['a.#.b', 'a.x.y.b', true],
    ['a.#.b', 'a.x', false],
    ['#.#', 'a.b', true],
    ['#.*', '', false],
    ['#.*', 'a', true],
    ['*.#.*', 'a', false],
    ['*.#.*', 'a.b', true],
    // Words are compared literally, never as regular expressions.
    ['a+.c', 'aa.c', false],
    ['a+.c', 'a+.c', true],
  ];
  for (const [pattern, topic, expected] of cases) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => {
      assert.equal(topicMatches(pattern, topic), expected);
    });
  }
});
