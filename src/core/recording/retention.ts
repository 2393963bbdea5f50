import type { Kysely } from 'kysely';
import type { Database, RecordingFileFormat, StorageLocation } from '../../adapters/store/schema.ts';
import type { Store } from '../../adapters/store/store.ts';
import type { SessionRecordingSettings } from '../../protocol/settings.ts';
import type { AuditActor, AuditInput } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import type { BlobLocation, BlobStore, BlobStores } from './blob-store.ts';
import { chunkDigest } from './hash-chain.ts';

/**
 * The storage lifecycle: after `archiveAfterDays` a recording's media moves from the database or
 * the share to the archive directory; after `deleteAfterDays` it is removed. Session rows,
 * activity events and the audit log stay. Decisions (docs/operations should repeat them):
 *  - Deleting keeps the chunk rows (seq, size, SHA-256, chain link) so `vigil admin verify` can
 *    say the media was deleted and the chain metadata stays auditable; recording_files rows go,
 *    since they only describe downloadable files. Readers must check sessions.storage='deleted'.
 *  - Deleting wins over archiving when both are due in one run.
 *  - Moves are crash-safe: copy → read back and check the digest → repoint the rows in one
 *    transaction → delete the sources → mark the session archived. A rerun after a crash reuses
 *    verified copies and removes sources left behind by rows that already point at the archive.
 *  - Only one node runs at a time, holding the `retention` lease (renewed between sessions).
 *  - Blob keys are assumed unique per chunk/file (never shared between sessions).
 */

export interface RetentionReport {
  archived: string[];
  deleted: string[];
  errors: Array<{ sessionId: string; message: string }>;
  skipped?: string;
}

export interface RetentionLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RetentionDeps {
  store: Store;
  blobs: BlobStores;
  settings: { get(): Promise<SessionRecordingSettings> };
  clock: Clock;
  audit: { record(e: AuditInput): Promise<void> };
  nodeId: string;
  logger?: RetentionLogger;
  /** How long the lease outlives a silent holder; renewed after every session. Default 10 minutes. */
  leaseTtlMs?: number;
}

const DAY_MS = 86_400_000;
const LEASE_NAME = 'retention';
const PAGE = 100;
const SYSTEM: AuditActor = { id: null, name: 'system' };

/** One stored blob of a recording: a chunk (by seq) or a finalised/converted file (by format). */
interface MediaItem {
  label: string;
  seq: number | null;
  format: RecordingFileFormat | null;
  location: BlobLocation;
  key: string;
  sha256: string;
  size: number;
}

export class RetentionService {
  private readonly ttl: number;
  private renewedAt = 0;

  constructor(private readonly deps: RetentionDeps) {
    this.ttl = deps.leaseTtlMs ?? 10 * 60_000;
  }

  async runOnce(): Promise<RetentionReport> {
    const { store, nodeId } = this.deps;
    const report: RetentionReport = { archived: [], deleted: [], errors: [] };
    const holder = await acquireLease(store.db, LEASE_NAME, nodeId, this.deps.clock.now(), this.ttl);
    if (holder !== nodeId) return { ...report, skipped: `lease held by ${holder}` };
    this.renewedAt = this.deps.clock.now();
    try {
      const settings = await this.deps.settings.get();
      const now = this.deps.clock.now();
      const failed = new Set<string>();
      const step = async (id: string, work: () => Promise<void>): Promise<boolean> => {
        try {
          await work();
        } catch (err) {
          failed.add(id);
          const message = err instanceof Error ? err.message : String(err);
          report.errors.push({ sessionId: id, message });
          this.deps.logger?.error({ sessionId: id, err: message }, 'retention failed for a session');
        }
        this.renewedAt = this.deps.clock.now();
        return renewLease(store.db, LEASE_NAME, nodeId, this.renewedAt, this.ttl);
      };

      if (settings.deleteEnabled) {
        const ok = await this.forEachDue(now - settings.deleteAfterDays * DAY_MS, ['database', 'share', 'archive'], failed, (id) =>
          step(id, async () => {
            if (await this.deleteMedia(id)) report.deleted.push(id);
          }),
        );
        if (!ok) return { ...report, skipped: 'lease lost during the run' };
      }
      if (settings.archiveEnabled) {
        const ok = await this.forEachDue(now - settings.archiveAfterDays * DAY_MS, ['database', 'share'], failed, (id) =>
          step(id, async () => {
            if (await this.archive(id)) report.archived.push(id);
          }),
        );
        if (!ok) return { ...report, skipped: 'lease lost during the run' };
      }
      return report;
    } finally {
      await releaseLease(store.db, LEASE_NAME, nodeId).catch(() => {});
    }
  }

