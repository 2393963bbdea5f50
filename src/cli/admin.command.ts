import os from 'node:os';
import { SettingsBlobStores } from '../adapters/blobs/blob-stores.ts';
import { checkWritableDir } from '../adapters/fs/writable-dir.ts';
import { openStore } from '../adapters/store/open-store.ts';
import type { Store } from '../adapters/store/store.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { AuditService } from '../core/audit/audit.service.ts';
import { systemClock } from '../core/clock.ts';
import { NotFoundError } from '../core/errors.ts';
import { verifyRecording } from '../core/recording/integrity.ts';
import { RetentionService } from '../core/recording/retention.ts';
import { SettingsService } from '../core/settings/settings.service.ts';

export const ADMIN_USAGE = `usage: vigil admin <command>

commands:
  retention --now          run the storage lifecycle (archive, delete) once and print what it did
  verify <session-id>      recompute a recording's hash chain; exit 0 valid, 1 invalid
`;

interface Io {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
}

/**
 * `vigil admin …`. Exit codes: 0 done / valid, 1 errors / invalid / skipped (another node holds
 * the retention lease), 2 usage, configuration or unknown session.
 */
export async function runAdminCommand(args: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'retention':
      if (rest.length !== 1 || rest[0] !== '--now') return usage(io, 'retention takes --now');
      return withStore(io, (store) => retention(store, io));
    case 'verify':
      if (rest.length !== 1 || !rest[0] || rest[0].startsWith('-')) return usage(io, 'verify takes one session id');
      return withStore(io, (store) => verify(store, rest[0]!, io));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out.write(ADMIN_USAGE);
      return command === undefined ? 2 : 0;
    default:
      return usage(io, `unknown admin command "${command}"`);
  }
}

function usage(io: Io, problem: string): number {
  io.err.write(`vigil admin: ${problem}\n${ADMIN_USAGE}`);
  return 2;
}

async function withStore(io: Io, work: (store: Store) => Promise<number>): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err.write(`vigil: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function services(store: Store): { settings: SettingsService; blobs: SettingsBlobStores } {
  const settings = new SettingsService(store, systemClock, checkWritableDir);
  const blobs = new SettingsBlobStores(store, async () => {
    const s = await settings.get();
    return { storagePath: s.storagePath, archivePath: s.archivePath };
  });
  return { settings, blobs };
}

async function retention(store: Store, io: Io): Promise<number> {
  const { settings, blobs } = services(store);
  const service = new RetentionService({
    store,
    blobs,
    settings,
    clock: systemClock,
    audit: new AuditService(store, systemClock),
    nodeId: `cli@${os.hostname()}:${process.pid}`,
  });
  const report = await service.runOnce();
  if (report.skipped && report.archived.length === 0 && report.deleted.length === 0) {
    io.err.write(`vigil admin retention: skipped, ${report.skipped} (a server's retention worker is running; try again later)\n`);
    return 1;
  }
  for (const id of report.archived) io.out.write(`archived ${id}\n`);
  for (const id of report.deleted) io.out.write(`deleted  ${id}\n`);
  for (const e of report.errors) io.out.write(`error    ${e.sessionId}: ${e.message}\n`);
  if (report.skipped) io.out.write(`stopped early: ${report.skipped}\n`);
  io.out.write(`retention: ${report.archived.length} archived, ${report.deleted.length} deleted, ${report.errors.length} errors\n`);
  return report.errors.length > 0 || report.skipped ? 1 : 0;
}

async function verify(store: Store, sessionId: string, io: Io): Promise<number> {
  const { blobs } = services(store);
  let r;
  try {
    r = await verifyRecording(store, blobs, sessionId);
  } catch (err) {
    if (err instanceof NotFoundError) {
      io.err.write(`vigil admin verify: session ${sessionId} not found\n`);
      return 2;
    }
    throw err;
  }
  const head = r.head ?? '(none)';
  if (r.deleted) {
    io.out.write(`deleted: the recording's media was removed by retention; nothing to verify (${r.chunks} chunk digests kept, head ${head})\n`);
    return 1;
  }
  if (r.valid) {
    io.out.write(`valid: ${r.chunks} chunks, head ${head}\n`);
    return 0;
  }
  for (const p of r.problems) io.out.write(`seq ${p.seq}: ${p.kind}: ${p.message}\n`);
  for (const f of r.files) if (!f.valid) io.out.write(`${f.format}: ${f.message ?? 'invalid'}\n`);
  const count = r.problems.length + r.files.filter((f) => !f.valid).length;
  io.out.write(`invalid: ${count} problem${count === 1 ? '' : 's'} in ${r.chunks} chunks, recorded head ${head}\n`);
  return 1;
}
