import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { loadMasterKey } from '../src/adapters/crypto/master-key.ts';
import { checkWritableDir } from '../src/adapters/fs/writable-dir.ts';
import { generateEd25519 } from '../src/adapters/ssh/public-key.ts';
import { validatePrivateKey } from '../src/adapters/ssh/private-key.ts';
import type { Store } from '../src/adapters/store/store.ts';
import { AuditService } from '../src/core/audit/audit.service.ts';
import type { Clock } from '../src/core/clock.ts';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../src/core/errors.ts';
import { newId } from '../src/core/ids.ts';
import { PERMISSIONS, type Permission, type Principal } from '../src/core/permissions.ts';
import { SecretsService } from '../src/core/secrets/secrets.service.ts';
import { SettingsService } from '../src/core/settings/settings.service.ts';
import { DEFAULT_SESSION_RECORDING_SETTINGS, type SessionRecordingSettings } from '../src/protocol/settings.ts';
import { createSecretRequest, updateSecretRequest } from '../src/protocol/secrets.ts';
import { sendError } from '../src/server/http/errors.ts';
import { registerSecretsRoutes } from '../src/server/http/secrets/secrets.routes.ts';
import { registerSettingsRoutes } from '../src/server/http/settings/settings.routes.ts';
import { ed25519PublicKeyLine } from './helpers/keys.ts';
import { storeFixtures, tempDir } from './helpers/stores.ts';

const clock: Clock = { now: () => Date.now() };
const PASSWORD = 'S3cret-target-password!';

function principal(userId: string, roleIds: string[], permissions: readonly Permission[] = []): Principal {
  return { userId, username: `u-${userId.slice(0, 6)}`, roleIds, permissions: new Set(permissions), via: 'bearer', tokenId: 't' };
}

/** Asserts `fn` rejects with an error of `type` naming `field`, and whose message leaks none of `secrets`. */
async function rejectsNaming(fn: Promise<unknown>, type: new (...a: never[]) => AppError, field: string, secrets: string[] = []): Promise<void> {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.equal((err.details as { field?: string } | undefined)?.field, field, err.message);
    assert.ok(err.message.startsWith(`${field}`) || type === ConflictError, err.message);
    for (const s of secrets) assert.ok(!err.message.includes(s) && !JSON.stringify(err.details ?? {}).includes(s), 'error leaks a secret');
    return true;
  });
}

const create = (body: unknown) => createSecretRequest.parse(body);
const patch = (body: unknown) => updateSecretRequest.parse(body);

const encryptedKey = generateEd25519({ passphrase: 'key-passphrase', cipher: 'aes256-ctr', rounds: 4 });
const plainKey = generateEd25519();
const keyBody = (k: { private: string }) => k.private.split('\n')[1]!; // a line of key material, to look for in outputs

