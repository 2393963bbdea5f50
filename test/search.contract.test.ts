import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../src/adapters/store/store.ts';
import { sql, type RawBuilder } from 'kysely';
import { newId } from '../src/core/ids.ts';
import { ActivityService, type ActivityItem, type KeystrokeSegmentItem } from '../src/core/search/activity.ts';
import { metadataIndexed, sessionWhere, trigramDriver } from '../src/core/search/search-sql.ts';
import { SessionSearch, type SearchQuery, type SessionSearchPage } from '../src/core/search/session-search.ts';
import { appendSessionText, fillSessionText, SEGMENT_EVENTS } from '../src/core/search/session-text.ts';
import type { SessionScope } from '../src/core/sessions/session-access.ts';
import type { SearchSource } from '../src/protocol/sessions.ts';
import { storeFixtures } from './helpers/stores.ts';

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;
const ALL: SessionScope = { all: true };
const SECRET_A = newId();
const SECRET_B = newId();
/** A session the index-maintenance test adds and removes again; one id for both dialects. */
const EXTRA = newId();
/** The session the rollup test adds and removes. */
const ROLLED = newId();

type Ev = { at: number; type: string; text: string; source?: string; details?: Record<string, unknown> };
interface SeedSession {
  key: string;
  kind: 'ssh' | 'desktop' | 'host';
  status: 'active' | 'ended' | 'terminated' | 'interrupted';
  user: string;
  secret: { id: string; name: string } | null;
  host: string;
  targetUser: string;
  client: string | null;
  startedAt: number;
  durationMs: number | null;
  source: string;
  events: Ev[];
}

const FILLERS = 25;
const SESSIONS: SeedSession[] = [
  {
    key: 's1', kind: 'ssh', status: 'ended', user: 'alice', secret: { id: SECRET_A, name: 'db-prod' }, host: 'db1.example.com', targetUser: 'root', client: '10.0.0.5',
    startedAt: T0 + HOUR, durationMs: 600_000, source: 'proxy',
    events: [
      { at: 61_500, type: 'keystrokes', text: 'cd /tmp && sudo rm -rf /var/log/old && ls' },
      { at: 125_000, type: 'command', text: 'passwd bob' },
      { at: 126_000, type: 'output', text: 'Changing password for bob.\r\nNew password: ' },
      { at: 130_000, type: 'output', text: 'echo <img src=x onerror=alert(1)> > /tmp/x.html' },
      { at: 131_000, type: 'output', text: 'progress 100%_\\ done' },
      { at: 132_000, type: 'output', text: 'she said "hello" twice' },
    ],
  },
  {
    key: 's2', kind: 'host', status: 'active', user: 'bob', secret: null, host: 'ws7.corp', targetUser: 'bob', client: null,
    startedAt: T0 + 2 * HOUR, durationMs: null, source: 'agent',
    events: [
      { at: 5_000, type: 'keystrokes', text: 'vim /etc/PASSWD.bak' },
      { at: 10_000, type: 'process-start', text: '/usr/bin/firefox --new-window', details: { path: '/usr/bin/firefox', pid: 4242 } },
      { at: 20_000, type: 'window', text: 'Grafana - Mozilla Firefox' },
      { at: 21_000, type: 'command', text: 'echo xZqx' },
    ],
  },
  {
    key: 's3', kind: 'desktop', status: 'terminated', user: 'carol', secret: { id: SECRET_B, name: 'win-jump' }, host: 'jump.example.com', targetUser: 'CORP\\Administrator', client: '192.168.1.9',
    startedAt: T0 - 2 * 86_400_000, durationMs: 3_600_000, source: 'agent',
    events: [
      { at: 1_000, type: 'screen-change', text: '', source: 'launcher', details: { magnitude: 0.4 } },
      { at: 2_000, type: 'window', text: 'Event Viewer' },
      { at: 3_000, type: 'process-stop', text: 'C:\\Windows\\regedit.exe' },
      { at: 4_000, type: 'output', text: 'error: disk full on C:' },
    ],
  },
  {
    key: 's4', kind: 'ssh', status: 'interrupted', user: 'alice', secret: { id: SECRET_B, name: 'win-jump' }, host: 'legacy.example.com', targetUser: 'root', client: '10.0.0.6',
    startedAt: T0 - 10 * 86_400_000, durationMs: 60_000, source: 'proxy', events: [],
  },
  {
    key: 'grid', kind: 'ssh', status: 'ended', user: 'dave', secret: { id: SECRET_A, name: 'db-prod' }, host: 'db2.example.com', targetUser: 'root', client: '10.0.0.7',
    startedAt: T0 - 20 * 86_400_000, durationMs: 180_000, source: 'proxy',
    events: [
      { at: 1_000, type: 'keystrokes', text: 'su' },
      { at: 2_000, type: 'keystrokes', text: 'do rm' },
      { at: 3_000, type: 'output', text: 'x' },
      { at: 4_000, type: 'keystrokes', text: ' -rf /' },
      { at: 10_000, type: 'process-start', text: '/usr/bin/rm' },
      { at: 61_000, type: 'keystrokes', text: 'ls' },
      { at: 61_500, type: 'command', text: 'ls' },
      { at: 62_000, type: 'keystrokes', text: 'agentkeys', source: 'agent' },
      { at: 125_000, type: 'keystrokes', text: 'passwd' },
      { at: 130_000, type: 'output', text: 'done' },
      { at: 150_000, type: 'screen-change', text: '', source: 'launcher' },
    ],
  },
  ...Array.from({ length: FILLERS }, (_, i): SeedSession => ({
    key: `f${i}`, kind: 'ssh', status: 'ended', user: `filler${i % 3}`, secret: { id: SECRET_A, name: 'db-prod' }, host: `app${i}.example.com`, targetUser: 'deploy', client: '10.1.0.1',
    // Two fillers share a start time, so paging must break ties on the id.
    startedAt: T0 - 30 * 86_400_000 - (i === 5 ? 4 : i) * 60_000, durationMs: 120_000, source: 'proxy',
    events: [
      { at: 1_000 + i, type: 'output', text: `build ${i} finished: needle-${i % 2 === 0 ? 'even' : 'odd'}` },
      { at: 2_000, type: 'keystrokes', text: 'ls -la' },
    ],
  })),
];

