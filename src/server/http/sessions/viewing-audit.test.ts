import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditService } from '../../../core/audit/audit.service.ts';
import { VIEWING_WINDOW_MS, ViewingAudit } from './viewing-audit.ts';

function fakeAudit(fail = () => false) {
  const entries: Array<{ action: string; actor: { id: string | null; ip?: string | null; via?: string } }> = [];
  const audit = {
    record: async (e: (typeof entries)[number]) => {
      await new Promise((r) => setTimeout(r, 5));
      if (fail()) throw new Error('database away');
      entries.push(e);
    },
  } as unknown as AuditService;
  return { audit, entries };
}

describe('ViewingAudit', () => {
  it('one entry per viewing: per person, sign-in, address, recording, format and action, again after the window', async () => {
    let now = 1_000_000;
    const { audit, entries } = fakeAudit();
    const v = new ViewingAudit(audit, () => now);
    const alice = { id: 'u1', name: 'alice', ip: '192.0.2.1', via: 'cookie' as const };
    await Promise.all([v.record(alice, 'recording.view', 's1', { format: 'cast' }), v.record(alice, 'recording.view', 's1', { format: 'cast' })]);
    assert.equal(entries.length, 1, 'a player\'s concurrent requests make one entry');
    await v.record(alice, 'recording.view', 's1', { format: 'cast' });
    assert.equal(entries.length, 1);
    await v.record({ ...alice, via: 'api-token' as const, ip: '198.51.100.9' }, 'recording.view', 's1', { format: 'cast' });
    await v.record(alice, 'recording.download', 's1', { format: 'cast' });
    await v.record(alice, 'recording.view', 's1', { format: 'mp4' });
    await v.record(alice, 'recording.view', 's2', { format: 'cast' });
    assert.equal(entries.length, 5, 'an API token from another address, a download, another format, another recording');
    now += VIEWING_WINDOW_MS;
    await v.record(alice, 'recording.view', 's1', { format: 'cast' });
    assert.equal(entries.length, 6, 'a new viewing after the window');
  });

  it('serves nothing unaudited: when the entry cannot be written every waiting request fails, and the next one writes it', async () => {
    let down = true;
    const { audit, entries } = fakeAudit(() => down);
    const v = new ViewingAudit(audit);
    const bob = { id: 'u2', name: 'bob', ip: '192.0.2.2' };
    const results = await Promise.allSettled([v.record(bob, 'recording.download', 's1', { format: 'webm' }), v.record(bob, 'recording.download', 's1', { format: 'webm' })]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    down = false;
    await v.record(bob, 'recording.download', 's1', { format: 'webm' });
    assert.equal(entries.length, 1);
  });
});
