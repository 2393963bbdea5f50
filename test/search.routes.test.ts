import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Store } from '../src/adapters/store/store.ts';
import { newId } from '../src/core/ids.ts';
import { PERMISSIONS, type Permission, type Principal } from '../src/core/permissions.ts';
import { ActivityService } from '../src/core/search/activity.ts';
import { SessionSearch } from '../src/core/search/session-search.ts';
import { sendError } from '../src/server/http/errors.ts';
import { registerSearchRoutes } from '../src/server/http/sessions/search.routes.ts';
import { storeFixtures } from './helpers/stores.ts';
import { appendSessionText } from '../src/core/search/session-text.ts';

function principal(userId: string, permissions: readonly Permission[] = []): Principal {
  return { userId, username: `u-${userId.slice(0, 6)}`, roleIds: [], permissions: new Set(permissions), via: 'bearer', tokenId: 't' };
}

describe('search routes', () => {
  const fx = storeFixtures()[0]!;
  let store: Store;
  let app: FastifyInstance;
  const secretA = newId();
  const secretB = newId();
  const sessionA = newId();
  const sessionB = newId();
  const users: Record<string, Principal> = {
    admin: principal(newId(), PERMISSIONS),
    viewer: principal(newId(), ['session-recording.view']), // may see sessions of secret A only
    plain: principal(newId()),
  };

  before(async () => {
    store = await fx.open();
    for (const id of [secretA, secretB]) {
      await store.db.insertInto('secrets').values({
        id, name: `secret-${id.slice(0, 4)}`, kind: 'ssh', host: 'db1.example.com', port: 22, username: 'root', credential_type: null, credential_enc: null,
        launcher: null, record_video: 1, record_keystrokes: 1, host_key: null, created_at: 0, updated_at: 0,
      }).execute();
    }
    await store.db.insertInto('secret_access').values({ secret_id: secretA, principal_type: 'user', principal_id: users.viewer!.userId }).execute();
    for (const [id, secret] of [[sessionA, secretA], [sessionB, secretB]] as const) {
      await store.db.insertInto('sessions').values({
        id, kind: 'ssh', status: 'ended', user_id: null, username: 'alice', secret_id: secret, secret_name: `secret-${secret.slice(0, 4)}`,
        target_host: 'db1.example.com', target_user: 'root', client_address: null, component: 'ssh-proxy', node_id: null,
        started_at: 1_000_000, ended_at: 1_060_000, last_activity_at: 1_060_000, last_heartbeat_at: 1_060_000, end_reason: null, ended_by: null,
        record_video: 1, record_keystrokes: 1, media: null, recording_state: 'complete', storage: 'database', chunk_count: 0, bytes: 0, chain_head: null,
        duration_ms: 60_000, processing_state: null, processing_progress: null, processing_error: null, archived_at: null, deleted_at: null,
      }).execute();
      const event = { session_id: id, source: 'proxy', seq: 0, at_ms: 5_000, type: 'command', text: 'cat /etc/passwd', details: null };
      await store.db.insertInto('activity_events').values(event).execute();
      await appendSessionText(store.db, store.dialect, [event]);
    }
    app = Fastify();
    app.addHook('onRequest', async (req) => {
      req.principal = users[String(req.headers['x-test-user'] ?? 'admin')];
    });
    app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
    registerSearchRoutes(app, { store, search: new SessionSearch(store), activity: new ActivityService(store) });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await store?.close();
    await fx.cleanup();
  });

  const get = (url: string, user = 'admin') => app.inject({ method: 'GET', url, headers: { 'x-test-user': user } });
  const field = (res: Awaited<ReturnType<typeof get>>) => {
    assert.equal(res.statusCode, 400, res.body);
    return res.json<{ error: { code: string; details: { field: string } } }>().error.details.field;
  };

  it('searches within the caller\'s scope', async () => {
    const all = await get('/api/v1/sessions?q=passwd&in=proxy-keystrokes,output');
    assert.equal(all.statusCode, 200, all.body);
    const body = all.json<{ items: Array<{ id: string; hits: Array<{ at: number; snippet: string }> }>; nextCursor: string | null }>();
    assert.equal(body.items.length, 2);
    assert.equal(body.items[0]!.hits[0]!.at, 5_000);
    assert.equal(body.nextCursor, null);
    const viewer = (await get('/api/v1/sessions?q=passwd', 'viewer')).json<{ items: Array<{ id: string }> }>();
    assert.deepEqual(viewer.items.map((i) => i.id), [sessionA]);
    assert.deepEqual((await get('/api/v1/sessions', 'plain')).json(), { items: [], nextCursor: null });
    const dated = await get('/api/v1/sessions?from=1970-01-01T00:16:40.000Z&to=1000000&status=ended&kind=ssh&user=ALICE&host=db1.example.com&limit=1');
    assert.equal(dated.statusCode, 200, dated.body);
    const page = dated.json<{ items: unknown[]; nextCursor: string }>();
    assert.equal(page.items.length, 1);
    assert.equal((await get(`/api/v1/sessions?limit=1&cursor=${page.nextCursor}`)).json<{ items: unknown[] }>().items.length, 1);
  });

  it('answers 400 naming the parameter', async () => {
    assert.equal(field(await get('/api/v1/sessions?in=proxy-keystrokes,video')), 'in');
    assert.match((await get('/api/v1/sessions?in=video')).json<{ error: { message: string } }>().error.message, /^in: unknown value "video"/);
    assert.equal(field(await get('/api/v1/sessions?in=output&in=metadata')), 'in');
    assert.equal(field(await get(`/api/v1/sessions?q=${'x'.repeat(257)}`)), 'q');
    assert.equal(field(await get('/api/v1/sessions?q=a%00b')), 'q');
    assert.equal(field(await get('/api/v1/sessions?status=paused')), 'status');
    assert.equal(field(await get('/api/v1/sessions?kind=rdp')), 'kind');
    assert.equal(field(await get('/api/v1/sessions?from=yesterday')), 'from');
    assert.equal(field(await get('/api/v1/sessions?limit=0')), 'limit');
    assert.equal(field(await get('/api/v1/sessions?cursor=nope')), 'cursor');
    assert.equal(field(await get('/api/v1/sessions?colour=red')), 'colour');
    assert.equal(field(await get(`/api/v1/sessions/${sessionA}/activity?type=keystrokes,video`)), 'type');
    assert.equal(field(await get(`/api/v1/sessions/${sessionA}/activity?cursor=xyz`)), 'cursor');
    assert.equal(field(await get(`/api/v1/sessions/${sessionA}/activity-map?buckets=0`)), 'buckets');
    assert.equal(field(await get(`/api/v1/sessions/${sessionA}/activity-map?buckets=1001`)), 'buckets');
    assert.equal(field(await get(`/api/v1/sessions/${sessionA}/activity-map?buckets=2.5`)), 'buckets');
    assert.equal(field(await get('/api/v1/sessions/not-a-uuid/activity')), 'id');
  });

  it('serves the activity grid and map, and answers 404 outside the scope', async () => {
    const grid = await get(`/api/v1/sessions/${sessionA}/activity?q=passwd&type=command,keystrokes`, 'viewer');
    assert.equal(grid.statusCode, 200, grid.body);
    assert.deepEqual(grid.json<{ items: Array<{ at: number; hitAt: number }> }>().items.map((i) => [i.at, i.hitAt]), [[5_000, 5_000]]);
    const map = await get(`/api/v1/sessions/${sessionA}/activity-map`, 'viewer');
    assert.equal(map.statusCode, 200, map.body);
    const body = map.json<{ bucketMs: number; durationMs: number; series: { commands: number[] } }>();
    assert.equal(body.series.commands.length, 100);
    assert.equal(body.durationMs, 60_000);
    assert.equal(body.series.commands[Math.floor(5_000 / body.bucketMs)], 1);

    for (const url of [`/api/v1/sessions/${sessionB}/activity`, `/api/v1/sessions/${sessionB}/activity-map`]) {
      const res = await get(url, 'viewer');
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'not-found');
      assert.equal((await get(url, 'plain')).statusCode, 404);
      assert.equal((await get(url)).statusCode, 200);
    }
    assert.equal((await get(`/api/v1/sessions/${newId()}/activity`)).statusCode, 404);
  });
});