/** The same ids on both dialects, so their answers can be compared byte for byte. */
const IDS = new Map(SESSIONS.map((s) => [s.key, newId()]));

async function seed(store: Store): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const s of SESSIONS) {
    const id = IDS.get(s.key)!;
    ids.set(s.key, id);
    const ended = s.durationMs === null ? null : s.startedAt + s.durationMs;
    await store.db.insertInto('sessions').values({
      id, kind: s.kind, status: s.status, user_id: null, username: s.user, secret_id: s.secret?.id ?? null, secret_name: s.secret?.name ?? null,
      target_host: s.host, target_user: s.targetUser, client_address: s.client, component: s.kind === 'host' ? 'agent' : 'ssh-proxy', node_id: null,
      started_at: s.startedAt, ended_at: ended, last_activity_at: ended ?? s.startedAt, last_heartbeat_at: ended ?? s.startedAt, end_reason: null, ended_by: null,
      record_video: 1, record_keystrokes: 1, media: null, recording_state: 'complete', storage: 'database', chunk_count: 0, bytes: 0, chain_head: null,
      duration_ms: s.durationMs, processing_state: null, processing_progress: null, processing_error: null, archived_at: null, deleted_at: null,
    }).execute();
    const seqs = new Map<string, number>();
    const rows = s.events.map((e) => {
      const source = e.source ?? s.source;
      const seq = seqs.get(source) ?? 0;
      seqs.set(source, seq + 1);
      return { session_id: id, source, seq, at_ms: e.at, type: e.type, text: e.text, details: e.details ? JSON.stringify(e.details) : null };
    });
    // As ingest stores them: the events and, in the same transaction, their search text rollup.
    await store.db.transaction().execute(async (tx) => {
      for (const r of rows) await tx.insertInto('activity_events').values(r).execute();
      await appendSessionText(tx, store.dialect, rows);
    });
  }
  return ids;
}

/** One ended, one-second session outside the seeded ones, for the tests that add and remove their own. */
async function addSession(store: Store, id: string, o: { username: string; target_host: string; started_at: number; kind?: 'ssh' | 'host'; component?: string }): Promise<void> {
  await store.db.insertInto('sessions').values({
    id, kind: o.kind ?? 'ssh', status: 'ended', user_id: null, username: o.username, secret_id: null, secret_name: null,
    target_host: o.target_host, target_user: 'root', client_address: null, component: o.component ?? 'ssh-proxy', node_id: null,
    started_at: o.started_at, ended_at: o.started_at + 1000, last_activity_at: 0, last_heartbeat_at: 0, end_reason: null, ended_by: null,
    record_video: 1, record_keystrokes: 1, media: null, recording_state: 'complete', storage: 'database', chunk_count: 0, bytes: 0, chain_head: null,
    duration_ms: 1000, processing_state: null, processing_progress: null, processing_error: null, archived_at: null, deleted_at: null,
  }).execute();
}

/** Every answer, in order, per dialect: the last suite compares them. */
const transcripts: Record<string, string[]> = {};