for (const fx of storeFixtures()) {
  describe(`secrets and settings on ${fx.name}`, () => {
    let store: Store;
    let secrets: SecretsService;
    let settings: SettingsService;
    const masterKey = randomBytes(32);
    const tmp = tempDir('vigil-settings-');
    const ids = { alice: newId(), bob: newId(), carol: newId(), ops: newId(), other: newId() };
    const admin = principal(newId(), [], PERMISSIONS);

    before(async () => {
      store = await fx.open();
      const now = clock.now();
      for (const [name, id] of [['alice', ids.alice], ['bob', ids.bob], ['carol', ids.carol]] as const) {
        await store.db.insertInto('users').values({ id, username: name, display_name: name, email: null, password_hash: null, disabled: 0, created_at: now, updated_at: now }).execute();
      }
      for (const [name, id] of [['Ops', ids.ops], ['Other', ids.other]] as const) {
        await store.db.insertInto('roles').values({ id, name, description: '', builtin: 0, permissions: '[]', created_at: now, updated_at: now }).execute();
      }
      await store.db.insertInto('user_roles').values({ user_id: ids.bob, role_id: ids.ops }).execute();
      secrets = new SecretsService(store, clock, masterKey, validatePrivateKey);
      settings = new SettingsService(store, clock, checkWritableDir, { cores: 8 });
    });
    after(async () => {
      await store?.close();
      await fx.cleanup();
      tmp.remove();
    });

    describe('secrets', () => {
      it('creates a password secret, encrypts it at rest and never returns it', async () => {
        const s = await secrets.create(create({ name: 'db-prod', kind: 'ssh', host: 'db1.example.com', username: 'root', password: PASSWORD }));
        assert.equal(s.port, 22);
        assert.deepEqual(s.credential, { type: 'password' });
        assert.deepEqual(s.recording, { video: true, keystrokes: true });
        assert.equal(s.launcher, null);
        assert.equal(s.hostKeyFingerprint, null);
        assert.ok(!JSON.stringify(s).includes(PASSWORD));
        assert.ok(!JSON.stringify(await secrets.list(admin)).includes(PASSWORD));
        assert.ok(!JSON.stringify(await secrets.get(admin, s.id)).includes(PASSWORD));
        assert.ok(!JSON.stringify(await secrets.byName('db-prod')).includes(PASSWORD));

        const row = await store.db.selectFrom('secrets').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
        assert.match(row.credential_enc!, /^v1\./);
        assert.ok(!JSON.stringify(row).includes(PASSWORD));
        assert.deepEqual(await secrets.revealCredential(s.id), { type: 'password', value: PASSWORD });

        // A ciphertext copied onto another secret's row does not open there.
        const other = await secrets.create(create({ name: 'copy-target', kind: 'ssh', host: '10.0.0.9', username: 'x' }));
        assert.equal(await secrets.revealCredential(other.id), null);
        await store.db.updateTable('secrets').set({ credential_enc: row.credential_enc, credential_type: 'password' }).where('id', '=', other.id).execute();
        await assert.rejects(secrets.revealCredential(other.id), /cannot be decrypted/);
        await secrets.remove(other.id);
      });

      it('creates a desktop secret with defaults for port and launcher', async () => {
        const s = await secrets.create(create({ name: 'win-jump', kind: 'desktop', host: '[fe80::1]', username: 'CORP\\admin', password: PASSWORD, recording: { keystrokes: false } }));
        assert.equal(s.port, 3389);
        assert.equal(s.host, 'fe80::1');
        assert.deepEqual(s.launcher, { type: 'rdp' });
        assert.deepEqual(s.recording, { video: true, keystrokes: false });
      });

      it('validates the wire shape and names the field', () => {
        const field = (body: unknown) => {
          const r = createSecretRequest.safeParse(body);
          assert.equal(r.success, false, JSON.stringify(body));
          return r.error!.issues[0]!.code === 'unrecognized_keys' ? 'unknown' : r.error!.issues[0]!.path.join('.');
        };
        const ok = { name: 'n', kind: 'ssh', host: 'h', username: 'u' };
        assert.equal(field({ ...ok, name: 'a:b' }), 'name');
        assert.equal(field({ ...ok, name: 'x@y' }), 'name');
        assert.equal(field({ ...ok, host: 'bad host' }), 'host');
        assert.equal(field({ ...ok, host: 'h/x' }), 'host');
        assert.equal(field({ ...ok, port: 70000 }), 'port');
        assert.equal(field({ ...ok, password: 'p', privateKey: 'k' }), 'privateKey');
        assert.equal(field({ ...ok, passphrase: 'p' }), 'passphrase');
        assert.equal(field({ ...ok, launcher: { type: 'rdp' } }), 'launcher');
        assert.equal(field({ ...ok, kind: 'desktop', launcher: { type: 'process' } }), 'launcher.command');
        assert.equal(field({ ...ok, kind: 'desktop', launcher: { type: 'process', command: 'x {password}' } }), 'launcher.command');
        assert.equal(field({ ...ok, privateKey: 'k'.repeat(16 * 1024 + 1) }), 'privateKey');
        assert.equal(field({ ...ok, access: { users: ['nope'] } }), 'access.users.0');
        assert.equal(field({ ...ok, extra: 1 }), 'unknown');
        assert.deepEqual(create({ ...ok, kind: 'desktop', launcher: { type: 'process', command: 'xfreerdp', args: ['/v:{host}:{port}', '/u:{username}'] } }).launcher?.args, ['/v:{host}:{port}', '/u:{username}']);
      });

      it('stores a private key (with passphrase) and reveals it only through revealCredential', async () => {
        const s = await secrets.create(create({ name: 'key-secret', kind: 'ssh', host: 'h.example', port: 2200, username: 'deploy', privateKey: encryptedKey.private, passphrase: 'key-passphrase' }));
        assert.deepEqual(s.credential, { type: 'private-key' });
        assert.ok(!JSON.stringify(await secrets.list(admin)).includes(keyBody(encryptedKey)));
        const cred = await secrets.revealCredential(s.id);
        assert.equal(cred?.type, 'private-key');
        assert.equal(cred?.value, encryptedKey.private.trim());
        assert.equal(cred?.passphrase, 'key-passphrase');
      });

      it('refuses a bad private key or passphrase, naming privateKey without echoing the key', async () => {
        const garbage = `-----BEGIN OPENSSH PRIVATE KEY-----\nTOPSECRETMATERIAL${'A'.repeat(60)}\n-----END OPENSSH PRIVATE KEY-----`;
        await rejectsNaming(secrets.create(create({ name: 'bad-key', kind: 'ssh', host: 'h', username: 'u', privateKey: garbage })), ValidationError, 'privateKey', ['TOPSECRETMATERIAL']);
        await rejectsNaming(secrets.create(create({ name: 'bad-key', kind: 'ssh', host: 'h', username: 'u', privateKey: 'just some text' })), ValidationError, 'privateKey', ['just some text']);
        await rejectsNaming(secrets.create(create({ name: 'bad-key', kind: 'ssh', host: 'h', username: 'u', privateKey: encryptedKey.private })), ValidationError, 'privateKey', [keyBody(encryptedKey)]);
        await rejectsNaming(
          secrets.create(create({ name: 'bad-key', kind: 'ssh', host: 'h', username: 'u', privateKey: encryptedKey.private, passphrase: 'wrong-passphrase' })),
          ValidationError, 'privateKey', [keyBody(encryptedKey), 'wrong-passphrase'],
        );
        await rejectsNaming(secrets.create(create({ name: 'bad-key', kind: 'ssh', host: 'h', username: 'u', privateKey: ed25519PublicKeyLine().line })), ValidationError, 'privateKey');
        assert.equal(await secrets.byName('bad-key'), undefined);
      });

      it('refuses a duplicate name with a conflict naming name', async () => {
        await rejectsNaming(secrets.create(create({ name: 'db-prod', kind: 'ssh', host: 'other', username: 'u', password: PASSWORD })), ConflictError, 'name', [PASSWORD]);
        const s = await secrets.byName('win-jump');
        await rejectsNaming(secrets.update(s!.id, patch({ name: 'db-prod' })), ConflictError, 'name');
      });

      it('refuses grants to users or roles that do not exist', async () => {
        await rejectsNaming(secrets.create(create({ name: 'grants', kind: 'ssh', host: 'h', username: 'u', access: { users: [newId()] } })), ValidationError, 'access.users');
        await rejectsNaming(secrets.create(create({ name: 'grants', kind: 'ssh', host: 'h', username: 'u', access: { users: [ids.alice], roles: [newId()] } })), ValidationError, 'access.roles');
        assert.equal(await secrets.byName('grants'), undefined, 'nothing is written when a grant is refused');
        const s = await secrets.byName('db-prod');
        await rejectsNaming(secrets.update(s!.id, patch({ access: { roles: [newId()] } })), ValidationError, 'access.roles');
      });

      it('shows a secret to users granted directly or through a role, and hides it (404) from others', async () => {
        const s = await secrets.create(create({ name: 'granted', kind: 'ssh', host: 'g.example', username: 'u', password: PASSWORD, access: { users: [ids.alice], roles: [ids.ops] } }));
        const alice = principal(ids.alice, []);
        const bob = principal(ids.bob, [ids.ops]);
        const carol = principal(ids.carol, [ids.other]);

        assert.deepEqual((await secrets.list(alice)).map((x) => x.name), ['granted']);
        assert.deepEqual((await secrets.list(bob)).map((x) => x.name), ['granted']);
        assert.deepEqual(await secrets.list(carol), []);
        assert.equal((await secrets.get(alice, s.id)).name, 'granted');
        assert.equal((await secrets.get(bob, s.id)).name, 'granted');
        await assert.rejects(secrets.get(carol, s.id), NotFoundError);
        await assert.rejects(secrets.get(carol, newId()), NotFoundError);
        assert.equal(await secrets.canLaunch(alice, s.id), true);
        assert.equal(await secrets.canLaunch(bob, s.id), true);
        assert.equal(await secrets.canLaunch(carol, s.id), false);
        assert.equal(await secrets.canLaunch(admin, s.id), false, 'administering secrets is not a launch grant');

        // Administrators see every secret and every grant; users see the grants they launch through.
        assert.ok((await secrets.list(admin)).length >= 4);
        assert.deepEqual((await secrets.get(admin, s.id)).access, { users: [ids.alice], roles: [ids.ops] });
        assert.deepEqual((await secrets.get(bob, s.id)).access, { users: [], roles: [ids.ops] });
        assert.deepEqual((await secrets.get(alice, s.id)).access, { users: [ids.alice], roles: [] });

        // Moving the grant from the role to carol's role flips who sees it.
        const { changed } = await secrets.update(s.id, patch({ access: { roles: [ids.other] } }));
        assert.deepEqual(changed, ['access']);
        await assert.rejects(secrets.get(bob, s.id), NotFoundError);
        assert.equal((await secrets.get(carol, s.id)).name, 'granted');
      });

      it('updates fields, reports which changed, and replaces or clears the credential', async () => {
        const s = (await secrets.byName('db-prod'))!;
        const newPassword = 'another-Target-pw-42';
        const r1 = await secrets.update(s.id, patch({ password: newPassword, recording: { video: false }, host: 'db1.example.com' }));
        assert.deepEqual(r1.changed.sort(), ['password', 'recording']);
        assert.deepEqual(r1.secret.recording, { video: false, keystrokes: true });
        assert.ok(!JSON.stringify(r1).includes(newPassword));
        assert.deepEqual(await secrets.revealCredential(s.id), { type: 'password', value: newPassword });

        assert.deepEqual((await secrets.update(s.id, patch({ username: 'root', recording: { video: false } }))).changed, []);

        const r2 = await secrets.update(s.id, patch({ privateKey: plainKey.private, password: null }));
        assert.deepEqual(r2.changed.sort(), ['password', 'privateKey']);
        assert.equal(r2.secret.credential.type, 'private-key');
        assert.equal((await secrets.revealCredential(s.id))?.type, 'private-key');
        assert.deepEqual((await secrets.update(s.id, patch({ password: null }))).changed, [], 'null clears only a credential of that type');
        const r3 = await secrets.update(s.id, patch({ privateKey: null }));
        assert.deepEqual(r3.changed, ['privateKey']);
        assert.equal(r3.secret.credential.type, null);
        assert.equal(await secrets.revealCredential(s.id), null);
        await rejectsNaming(secrets.update(s.id, patch({ privateKey: 'nope' })), ValidationError, 'privateKey', ['nope:']);
        await assert.rejects(secrets.update(newId(), patch({ username: 'x' })), NotFoundError);
      });

      it('keeps launchers for desktop secrets only', async () => {
        const s = (await secrets.byName('win-jump'))!;
        await rejectsNaming(secrets.update((await secrets.byName('db-prod'))!.id, patch({ launcher: { type: 'rdp' } })), ValidationError, 'launcher');
        const r = await secrets.update(s.id, patch({ launcher: { type: 'process', command: '/usr/bin/remmina', args: ['-c', 'rdp://{username}@{host}:{port}'] } }));
        assert.deepEqual(r.changed, ['launcher']);
        const toSsh = await secrets.update(s.id, patch({ kind: 'ssh', port: 22 }));
        assert.deepEqual(toSsh.changed.sort(), ['kind', 'launcher', 'port']);
        assert.equal(toSsh.secret.launcher, null);
      });

      it('pins a host key on first use and forgets it when the target moves', async () => {
        const s = (await secrets.byName('key-secret'))!;
        const first = ed25519PublicKeyLine();
        const second = ed25519PublicKeyLine();
        const fp = await secrets.pinHostKey(s.id, first.line);
        assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
        assert.equal(await secrets.pinHostKey(s.id, second.line), fp, 'a pinned key is not replaced by a later one');
        assert.equal((await secrets.get(admin, s.id)).hostKeyFingerprint, fp);
        await rejectsNaming(secrets.pinHostKey(s.id, 'not a key'), ValidationError, 'hostKey');
        const moved = await secrets.update(s.id, patch({ host: 'h2.example' }));
        assert.deepEqual(moved.changed.sort(), ['host', 'hostKey']);
        assert.equal(moved.secret.hostKeyFingerprint, null);
        const explicit = await secrets.update(s.id, patch({ hostKey: fp }));
        assert.equal(explicit.secret.hostKeyFingerprint, fp);
      });

      it('deletes a secret with its grants', async () => {
        const s = (await secrets.byName('granted'))!;
        const removed = await secrets.remove(s.id);
        assert.equal(removed.name, 'granted');
        await assert.rejects(secrets.get(admin, s.id), NotFoundError);
        await assert.rejects(secrets.revealCredential(s.id), NotFoundError);
        assert.equal((await store.db.selectFrom('secret_access').select('secret_id').where('secret_id', '=', s.id).execute()).length, 0);
        await assert.rejects(secrets.remove(s.id), NotFoundError);
      });
    });

    describe('session-recording settings', () => {
      const valid = (over: Partial<SessionRecordingSettings> = {}): SessionRecordingSettings => ({ ...DEFAULT_SESSION_RECORDING_SETTINGS, processingConcurrency: 4, ...over });

      it('starts from the defaults, with half the cores for processing', async () => {
        assert.deepEqual(await settings.get(), valid());
      });

      it('saves a valid object, reports what changed and creates the directories', async () => {
        const archive = path.join(tmp.dir, 'archive', 'nested');
        const share = path.join(tmp.dir, 'share');
        const next = valid({ deleteEnabled: true, deleteAfterDays: 400, archiveEnabled: true, archiveAfterDays: 60, archivePath: archive, storage: 'directory', storagePath: share, videoCodec: 'vp9', inactivityTimeoutMinutes: 30 });
        const r = await settings.put(next, { id: ids.alice });
        assert.deepEqual(r.changed.sort(), ['archiveAfterDays', 'archiveEnabled', 'archivePath', 'deleteAfterDays', 'deleteEnabled', 'inactivityTimeoutMinutes', 'storage', 'storagePath', 'videoCodec']);
        assert.equal(r.previous.videoCodec, 'av1');
        assert.deepEqual(await settings.get(), next);
        assert.ok(fs.statSync(archive).isDirectory() && fs.statSync(share).isDirectory());
        assert.deepEqual(fs.readdirSync(archive), [], 'the probe file is removed');
        assert.deepEqual((await settings.put(next, { id: ids.alice })).changed, []);
        const row = await store.db.selectFrom('settings').selectAll().where('key', '=', 'session-recording').executeTakeFirstOrThrow();
        assert.equal(row.updated_by, ids.alice);
      });

      it('names the field of each invalid value', async () => {
        const aFile = path.join(tmp.dir, 'a-file');
        fs.writeFileSync(aFile, 'x');
        const cases: Array<[string, Record<string, unknown>]> = [
          ['deleteAfterDays', { deleteAfterDays: 0 }],
          ['archiveAfterDays', { archiveAfterDays: 0 }],
          ['archivePath', { archiveEnabled: true, archivePath: 'relative/dir' }],
          ['archivePath', { archiveEnabled: true, archivePath: '/srv/../etc' }],
          ['archivePath', { archiveEnabled: true, archivePath: null }],
          ['archivePath', { archiveEnabled: true, archivePath: path.join(aFile, 'under-a-file') }],
          ['storagePath', { storage: 'directory', storagePath: aFile }],
          ['storagePath', { storage: 'directory', storagePath: null }],
          ['storage', { storage: 's3' }],
          ['videoCodec', { videoCodec: 'h264' }],
          ['inactivityTimeoutMinutes', { inactivityTimeoutMinutes: 1441 }],
          ['inactivityTimeoutMinutes', { inactivityTimeoutMinutes: -1 }],
          ['maxSessionMinutes', { maxSessionMinutes: 10081 }],
          ['processingConcurrency', { processingConcurrency: 65 }],
          ['deleteAfterDays', { deleteEnabled: true, archiveEnabled: true, archivePath: path.join(tmp.dir, 'a2'), deleteAfterDays: 30, archiveAfterDays: 30 }],
          ['surprise', { surprise: true }],
        ];
        const before = await settings.get();
        for (const [field, over] of cases) {
          await rejectsNaming(settings.put({ ...valid(), ...over } as SessionRecordingSettings, { id: null }), ValidationError, field);
        }
        const partial: Record<string, unknown> = { ...valid() };
        delete partial.recordKeystrokes;
        await rejectsNaming(settings.put(partial as SessionRecordingSettings, { id: null }), ValidationError, 'recordKeystrokes');
        assert.deepEqual(await settings.get(), before, 'nothing was saved');
      });

      it('falls back to defaults for stored values a newer or older version left behind', async () => {
        await store.db.updateTable('settings').set({ value: JSON.stringify({ ...valid(), storage: 'database', videoCodec: 'h266', retired: 1 }) }).where('key', '=', 'session-recording').execute();
        const s = await settings.get();
        assert.equal(s.videoCodec, 'av1');
        assert.ok(!('retired' in s));
      });
    });
  });
}

