import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EchoDetector } from './echo-detector.ts';

describe('EchoDetector', () => {
  it('sees typed text echoed, also after a prompt and split across chunks', () => {
    const d = new EchoDetector(500);
    const a = d.input('ls -la\r', 0);
    d.output('\x1b[01;32mvigil@host\x1b[0m:~$ ls -');
    assert.equal(a.state, 'pending');
    d.output('la\r\n');
    assert.equal(a.state, 'visible');
  });

  it('accepts text the shell inserts between typed runs (tab completion, backspace redraw)', () => {
    const d = new EchoDetector(500);
    const tab = d.input('ech\tvigil-tab\r', 0);
    d.output('echo vigil-tab\r\n');
    assert.equal(tab.state, 'visible');
    const bs = d.input('echo abcX\x7f-fixed\r', 0);
    d.output('echo abcX\b \b-fixed\r\n');
    assert.equal(bs.state, 'visible');
  });

  it('hides input that never comes back, without holding back later input', () => {
    const d = new EchoDetector(500);
    const secret = d.input('Zq9-xK7v\r', 0);
    d.output('\r\ngot-8\r\n$ ');
    const next = d.input('echo after\r', 100);
    d.output('echo after\r\nafter\r\n$ ');
    assert.equal(next.state, 'visible');
    d.expire(499);
    assert.equal(secret.state, 'pending');
    d.expire(500);
    assert.equal(secret.state, 'hidden');
  });

  it('does not take other output that merely shares characters for an echo', () => {
    const d = new EchoDetector(500);
    const secret = d.input('got123\r', 0);
    d.output('\r\ngot-8\r\nSorry, try again.\r\n');
    d.expire(600);
    assert.equal(secret.state, 'hidden');
    assert.equal(d.input('\x1b[A', 700).state, 'visible', 'keys without text need no echo');
  });
});