for (const fx of storeFixtures()) {
  describe(`session search and activity on ${fx.name}`, () => {
    let store: Store;
    let search: SessionSearch;
    let activity: ActivityService;
    let ids: Map<string, string>;
    let keyOf: Map<string, string>;
    const transcript: string[] = (transcripts[fx.name] = []);
    const record = <T>(label: string, value: T): T => {
      transcript.push(`${label} => ${JSON.stringify(value)}`);
      return value;
    };

    before(async () => {
      store = await fx.open();
      ids = await seed(store);
      keyOf = new Map([...ids].map(([k, v]) => [v, k]));
      search = new SessionSearch(store);
      activity = new ActivityService(store, { now: () => T0 + 3 * HOUR });
    });
    after(async () => {
      await store?.close();
      await fx.cleanup();
    });

    const run = async (query: Partial<SearchQuery>, scope: SessionScope = ALL, s: SessionSearch = search): Promise<SessionSearchPage> => {
      return record(JSON.stringify({ query, scope }), await s.search(scope, { limit: 50, ...query }));
    };
    const keys = (page: SessionSearchPage) => page.items.map((i) => keyOf.get(i.id));
    const find = async (q: string, inList?: SearchSource[]) => keys(await run({ q, ...(inList ? { in: inList } : {}) }));
    // Newest first; f4 and f5 start at the same time, so the larger id comes first.
    const fillers = (pred: (i: number) => boolean = () => true) =>
      Array.from({ length: FILLERS }, (_, i) => i)
        .filter(pred)
        .sort((a, b) => (a === 5 ? 4 : a) - (b === 5 ? 4 : b) || (IDS.get(`f${b}`)! < IDS.get(`f${a}`)! ? -1 : 1))
        .map((i) => `f${i}`);

    describe('substring matching', () => {
      it('finds `rm -rf /var` inside a longer keystroke line, with the exact offset and a snippet', async () => {
        const page = await run({ q: 'rm -rf /var' });
        assert.deepEqual(keys(page), ['s1']);
        const [hit, ...rest] = page.items[0]!.hits;
        assert.equal(rest.length, 0);
        assert.equal(hit!.type, 'keystrokes');
        assert.equal(hit!.source, 'proxy');
        assert.equal(hit!.at, 61_500);
        assert.equal(typeof hit!.eventId, 'number');
        assert.ok(hit!.snippet.includes('sudo rm -rf /var/log/old'), hit!.snippet);
        assert.equal(page.nextCursor, null);
        assert.equal(page.items[0]!.status, 'ended');
        assert.equal(page.items[0]!.secret.name, 'db-prod');
      });

      it('finds `passwd` inside a command and, case-insensitively, inside agent keystrokes', async () => {
        const page = await run({ q: 'passwd' });
        assert.deepEqual(keys(page), ['s2', 's1', 'grid']);
        assert.deepEqual(page.items[1]!.hits.map((h) => [h.type, h.at]), [['command', 125_000]]);
        assert.deepEqual(page.items[0]!.hits.map((h) => [h.type, h.source, h.at]), [['keystrokes', 'agent', 5_000]]);
        assert.deepEqual(await find('PassWD'), ['s2', 's1', 'grid']);
      });

      it('matches one- and two-character queries without the trigram index', async () => {
        assert.deepEqual(await find('zQ'), ['s2']);
        const pct = await run({ q: '%' });
        assert.deepEqual(keys(pct), ['s1']);
        assert.equal(pct.items[0]!.hits[0]!.at, 131_000);
      });

      it('takes hostile text literally and returns it as plain text', async () => {
        const page = await run({ q: '<img src=x onerror=alert(1)>' });
        assert.deepEqual(keys(page), ['s1']);
        assert.ok(page.items[0]!.hits[0]!.snippet.includes('echo <img src=x onerror=alert(1)> > /tmp/x.html'));
        assert.deepEqual(await find('%_\\'), ['s1']);
        assert.deepEqual(await find('0%_'), ['s1']);
        assert.deepEqual(await find('_\\ d'), ['s1']);
        assert.deepEqual(await find('a%b'), []);
        assert.deepEqual(await find('"hello"'), ['s1']);
        assert.deepEqual(await find('"hello" "twice"'), []);
        assert.deepEqual(await find('needle-*'), []);
      });

      it('gives at most five hits per session, in time order, metadata first', async () => {
        const page = await run({ q: 'o', in: ['output', 'metadata'] });
        const s1 = page.items.find((i) => keyOf.get(i.id) === 's1')!;
        assert.equal(s1.hits.length, 5);
        assert.deepEqual(s1.hits.map((h) => h.source), ['metadata', 'metadata', 'metadata', 'proxy', 'proxy']);
        assert.deepEqual(s1.hits.slice(0, 3).map((h) => [h.type, h.at, h.eventId]), [['secret', 0, null], ['host', 0, null], ['target-user', 0, null]]);
        assert.deepEqual(s1.hits.slice(3).map((h) => h.at), [126_000, 130_000]);
      });

      it('cuts snippets to about 80 characters around the match, on one line', async () => {
        const page = await run({ q: 'new password' });
        const snip = page.items[0]!.hits[0]!.snippet;
        assert.ok(snip.length <= 82, snip);
        assert.ok(!/[\r\n]/.test(snip), snip);
        assert.ok(snip.includes('New password'), snip);
      });
    });

    describe('data sources', () => {
      it('separates proxy keystrokes from agent keystrokes', async () => {
        assert.deepEqual(await find('rm -rf', ['proxy-keystrokes']), ['s1']);
        assert.deepEqual(await find('rm -rf', ['agent-keystrokes']), []);
        assert.deepEqual(await find('vim', ['agent-keystrokes']), ['s2']);
        assert.deepEqual(await find('vim', ['proxy-keystrokes']), []);
        assert.deepEqual(await find('passwd', ['proxy-keystrokes']), ['s1', 'grid']);
      });

      it('searches applications (processes and windows) and output separately', async () => {
        assert.deepEqual(await find('firefox', ['applications']), ['s2']);
        const page = await run({ q: 'firefox', in: ['applications'] });
        assert.deepEqual(page.items[0]!.hits.map((h) => [h.type, h.at]), [['process-start', 10_000], ['window', 20_000]]);
        assert.deepEqual(await find('regedit', ['applications']), ['s3']);
        assert.deepEqual(await find('firefox', ['output']), []);
        assert.deepEqual(await find('disk full', ['output']), ['s3']);
        assert.deepEqual(await find('disk full', ['applications', 'proxy-keystrokes']), []);
      });

      it('searches metadata: host, user, secret and client address', async () => {
        const host = await run({ q: 'DB1.example', in: ['metadata'] });
        assert.deepEqual(keys(host), ['s1']);
        assert.deepEqual(host.items[0]!.hits, [{ type: 'host', source: 'metadata', snippet: 'db1.example.com', at: 0, eventId: null }]);
        assert.deepEqual(await find('carol', ['metadata']), ['s3']);
        assert.deepEqual(await find('win-jump', ['metadata']), ['s3', 's4']);
        assert.deepEqual(await find('10.0.0.', ['metadata']), ['s1', 's4', 'grid']);
        assert.deepEqual(await find('carol', ['output']), []);
        assert.deepEqual(await find('ws7'), ['s2']);
      });
    });

    describe('filters', () => {
      it('filters by user (exact, case-insensitive), secret, host and kind', async () => {
        assert.deepEqual(keys(await run({ user: 'ALICE' })), ['s1', 's4']);
        assert.deepEqual(keys(await run({ user: 'ali' })), []);
        assert.deepEqual(keys(await run({ secret: 'Win-Jump' })), ['s3', 's4']);
        assert.deepEqual(keys(await run({ host: 'WS7.corp' })), ['s2']);
        assert.deepEqual(keys(await run({ kind: 'desktop' })), ['s3']);
        assert.deepEqual(keys(await run({ q: 'passwd', user: 'alice' })), ['s1']);
        assert.deepEqual(keys(await run({ q: 'ls', kind: 'host' })), []);
      });

      it('filters by status, where `ended` means not active', async () => {
        assert.deepEqual(keys(await run({ status: 'active' })), ['s2']);
        assert.deepEqual(keys(await run({ status: 'terminated' })), ['s3']);
        assert.deepEqual(keys(await run({ status: 'interrupted' })), ['s4']);
        const ended = keys(await run({ status: 'ended' }));
        assert.deepEqual(ended, ['s1', 's3', 's4', 'grid', ...fillers()]);
      });

      it('filters by start time, both ends inclusive', async () => {
        assert.deepEqual(keys(await run({ from: T0 - 3 * 86_400_000, to: T0 + HOUR })), ['s1', 's3']);
        assert.deepEqual(keys(await run({ from: T0 + HOUR + 1 })), ['s2']);
        assert.deepEqual(keys(await run({ q: 'passwd', to: T0 })), ['grid']);
      });
    });

    describe('paging and permissions', () => {
      it('pages through every matching session exactly once, newest first', async () => {
        for (const limit of [1, 4, 7, 50]) {
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await run({ q: 'needle-', limit, ...(cursor ? { cursor } : {}) });
            assert.ok(page.items.length <= limit);
            seen.push(...keys(page).map(String));
            cursor = page.nextCursor ?? undefined;
            assert.ok(++pages <= FILLERS + 1, 'paging does not end');
          } while (cursor);
          assert.deepEqual(seen, fillers(), `limit ${limit}`);
        }
        const all: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await run({ limit: 3, ...(cursor ? { cursor } : {}) });
          all.push(...keys(page).map(String));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        assert.equal(all.length, SESSIONS.length);
        assert.equal(new Set(all).size, SESSIONS.length);
      });

      it('gives the same sessions when the index cap and the walk budget are tiny', async () => {
        // Forces the "common term" walk with partial pages, on both dialects.
        const tiny = new SessionSearch(store, { indexCap: 3, walkBudget: 4, probeBudget: 2 });
        for (const [q, expected] of [['needle-even', fillers((i) => i % 2 === 0)], ['ls', ['s1', 'grid', ...fillers()]], ['passwd', ['s2', 's1', 'grid']]] as const) {
          const seen: string[] = [];
          let cursor: string | undefined;
          let partial = false;
          do {
            const page = await run({ q, limit: 3, ...(cursor ? { cursor } : {}) }, ALL, tiny);
            if (page.items.length < 3 && page.nextCursor) partial = true;
            seen.push(...keys(page).map(String));
            for (const item of page.items) assert.ok(item.hits.length > 0);
            cursor = page.nextCursor ?? undefined;
          } while (cursor);
          assert.deepEqual(seen, expected, q);
          if (q === 'needle-even') assert.ok(partial, 'expected a partial page from the bounded walk');
        }
      });

      it('shows only sessions of the secrets in scope', async () => {
        const scope: SessionScope = { all: false, secretIds: [SECRET_B] };
        assert.deepEqual(keys(await run({}, scope)), ['s3', 's4']);
        assert.deepEqual(keys(await run({ q: 'passwd' }, scope)), []);
        assert.deepEqual(keys(await run({ q: 'win-jump' }, scope)), ['s3', 's4']);
        assert.deepEqual(keys(await run({ q: 'passwd' }, { all: false, secretIds: [SECRET_A] })), ['s1', 'grid']);
        assert.deepEqual(await run({ q: 'passwd' }, { all: false, secretIds: [] }), { items: [], nextCursor: null });
      });

      it('refuses a cursor it did not issue', async () => {
        await assert.rejects(search.search(ALL, { limit: 5, cursor: 'garbage' }), (err: Error & { details?: { field?: string } }) => err.details?.field === 'cursor');
      });
    });

    describe('search indexes (migration 0004) and the paths that use them', () => {
      it('answers metadata queries alike through the metadata index and, past its cap, the scan', async () => {
        const tiny = new SessionSearch(store, { indexCap: 3 });
        for (const [q, inList] of [['example', ['metadata']], ['example', undefined], ['db-prod', ['metadata']], ['10.0.0.', ['metadata']], ['carol', undefined]] as const) {
          const query = { q, ...(inList ? { in: [...inList] } : {}) };
          const exact = keys(await run(query));
          assert.deepEqual(keys(await run(query, ALL, tiny)), exact, q);
          assert.ok(exact.length > 0, q);
        }
        assert.equal(keys(await run({ q: 'example', in: ['metadata'] })).length, SESSIONS.length - 1);
      });

      it('keeps the metadata index in step with inserts, updates and deletes, folding ASCII case only', async () => {
        const id = EXTRA;
        const found = async (q: string) => (await run({ q, in: ['metadata'] })).items.filter((i) => i.id === id).length;
        await addSession(store, id, { username: 'Émile.Zola', target_host: 'Ünïcode.example.org', started_at: T0 - 100 * 86_400_000 });
        try {
          assert.equal(await found('Émile.Z'), 1);
          assert.equal(await found('ÉMILE.zola'), 1);
          // Like the scan predicate on both dialects: letters outside ASCII match case-sensitively.
          assert.equal(await found('émile'), 0);
          assert.equal(await found('ÜNÏcode'), 0);
          assert.equal(await found('Ünïcode.EXAMPLE'), 1);
          await store.db.updateTable('sessions').set({ username: 'gustave.flaubert' }).where('id', '=', id).execute();
          assert.equal(await found('flaubert'), 1);
          assert.equal(await found('zola'), 0);
          assert.equal(await found('cOde.exa'), 1);
        } finally {
          await store.db.deleteFrom('sessions').where('id', '=', id).execute();
        }
        assert.equal(await found('flaubert'), 0);
        if (store.dialect === 'sqlite') {
          const left = await sql<{ n: number }>`SELECT count(*) AS n FROM session_search WHERE session_id = ${id}`.execute(store.db);
          assert.equal(left.rows[0]!.n, 0);
        }
      });

      it('rolls up event text per session as ingest stores it, equal to the backfill, and walks it like the events', async () => {
        const id = ROLLED;
        const rollup = async () => {
          const r = await store.db.selectFrom('session_text').select(['session_id', 'cls', 'seg', 'text']).orderBy('session_id').orderBy('cls').orderBy('seg').execute();
          return r.map((x) => [x.session_id, x.cls, Number(x.seg), x.text.split('\u0001').sort()]);
        };
        await addSession(store, id, { kind: 'host', username: 'zed', target_host: 'roll.example.org', component: 'agent', started_at: T0 - 200 * 86_400_000 });
        try {
          // Two segments of agent keystrokes, non-ASCII capitals (folded by neither side), an event of no class.
          const rows = [
            ...Array.from({ length: SEGMENT_EVENTS + 2 }, (_, seq) => ({ session_id: id, source: 'agent', seq, at_ms: seq, type: 'keystrokes', text: seq === SEGMENT_EVENTS + 1 ? 'ÉCOLE Rollup-Tail' : `k${seq}` })),
            { session_id: id, source: 'server', seq: 0, at_ms: 5, type: 'message', text: 'Maintenance at NOON', details: null },
          ].map((r) => ({ details: null, ...r }));
          await store.db.transaction().execute(async (tx) => {
            for (const r of rows) await tx.insertInto('activity_events').values(r).execute();
            await appendSessionText(tx, store.dialect, rows.slice(0, 40));
            await appendSessionText(tx, store.dialect, rows.slice(40));
          });
          const appended = await rollup();
          const mine = appended.filter((r) => r[0] === id).map((r) => [r[1], r[2], (r[3] as string[]).length]);
          assert.deepEqual(mine, [['ak', 0, SEGMENT_EVENTS], ['ak', 1, 2], ['etc', 0, 1]]);
          assert.ok(appended.some((r) => r[0] === id && (r[3] as string[]).includes('École rollup-tail')), 'ASCII letters folded, others kept');
          // What a server upgrade's backfill (migration 0008) computes from the same events.
          await store.db.deleteFrom('session_text').execute();
          await fillSessionText(store.db, store.dialect);
          assert.deepEqual(await rollup(), appended);
          // A walk (tiny cap) reads the rollup and answers like the index path and the events.
          const tiny = new SessionSearch(store, { indexCap: 0, walkBudget: 100, probeBudget: 0 });
          for (const [q, inList, expected] of [
            ['rollup-TAIL', ['agent-keystrokes'], 1], ['ÉCOLE', undefined, 1], ['école', undefined, 0], ['noon', undefined, 1], ['noon', ['output', 'applications'], 0], ['k12', ['proxy-keystrokes'], 0],
            ['PASSWD', ['agent-keystrokes'], 0],
          ] as const) {
            const query = { q, ...(inList ? { in: [...inList] as SearchSource[] } : {}) };
            const walked = await run(query, ALL, tiny);
            assert.equal(walked.items.filter((i) => i.id === id).length, expected, `${q} in ${String(inList)}`);
            assert.deepEqual(keys(walked), keys(await run(query)), `${q}: walk and index agree`);
          }
          assert.deepEqual(keys(await run({ q: 'passwd', in: ['agent-keystrokes'] }, ALL, tiny)), ['s2']);
        } finally {
          await store.db.deleteFrom('sessions').where('id', '=', id).execute();
        }
        assert.equal((await store.db.selectFrom('session_text').select('cls').where('session_id', '=', id).execute()).length, 0, 'rows go with their session');
      });

      it('drives the PostgreSQL trigram index with a looser pattern and re-checks every candidate', async () => {
        assert.deepEqual(await find('build-3'), []);
        assert.deepEqual(await find('d 3 finished: needle'), ['f3']);
        assert.deepEqual(await find('d: NEEDLE-od'), fillers((i) => i % 2 === 1));
        assert.deepEqual(await find('needle-even finished'), []);
        // The cap counts events that truly match, not the looser pattern's candidates: 13 of 25 here.
        const tiny = new SessionSearch(store, { indexCap: 2 });
        assert.deepEqual(keys(await run({ q: 'hed: needle-' }, ALL, tiny)).slice(0, 4), fillers().slice(0, 4));
        assert.deepEqual(keys(await run({ q: 'ed: needle-even', in: ['output'] }, ALL, new SessionSearch(store, { indexCap: 13 }))), fillers((i) => i % 2 === 0));
      });

      it('gives the same pages whichever order PostgreSQL asks the index and walks', async () => {
        // probeBudget 8 reaches 3 `needle-` fillers: 3/8 of 30 sessions ≈ 11 matching, over twice
        // indexCap 5, so PostgreSQL walks on before it asks the index.
        const pages = async (s: SessionSearch, query: Partial<SearchQuery>) => {
          const seen: string[] = [];
          let cursor: string | undefined;
          let partial = false;
          do {
            const page = await run({ ...query, ...(cursor ? { cursor } : {}) }, ALL, s);
            if (page.items.length < (query.limit ?? 50) && page.nextCursor) partial = true;
            seen.push(...keys(page).map(String));
            cursor = page.nextCursor ?? undefined;
          } while (cursor);
          return { seen, partial };
        };
        const walked = await pages(new SessionSearch(store, { indexCap: 5, walkBudget: 10, probeBudget: 8 }), { q: 'needle-', limit: 30 });
        assert.deepEqual(walked, { seen: fillers(), partial: true });
        // A probe as large as the walk budget leaves nothing more to walk.
        assert.deepEqual((await pages(new SessionSearch(store, { indexCap: 5, walkBudget: 8, probeBudget: 8 }), { q: 'needle-', limit: 30 })).seen, fillers());
        // filler1's sessions all match `filler1` (metadata, no event): 3 of 3 probed ≈ 30 sessions,
        // so PostgreSQL walks first; the page stays partial and the index (0 events, metadata past
        // its cap of 5) then answers it exactly, like SQLite's index does straight away.
        const exact = await pages(new SessionSearch(store, { indexCap: 5, walkBudget: 6, probeBudget: 8, filteredProbeBudget: 3 }), { q: 'filler1', user: 'FILLER1', limit: 7 });
        assert.deepEqual(exact, { seen: fillers((i) => i % 3 === 1), partial: false });
        const paged = await pages(new SessionSearch(store, { indexCap: 3, walkBudget: 6, probeBudget: 8, filteredProbeBudget: 3 }), { q: 'needle-o', user: 'FILLER1', limit: 2 });
        assert.deepEqual(paged.seen, fillers((i) => i % 3 === 1 && i % 2 === 1));
      });

      it('uses the indexes for metadata and for the user, secret, host, kind and status filters', async () => {
        const plan = async (query: RawBuilder<unknown>): Promise<string> => {
          if (store.dialect === 'sqlite') {
            const r = await sql<{ detail: string }>`EXPLAIN QUERY PLAN ${query}`.execute(store.db);
            return r.rows.map((x) => x.detail).join('\n');
          }
          // The tables are tiny here, so keep the planner off sequential scans to see which index it can use.
          return store.db.connection().execute(async (c) => {
            await sql`SET enable_seqscan = off`.execute(c);
            try {
              const r = await sql<{ 'QUERY PLAN': string }>`EXPLAIN ${query}`.execute(c);
              return r.rows.map((x) => x['QUERY PLAN']).join('\n');
            } finally {
              await sql`RESET enable_seqscan`.execute(c);
            }
          });
        };
        const list = (f: Parameters<typeof sessionWhere>[1]) => sql`SELECT s.* FROM sessions s WHERE ${sessionWhere(ALL, f, null)} ORDER BY s.started_at DESC, s.id DESC LIMIT 51`;
        assert.match(await plan(metadataIndexed(store.dialect, 'carol', 501)), store.dialect === 'sqlite' ? /session_search_fts/ : /sessions_search_meta_trgm/);
        assert.match(await plan(list({ user: 'Alice' })), /sessions_search_user/);
        assert.match(await plan(list({ secret: 'db-prod' })), /sessions_search_secret/);
        assert.match(await plan(list({ host: 'db1.example.com' })), /sessions_search_host/);
        assert.match(await plan(list({ kind: 'desktop' })), /sessions_search_kind/);
        assert.match(await plan(list({ status: 'active' })), /sessions_search_status/);
      });
    });

    describe('activity grid', () => {
      const gridPage = (opts: { q?: string; type?: Array<'keystrokes' | 'output' | 'command' | 'process-start'>; cursor?: string; limit?: number }) =>
        activity.grid(ids.get('grid')!, { limit: 50, ...opts }).then((p) => record(`grid ${JSON.stringify(opts)}`, p));
      const shape = (items: ActivityItem[]) => items.map((i) => [i.type, i.source, i.at, i.text]);

      it('lists events by time with keystrokes merged per minute and source, exact part times kept', async () => {
        const page = await gridPage({});
        assert.deepEqual(shape(page.items), [
          ['keystrokes', 'proxy', 1_000, 'sudo rm -rf /'],
          ['output', 'proxy', 3_000, 'x'],
          ['process-start', 'proxy', 10_000, '/usr/bin/rm'],
          ['keystrokes', 'proxy', 61_000, 'ls'],
          ['command', 'proxy', 61_500, 'ls'],
          ['keystrokes', 'agent', 62_000, 'agentkeys'],
          ['keystrokes', 'proxy', 125_000, 'passwd'],
          ['output', 'proxy', 130_000, 'done'],
          ['screen-change', 'launcher', 150_000, ''],
        ]);
        const seg = page.items[0] as KeystrokeSegmentItem;
        assert.equal(seg.minute, 0);
        assert.deepEqual(seg.parts.map((p) => [p.at, p.text]), [[1_000, 'su'], [2_000, 'do rm'], [4_000, ' -rf /']]);
        assert.equal(page.nextCursor, null);
      });

      it('pages without splitting or repeating a segment', async () => {
        const all = (await gridPage({})).items;
        for (const limit of [1, 2, 4]) {
          const seen: ActivityItem[] = [];
          let cursor: string | undefined;
          do {
            const page = await gridPage({ limit, ...(cursor ? { cursor } : {}) });
            assert.ok(page.items.length <= limit);
            seen.push(...page.items);
            cursor = page.nextCursor ?? undefined;
          } while (cursor);
          assert.deepEqual(shape(seen), shape(all), `limit ${limit}`);
        }
      });

      it('searches with the exact time of the matching part, even across parts', async () => {
        const rm = await gridPage({ q: 'RM -rf' });
        assert.deepEqual(rm.items.map((i) => [i.type, i.at, i.hitAt]), [['keystrokes', 1_000, 2_000]]);
        const sudo = await gridPage({ q: 'sudo' });
        assert.deepEqual(sudo.items.map((i) => [i.type, i.at, i.hitAt]), [['keystrokes', 1_000, 1_000]]);
        const ls = await gridPage({ q: 'ls' });
        assert.deepEqual(ls.items.map((i) => [i.type, i.hitAt]), [['keystrokes', 61_000], ['command', 61_500]]);
        const rmAny = await gridPage({ q: 'rm' });
        assert.deepEqual(rmAny.items.map((i) => [i.type, i.hitAt]), [['keystrokes', 2_000], ['process-start', 10_000]]);
        assert.deepEqual((await gridPage({ q: 'passwd', limit: 1 })).items.map((i) => i.hitAt), [125_000]);
        assert.deepEqual((await gridPage({ q: '%' })).items, []);
      });

      it('filters by type', async () => {
        assert.deepEqual((await gridPage({ type: ['keystrokes'] })).items.map((i) => i.at), [1_000, 61_000, 62_000, 125_000]);
        assert.deepEqual((await gridPage({ type: ['output', 'command'] })).items.map((i) => i.at), [3_000, 61_500, 130_000]);
        assert.deepEqual((await gridPage({ type: ['output'], q: 'done' })).items.map((i) => i.at), [130_000]);
      });

      it('returns parsed details', async () => {
        const page = await activity.grid(ids.get('s2')!, { limit: 10, type: ['process-start'] });
        assert.deepEqual(page.items[0]!.details, { path: '/usr/bin/firefox', pid: 4242 });
      });

      it('answers 404 for an unknown session', async () => {
        await assert.rejects(activity.grid(newId(), { limit: 5 }), /session not found/);
        await assert.rejects(activity.map(newId(), 10), /session not found/);
      });
    });

    describe('activity map', () => {
      it('counts events per bucket and series over the session duration', async () => {
        const map = record('map 3', await activity.map(ids.get('grid')!, 3));
        assert.equal(map.durationMs, 180_000);
        assert.equal(map.bucketMs, 60_000);
        assert.deepEqual(map.series, {
          'screen-change': [0, 0, 1],
          keystrokes: [3, 2, 1],
          processes: [1, 0, 0],
          commands: [0, 1, 0],
          windows: [0, 0, 0],
        });
        const fine = await activity.map(ids.get('grid')!, 1000);
        assert.equal(fine.bucketMs, 180);
        assert.equal(fine.series.keystrokes.length, 1000);
        assert.equal(fine.series.keystrokes.reduce((a, b) => a + b, 0), 6);
        assert.equal(fine.series.keystrokes[Math.floor(61_000 / 180)], 1);
      });

      it('uses now for an active session and never drops an event past the end', async () => {
        const active = await activity.map(ids.get('s2')!, 10);
        assert.equal(active.durationMs, 3 * HOUR - 2 * HOUR);
        assert.equal(active.series.processes[0], 1);
        assert.equal(active.series.windows[0], 1);
        const short = await activity.map(ids.get('s1')!, 4);
        assert.equal(short.durationMs, 600_000);
        assert.equal(short.series.commands.reduce((a, b) => a + b, 0), 1);
        await assert.rejects(activity.map(ids.get('s1')!, 0), /buckets/);
      });
    });
  });
}

