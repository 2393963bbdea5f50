import os from 'node:os';
import type { Store } from '../../adapters/store/store.ts';
import { DEFAULT_SESSION_RECORDING_SETTINGS, sessionRecordingFields, sessionRecordingSettings, type SessionRecordingSettings } from '../../protocol/settings.ts';
import type { Clock } from '../clock.ts';
import { ValidationError } from '../errors.ts';

export const SESSION_RECORDING_KEY = 'session-recording';

/** Throws an Error with a readable message when `path` is not (and cannot become) a writable directory. */
export type WritableDirCheck = (path: string) => Promise<void>;

type Field = keyof SessionRecordingSettings;
const FIELDS = Object.keys(sessionRecordingFields) as Field[];

/** The session-recording settings: defaults merged with what an administrator saved. */
export class SettingsService {
  private readonly defaults: SessionRecordingSettings;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly fsCheck: WritableDirCheck,
    opts: { cores?: number } = {},
  ) {
    const cores = opts.cores ?? os.availableParallelism();
    this.defaults = { ...DEFAULT_SESSION_RECORDING_SETTINGS, processingConcurrency: Math.min(64, Math.max(1, Math.floor(cores / 2))) };
  }

  async get(): Promise<SessionRecordingSettings> {
    const row = await this.store.db.selectFrom('settings').select('value').where('key', '=', SESSION_RECORDING_KEY).executeTakeFirst();
    if (!row) return { ...this.defaults };
    let stored: Record<string, unknown>;
    try {
      stored = JSON.parse(row.value) as Record<string, unknown>;
    } catch {
      return { ...this.defaults };
    }
    if (typeof stored !== 'object' || stored === null) return { ...this.defaults };
    // Field by field, so a value saved by an older or newer version never breaks the rest.
    const merged: Record<string, unknown> = { ...this.defaults };
    for (const f of FIELDS) {
      const value = f in stored ? sessionRecordingFields[f].safeParse(stored[f]) : undefined;
      if (value?.success) merged[f] = value.data;
    }
    const checked = sessionRecordingSettings.safeParse(merged);
    return checked.success ? checked.data : { ...this.defaults };
  }

  /**
   * Replaces the settings with `input`, a full object (see protocol/settings.ts). Directories
   * coming into use (newly enabled or changed) are created if needed and must be writable; a path
   * already in use is not re-checked, so an unreachable share cannot block unrelated changes.
   */
  async put(input: SessionRecordingSettings, actor: { id: string | null }): Promise<{ settings: SessionRecordingSettings; previous: SessionRecordingSettings; changed: Field[] }> {
    const parsed = sessionRecordingSettings.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.code === 'unrecognized_keys' ? (issue.keys[0] ?? '') : issue.path.join('.');
      throw new ValidationError(`${field}: ${issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message}`, field);
    }
    const next = parsed.data;
    const previous = await this.get();
    const changed = FIELDS.filter((f) => JSON.stringify(next[f]) !== JSON.stringify(previous[f]));

    if (next.storage === 'directory' && (changed.includes('storage') || changed.includes('storagePath'))) await this.checkDir('storagePath', next.storagePath!);
    if (next.archiveEnabled && (changed.includes('archiveEnabled') || changed.includes('archivePath'))) await this.checkDir('archivePath', next.archivePath!);

    if (changed.length > 0) {
      const now = this.clock.now();
      const value = JSON.stringify(next);
      await this.store.db
        .insertInto('settings')
        .values({ key: SESSION_RECORDING_KEY, value, updated_at: now, updated_by: actor.id })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now, updated_by: actor.id }))
        .execute();
    }
    return { settings: next, previous, changed };
  }

  private async checkDir(field: 'archivePath' | 'storagePath', dir: string): Promise<void> {
    try {
      await this.fsCheck(dir);
    } catch (err) {
      throw new ValidationError(`${field}: ${err instanceof Error ? err.message : String(err)}`, field);
    }
  }
}