describe('master key', () => {
  const tmp = tempDir('vigil-key-');
  after(() => tmp.remove());

  it('creates <dataDir>/master.key with mode 0600 and reuses it', () => {
    const dataDir = path.join(tmp.dir, 'data');
    const key = loadMasterKey({ masterKey: undefined, dataDir });
    const file = path.join(dataDir, 'master.key');
    assert.equal(key.length, 32);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readFileSync(file), key);
    assert.deepEqual(loadMasterKey({ masterKey: undefined, dataDir }), key);
  });

  it('refuses a key file others can read or of the wrong size', () => {
    const dataDir = path.join(tmp.dir, 'loose');
    loadMasterKey({ masterKey: undefined, dataDir });
    const file = path.join(dataDir, 'master.key');
    fs.chmodSync(file, 0o640);
    assert.throws(() => loadMasterKey({ masterKey: undefined, dataDir }), /chmod 600/);
    fs.chmodSync(file, 0o600);
    fs.writeFileSync(file, randomBytes(16));
    assert.throws(() => loadMasterKey({ masterKey: undefined, dataDir }), /exactly 32 bytes/);
  });

  it('takes VIGIL_MASTER_KEY as hex or base64 and never echoes a bad one', () => {
    const raw = randomBytes(32);
    const dataDir = path.join(tmp.dir, 'env');
    assert.deepEqual(loadMasterKey({ masterKey: raw.toString('hex'), dataDir }), raw);
    assert.deepEqual(loadMasterKey({ masterKey: raw.toString('base64'), dataDir }), raw);
    assert.equal(fs.existsSync(path.join(dataDir, 'master.key')), false);
    assert.throws(() => loadMasterKey({ masterKey: 'short-key-value', dataDir }), (err: Error) => /VIGIL_MASTER_KEY/.test(err.message) && !err.message.includes('short-key-value'));
  });
});

