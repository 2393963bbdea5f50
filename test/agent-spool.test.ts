import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { SessionSpool, SpoolBudget, type SpoolMeta } from '../src/agent/spool.ts';

const meta = (sessionId: string): SpoolMeta => ({ sessionId, uploadToken: 't', startedAt: 0, held: false, media: null, recordKeystrokes: false, loginKey: 'k', eventsAcked: 0, chunksAcked: 0, close: null });

describe('agent spool', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vigil-spool-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('keeps each pending event as the line it wrote, and a restart reads the same back', () => {
    const s = SessionSpool.create(root, meta('a'), new SpoolBudget(1 << 20));
    for (let i = 0; i < 3; i++) s.add({ at: i, type: 'process-start', text: `cmd ${i}\ttab`, details: { pid: i } });
    s.flush();
    s.add({ at: 9, type: 'process-stop', text: 'late' });
    s.flush();
    assert.deepEqual(s.pendingEvents(), [
      ...[0, 1, 2].map((i) => ({ seq: i, at: i, type: 'process-start', text: `cmd ${i}\ttab`, details: { pid: i } })),
      { seq: 3, at: 9, type: 'process-stop', text: 'late' },
    ]);
    assert.deepEqual(s.pendingEvents(2).map((e) => e.seq), [0, 1]);
    const again = SessionSpool.load(s.dir, new SpoolBudget(1 << 20));
    assert.deepEqual(again.pendingEvents(), s.pendingEvents());
    assert.deepEqual(again.pendingLines, s.pendingLines);
  });

  it('starts a fresh log once everything is acknowledged, and what follows lands in the new one', () => {
    const budget = new SpoolBudget(64 << 20);
    const s = SessionSpool.create(root, meta('b'), budget);
    const text = 'x'.repeat(500);
    for (let i = 0; i < 2500; i++) s.add({ at: i, type: 'process-start', text }); // > 1 MiB of log
    s.flush();
    s.ackEvents(2500);
    assert.equal(existsSync(path.join(s.dir, 'events.ndjson')), false, 'the acknowledged log is removed');
    s.add({ at: 1, type: 'process-start', text: 'after' });
    s.add({ at: 2, type: 'process-stop', text: 'after' });
    s.flush();
    const again = SessionSpool.load(s.dir, new SpoolBudget(64 << 20));
    assert.deepEqual(again.pendingEvents().map((e) => e.seq), [2500, 2501]);
    assert.equal(again.firstPendingSeq, 2500);
    assert.equal(budget.events, 2);
  });
});