describe('trigramDriver', () => {
  it('keeps the runs of 3+ letters or digits, unanchored, when they hold at least 2 trigrams', () => {
    assert.equal(trigramDriver('OPS-65155'), '%OPS%65155%');
    assert.equal(trigramDriver('/etc/shadow'), '%etc%shadow%');
    assert.equal(trigramDriver('build-08ff'), '%build%08ff%');
    assert.equal(trigramDriver('regedit'), '%regedit%');
    assert.equal(trigramDriver('rm -rf /var/lib'), '%var%lib%');
    assert.equal(trigramDriver('Ünïcode'), '%code%');
  });

  it('falls back to the literal pattern, escaped, when the runs select too little', () => {
    assert.equal(trigramDriver('ls -la /etc'), '%ls -la /etc%');
    assert.equal(trigramDriver('cd /etc'), '%cd /etc%');
    assert.equal(trigramDriver('50%_x'), '%50\\%\\_x%');
    assert.equal(trigramDriver('Ünïc'), '%Ünïc%');
  });
});

describe('both dialects', () => {
  it('give the same answer to every query above', () => {
    const [a, b] = [transcripts.sqlite, transcripts.postgres];
    assert.ok(a && b && a.length > 50);
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) assert.equal(b[i], a[i]);
  });
});
