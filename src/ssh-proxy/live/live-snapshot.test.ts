import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TerminalModel } from '../recording/terminal-model.ts';
import { LiveOutput } from './live-output.ts';
import type { LiveMessage } from './live-topics.ts';

/** A viewer as the console's Watch Live is one: a snapshot redraws the screen, output is appended. */
function view(messages: LiveMessage[]): string {
  let screen = '';
  for (const m of messages) {
    if (m.type === 'snapshot') screen = m.data;
    else if (m.type === 'output') screen += Buffer.from(m.data, 'base64').toString();
  }
  return screen;
}

describe('Watch Live snapshot', () => {
  it('a snapshot includes output the emulator has not parsed yet, and not output written after it was asked for', async () => {
    const model = new TerminalModel(80, 24);
    try {
      model.write('first line\r\nalice@web:~$ ');
      const pending = model.snapshot();
      model.write('typed-later');
      const screen = await pending;
      assert.deepEqual([screen.cols, screen.rows], [80, 24]);
      assert.match(screen.data, /first line/);
      assert.match(screen.data, /alice@web:~\$ /);
      assert.doesNotMatch(screen.data, /typed-later/);
      assert.match((await model.snapshot()).data, /alice@web:~\$ typed-later/);
    } finally {
      model.dispose();
    }
  });

  it('a snapshot still waiting when the session ends gets the screen parsed so far, not a blank one', async () => {
    const model = new TerminalModel(80, 24);
    model.write('alice@web:~$ ls\r\n');
    await model.snapshot();
    model.write('x'.repeat(200_000));
    const pending = model.snapshot();
    model.dispose();
    assert.match((await pending).data, /alice@web:~\$ ls/);
    assert.equal((await model.snapshot()).data, '', 'after the end there is no screen');
  });

  it('output written while a snapshot is made goes out after it, so a viewer sees every byte once', async () => {
    const sent: LiveMessage[] = [];
    const live = new LiveOutput({ publish: async (_topic, m) => void sent.push(m as LiveMessage) }, 'session-1', () => 0, (err) => assert.fail(String(err)));
    live.write(Buffer.from('before '));
    const release = live.hold();
    assert.deepEqual(sent.map((m) => m.type), ['output'], 'what was written before the request is sent at once');
    live.write(Buffer.from('during '));
    await new Promise((r) => setTimeout(r, 120)); // past the 50 ms batching: still held back
    assert.equal(sent.length, 1);
    live.publish({ type: 'snapshot', at: 0, cols: 80, rows: 24, data: '[screen with before] ' });
    release();
    release(); // twice is once
    await new Promise((r) => setTimeout(r, 120));
    live.write(Buffer.from('after'));
    live.close('ended', null);
    assert.deepEqual(sent.map((m) => m.type), ['output', 'snapshot', 'output', 'output', 'end']);
    assert.deepEqual(sent.map((m) => m.seq), [0, 1, 2, 3, 4]);
    assert.equal(view(sent), '[screen with before] during after');
  });

  it('closing while a snapshot is being made still sends the output held back, before the end', () => {
    const sent: LiveMessage[] = [];
    const live = new LiveOutput({ publish: async (_topic, m) => void sent.push(m as LiveMessage) }, 'session-2', () => 0, (err) => assert.fail(String(err)));
    live.hold();
    live.write(Buffer.from('last words'));
    live.close('terminated', 'policy');
    assert.deepEqual(sent.map((m) => m.type), ['output', 'end']);
    assert.equal(view(sent), 'last words');
  });
});