  /** Runs now and then every `intervalMs` (never overlapping); `stop` waits for a run in progress. */
  start(intervalMs: number): { stop(): Promise<void> } {
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let stopped = false;
    const tick = (): void => {
      running = this.runOnce()
        .then(
          (r) => {
            if (r.archived.length || r.deleted.length || r.errors.length || r.skipped) this.deps.logger?.info({ ...r }, 'retention run');
          },
          (err: unknown) => this.deps.logger?.error({ err: err instanceof Error ? err.message : String(err) }, 'retention run failed'),
        )
        .finally(() => {
          running = undefined;
          if (!stopped) timer = setTimeout(tick, intervalMs).unref();
        });
    };
    timer = setTimeout(tick, 0).unref();
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
      },
    };
  }

  /** Ended (never active) sessions in `storages` that ended before `cutoff`, page by page. False when the lease was lost. */
  private async forEachDue(cutoff: number, storages: StorageLocation[], skip: ReadonlySet<string>, visit: (id: string) => Promise<boolean>): Promise<boolean> {
    let after = '';
    for (;;) {
      const page = await this.deps.store.db
        .selectFrom('sessions')
        .select('id')
        .where('status', '!=', 'active')
        .where('storage', 'in', storages)
        .where((eb) => eb.or([eb('ended_at', '<', cutoff), eb.and([eb('ended_at', 'is', null), eb('last_activity_at', '<', cutoff)])]))
        .where('id', '>', after)
        .orderBy('id')
        .limit(PAGE)
        .execute();
      for (const { id } of page) {
        if (skip.has(id)) continue;
        if (!(await visit(id))) return false;
      }
      if (page.length < PAGE) return true;
      after = page[page.length - 1]!.id;
    }
  }

  /** Moves one session's media to the archive; false when it no longer qualifies. */
  private async archive(sessionId: string): Promise<boolean> {
    const { store, blobs } = this.deps;
    const session = await store.db.selectFrom('sessions').select(['storage', 'status']).where('id', '=', sessionId).executeTakeFirstOrThrow();
    if (session.status === 'active' || (session.storage !== 'database' && session.storage !== 'share')) return false;
    const archive = await blobs.at('archive');
    const items = await mediaOf(store.db, sessionId);

    // 1. Copy every blob not yet in the archive and prove the copy by its digest.
    const moving: Array<{ item: MediaItem; from: BlobStore }> = [];
    for (const item of items) {
      await this.keepLease();
      if (item.location === 'archive') continue;
      const from = await blobs.at(item.location);
      if (from !== archive) await copyVerified(item, from, archive);
      moving.push({ item, from });
    }
    // 2. Repoint the rows, all or nothing.
    await store.db.transaction().execute(async (tx) => {
      for (const { item } of moving) await setLocation(tx, sessionId, item, 'archive');
    });
    // 3. Only now remove the sources; then sources an interrupted earlier run left behind.
    for (const { item, from } of moving) if (from !== archive) await from.delete(item.key);
    for (const item of items) if (item.location === 'archive') await this.removeLeftovers(item, archive);
    // 4. The session flips last, so a crash before this point makes the next run finish the job.
    const now = this.deps.clock.now();
    await store.db.updateTable('sessions').set({ storage: 'archive', archived_at: now }).where('id', '=', sessionId).where('storage', 'in', ['database', 'share']).execute();
    await this.deps.audit.record({
      actor: SYSTEM,
      action: 'recording.archive',
      target: { type: 'session', id: sessionId },
      details: { from: session.storage, chunks: items.filter((i) => i.seq !== null).length, files: items.filter((i) => i.format !== null).length, bytes: sum(items) },
    });
    this.deps.logger?.info({ sessionId, from: session.storage }, 'recording moved to the archive');
    return true;
  }

  /** Renews the lease during a long session (a third of the TTL at most apart); throws if it was lost. */
  private async keepLease(): Promise<void> {
    const now = this.deps.clock.now();
    if (now - this.renewedAt < this.ttl / 3) return;
    if (!(await renewLease(this.deps.store.db, LEASE_NAME, this.deps.nodeId, now, this.ttl))) throw new Error('another node took over the retention lease; stopped');
    this.renewedAt = now;
  }

  /** A row already points at the archive but its source may still exist (crash after step 2). */
  private async removeLeftovers(item: MediaItem, archive: BlobStore): Promise<void> {
    for (const location of ['database', 'share'] as const) {
      const source = await this.deps.blobs.at(location).catch(() => null);
      if (!source || source === archive || !(await source.exists(item.key))) continue;
      if (!(await digestMatches(archive, item))) {
        // The archive copy is bad but a source survived: copy again from it (verified) before deleting.
        if (!(await digestMatches(source, item))) throw new Error(`${item.label}: neither the archive copy nor the copy left in ${location} matches the recorded SHA-256`);
        await copyVerified(item, source, archive, { referenced: true });
      }
      await source.delete(item.key);
    }
  }

  /** Removes one session's media and marks it deleted; false when it no longer qualifies. */
  private async deleteMedia(sessionId: string): Promise<boolean> {
    const { store, blobs } = this.deps;
    const session = await store.db.selectFrom('sessions').select(['storage', 'status', 'ended_at']).where('id', '=', sessionId).executeTakeFirstOrThrow();
    if (session.status === 'active' || session.storage === 'deleted') return false;
    const items = await mediaOf(store.db, sessionId);
    // Each blob goes from its own location (which must be reachable) and, idempotently, from any
    // other configured location where an interrupted move may have left a copy.
    const others: BlobStore[] = [];
    for (const location of ['database', 'share', 'archive'] as const) {
      const s = await blobs.at(location).catch(() => null);
      if (s && !others.includes(s)) others.push(s);
    }
    for (const item of items) {
      await this.keepLease();
      const own = await blobs.at(item.location);
      await own.delete(item.key);
      for (const s of others) if (s !== own) await s.delete(item.key);
    }
    const now = this.deps.clock.now();
    await store.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('recording_files').where('session_id', '=', sessionId).execute();
      await tx.updateTable('sessions').set({ storage: 'deleted', deleted_at: now }).where('id', '=', sessionId).where('storage', '!=', 'deleted').where('status', '!=', 'active').execute();
    });
    await this.deps.audit.record({
      actor: SYSTEM,
      action: 'recording.delete',
      target: { type: 'session', id: sessionId },
      details: { from: session.storage, endedAt: session.ended_at === null ? null : Number(session.ended_at), chunks: items.filter((i) => i.seq !== null).length, files: items.filter((i) => i.format !== null).length, bytes: sum(items) },
    });
    this.deps.logger?.info({ sessionId, from: session.storage }, 'recording media deleted');
    return true;
  }
}