describe('secrets and settings routes', () => {
  const fx = storeFixtures()[0]!;
  let store: Store;
  let app: FastifyInstance;
  let audit: AuditService;
  const tmp = tempDir('vigil-routes-');
  const admin = principal(newId(), [], PERMISSIONS);
  const plain = principal(newId(), []);

  before(async () => {
    store = await fx.open();
    audit = new AuditService(store, clock);
    app = Fastify();
    app.addHook('onRequest', async (req) => {
      req.principal = req.headers['x-test-user'] === 'plain' ? plain : admin;
    });
    app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
    registerSecretsRoutes(app, { secrets: new SecretsService(store, clock, randomBytes(32), validatePrivateKey), audit });
    registerSettingsRoutes(app, { settings: new SettingsService(store, clock, checkWritableDir, { cores: 2 }), audit });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await store?.close();
    await fx.cleanup();
    tmp.remove();
  });

  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, user = 'admin') =>
    app.inject({ method, url, headers: { 'x-test-user': user }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  it('creates, reads, updates and deletes a secret; the audit log holds field names, not credentials', async () => {
    const created = await call('POST', '/api/v1/secrets', { name: 'web', kind: 'ssh', host: 'web.example', username: 'ops', password: PASSWORD });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json<{ id: string }>().id;
    assert.ok(!created.body.includes(PASSWORD));
    assert.equal((await call('GET', `/api/v1/secrets/${id}`, undefined, 'plain')).statusCode, 404);
    assert.deepEqual((await call('GET', '/api/v1/secrets', undefined, 'plain')).json(), { items: [] });
    const listed = await call('GET', '/api/v1/secrets');
    assert.equal(listed.json<{ items: unknown[] }>().items.length, 1);
    assert.ok(!listed.body.includes(PASSWORD));

    const patched = await call('PATCH', `/api/v1/secrets/${id}`, { password: 'new-password-123', recording: { keystrokes: false } });
    assert.equal(patched.statusCode, 200, patched.body);
    const bad = await call('PATCH', `/api/v1/secrets/${id}`, { colour: 'red' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ error: { details: { field: string } } }>().error.details.field, 'colour');
    assert.equal((await call('DELETE', `/api/v1/secrets/${id}`)).statusCode, 204);
    assert.equal((await call('GET', `/api/v1/secrets/${id}`)).statusCode, 404);

    const log = await audit.list({ limit: 10, targetType: 'secret' });
    assert.deepEqual(log.items.map((e) => e.action), ['secret.delete', 'secret.update', 'secret.create']);
    assert.deepEqual(log.items[1]!.details!.fields, ['password', 'recording']);
    const text = JSON.stringify(log);
    assert.ok(!text.includes(PASSWORD) && !text.includes('new-password-123'));
  });

  it('reads and replaces the session-recording settings, auditing before and after', async () => {
    const got = await call('GET', '/api/v1/settings/session-recording');
    assert.equal(got.json<SessionRecordingSettings>().processingConcurrency, 1);
    const next = { ...got.json<SessionRecordingSettings>(), videoCodec: 'vp9', maxSessionMinutes: 480 };
    const put = await call('PUT', '/api/v1/settings/session-recording', next);
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(put.json(), next);
    const bad = await call('PUT', '/api/v1/settings/session-recording', { ...next, inactivityTimeoutMinutes: 5000 });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ error: { details: { field: string } } }>().error.details.field, 'inactivityTimeoutMinutes');
    const entry = (await audit.list({ limit: 1, action: 'settings.update' })).items[0]!;
    assert.deepEqual(entry.details, { changed: ['videoCodec', 'maxSessionMinutes'], before: { videoCodec: 'av1', maxSessionMinutes: 0 }, after: { videoCodec: 'vp9', maxSessionMinutes: 480 } });
  });
});