async function mediaOf(db: Kysely<Database>, sessionId: string): Promise<MediaItem[]> {
  const chunks = await db.selectFrom('recording_chunks').select(['seq', 'location', 'blob_key', 'sha256', 'size']).where('session_id', '=', sessionId).orderBy('seq').execute();
  const files = await db.selectFrom('recording_files').select(['format', 'location', 'blob_key', 'sha256', 'size']).where('session_id', '=', sessionId).orderBy('format').execute();
  return [
    ...chunks.map((c) => ({ label: `chunk ${Number(c.seq)}`, seq: Number(c.seq), format: null, location: c.location, key: c.blob_key, sha256: c.sha256, size: Number(c.size) })),
    ...files.map((f) => ({ label: `${f.format} file`, seq: null, format: f.format, location: f.location, key: f.blob_key, sha256: f.sha256, size: Number(f.size) })),
  ];
}

async function setLocation(db: Kysely<Database>, sessionId: string, item: MediaItem, to: BlobLocation): Promise<void> {
  if (item.seq !== null) {
    await db.updateTable('recording_chunks').set({ location: to }).where('session_id', '=', sessionId).where('seq', '=', item.seq).where('location', '=', item.location).execute();
  } else if (item.format !== null) {
    await db.updateTable('recording_files').set({ location: to }).where('session_id', '=', sessionId).where('format', '=', item.format).where('location', '=', item.location).execute();
  }
}

async function digestMatches(store: BlobStore, item: MediaItem): Promise<boolean> {
  try {
    return chunkDigest(await store.get(item.key)) === item.sha256;
  } catch {
    return false;
  }
}

/**
 * Makes `to` hold a copy of the item whose digest matches the recorded one: an existing good copy
 * is reused; a fresh copy is read back and checked. A mismatch throws, leaving the source as it
 * was, and removes the bad copy unless a row already points at it (`referenced`).
 */
async function copyVerified(item: MediaItem, from: BlobStore, to: BlobStore, opts: { referenced?: boolean } = {}): Promise<void> {
  if (!opts.referenced && (await to.exists(item.key)) && (await digestMatches(to, item))) return;
  let data: Buffer;
  try {
    data = await from.get(item.key);
  } catch (err) {
    throw new Error(`${item.label}: cannot read it from ${item.location} (${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'blob not found' : (err as Error).message})`, { cause: err });
  }
  await to.put(item.key, data);
  if (!(await digestMatches(to, item))) {
    if (!opts.referenced) await to.delete(item.key).catch(() => {});
    throw new Error(`${item.label}: the archive copy does not match the recorded SHA-256; the move was stopped and the source left in place`);
  }
}

function sum(items: readonly MediaItem[]): number {
  return items.reduce((n, i) => n + i.size, 0);
}

/**
 * Takes or renews the named lease in one atomic statement (works on SQLite and PostgreSQL):
 * insert it, or take it over when it has expired or is already ours. Returns the holder after the
 * attempt, which is `holder` when it was acquired.
 */
export async function acquireLease(db: Kysely<Database>, name: string, holder: string, now: number, ttlMs: number): Promise<string> {
  const expires = now + ttlMs;
  const won = await db
    .insertInto('leases')
    .values({ name, holder, expires_at: expires })
    .onConflict((oc) => oc.column('name').doUpdateSet({ holder, expires_at: expires }).where((eb) => eb.or([eb('leases.expires_at', '<', now), eb('leases.holder', '=', holder)])))
    .returning('holder')
    .executeTakeFirst();
  if (won) return won.holder;
  const current = await db.selectFrom('leases').select('holder').where('name', '=', name).executeTakeFirst();
  return current?.holder ?? '(unknown)';
}

/** Extends a lease we hold; false when another node has taken it over. */
export async function renewLease(db: Kysely<Database>, name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
  const r = await db.updateTable('leases').set({ expires_at: now + ttlMs }).where('name', '=', name).where('holder', '=', holder).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function releaseLease(db: Kysely<Database>, name: string, holder: string): Promise<void> {
  await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
}
