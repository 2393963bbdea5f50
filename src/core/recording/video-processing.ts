import fs from 'node:fs/promises';
import path from 'node:path';
import type { Bus, JobMeta, Json, Subscription } from '../../adapters/bus/bus.ts';
import type { Store } from '../../adapters/store/store.ts';
import type { Clock } from '../clock.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { BlobLocation, BlobStores } from './blob-store.ts';
import { RecordingFiles } from './recording-files.ts';
import type { Transcoder } from './transcoder.ts';

export const VIDEO_CONVERT_QUEUE = 'video.convert';

/** `queued` (waiting, or waiting for a retry), `running`, `done`, `failed`; null before any request. */
export type ProcessingState = 'queued' | 'running' | 'done' | 'failed';

export interface ProcessingStatus {
  state: string | null;
  progress: number | null;
  error: string | null;
}

export interface VideoProcessingLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface VideoProcessingDeps {
  store: Store;
  blobs: BlobStores;
  bus: Bus;
  transcoder: Transcoder;
  settings: { get(): Promise<{ onDemandProcessing: boolean; processingConcurrency: number }> };
  clock: Clock;
  /** Where ffmpeg's input and output files go while a job runs. */
  tmpDir: string;
  logger?: VideoProcessingLogger;
  /** Deliveries of a failing conversion before it stays `failed` (default 3). */
  maxAttempts?: number;
  /** Delay before a failed conversion is tried again (default 10 s). */
  retryDelayMs?: number;
}

/** Progress is written to the session at most once per this step (and at the end). */
const PROGRESS_STEP = 0.05;

type SessionRow = { id: string; status: string; media: string | null; storage: string; processing_state: string | null; processing_progress: number | null; processing_error: string | null };

/**
 * Video processing of desktop recordings: at session end the uploaded WebM chunks are joined and
 * remuxed into a seekable WebM (`finalize`); H.264/MP4 conversion runs as `video.convert` jobs on
 * the Bus, on request or automatically (setting *on-demand video processing* off), with progress
 * and errors kept on the session.
 */
export class VideoProcessing {
  private readonly files: RecordingFiles;
  private readonly maxAttempts: number;
  /** Conversions running in this process (session id → abort), so shutdown can stop them. */
  private readonly running = new Map<string, AbortController>();
  /** Jobs this process put on the bus; the memory bus loses them at restart (see startWorker). */
  private readonly enqueued = new Set<string>();

  constructor(private readonly deps: VideoProcessingDeps) {
    this.files = new RecordingFiles(deps.store, deps.blobs, deps.clock);
    this.maxAttempts = deps.maxAttempts ?? 3;
  }

  /**
   * Called when a desktop session ends: builds the seekable WebM from its chunks, records the
   * duration, and queues the MP4 conversion unless processing is on demand. A session without
   * video is left alone; a recording ffmpeg cannot read marks processing `failed` and rejects.
   */
  async finalize(sessionId: string): Promise<void> {
    return this.serial(sessionId, () => this.finalizeNow(sessionId));
  }

  /**
   * Finalises again, after the first finalisation at session end: a launcher whose session was
   * ended elsewhere (terminated, interrupted) has since uploaded what it spooled. Serialised with
   * any finalisation still running, so the newest chunks always win.
   */
  async refinalize(sessionId: string): Promise<void> {
    return this.serial(sessionId, () => this.finalizeNow(sessionId));
  }

  /** One finalisation per session at a time, so an older one never overwrites a newer one. */
  private readonly finalizing = new Map<string, Promise<void>>();
  private serial(sessionId: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.finalizing.get(sessionId) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.finalizing.set(sessionId, tail);
    void tail.then(() => {
      if (this.finalizing.get(sessionId) === tail) this.finalizing.delete(sessionId);
    });
    return run;
  }

  private async finalizeNow(sessionId: string): Promise<void> {
    const s = await this.session(sessionId);
    if (s.media !== 'webm' || s.storage === 'deleted') return;
    try {
      if (!(await this.writeWebm(s))) return;
    } catch (err) {
      await this.setStatus(sessionId, { processing_state: 'failed', processing_error: `finalising the WebM failed: ${oneLine(err)}` });
      throw err;
    }
    if (!(await this.deps.settings.get()).onDemandProcessing) await this.enqueue(sessionId);
  }

  /** Queues the MP4 conversion of an ended desktop session; nothing new if it is queued, running or done. */
  async request(sessionId: string): Promise<ProcessingStatus> {
    const s = await this.session(sessionId);
    if (s.media !== 'webm') throw new ConflictError('this session has no video recording to convert');
    if (s.storage === 'deleted') throw new ConflictError('this session\'s recording has been deleted');
    if (s.status === 'active') throw new ConflictError('the session is still recording; request processing after it ends');
    return this.enqueue(sessionId);
  }

  /**
   * Consumes `video.convert` with the configured concurrency. The subscription's `unsubscribe`
   * stops running conversions (they go back to `queued` and the bus delivers them again).
   */
  async startWorker(): Promise<Subscription> {
    const { processingConcurrency } = await this.deps.settings.get();
    const sub = await this.deps.bus.consume(VIDEO_CONVERT_QUEUE, (job, meta) => this.convertJob(job, meta), {
      concurrency: Math.max(1, processingConcurrency),
      maxAttempts: this.maxAttempts,
      retryDelayMs: this.deps.retryDelayMs ?? 10_000,
    });
    if (this.deps.bus.kind === 'memory') await this.requeueLost();
    return {
      unsubscribe: async () => {
        for (const c of this.running.values()) c.abort();
        await sub.unsubscribe();
      },
    };
  }

  private async enqueue(sessionId: string): Promise<ProcessingStatus> {
    const { db } = this.deps.store;
    const current = await this.session(sessionId);
    if (current.processing_state === 'queued' || current.processing_state === 'running') return status(current);
    if (current.processing_state === 'done' && (await this.files.get(sessionId, 'mp4'))) return status(current);
    // Claim the transition, so two requests at once enqueue one job.
    const claimed = await db
      .updateTable('sessions')
      .set({ processing_state: 'queued', processing_progress: 0, processing_error: null })
      .where('id', '=', sessionId)
      .where((eb) => (current.processing_state === null ? eb('processing_state', 'is', null) : eb('processing_state', '=', current.processing_state)))
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return status(await this.session(sessionId));
    try {
      await this.deps.bus.enqueue(VIDEO_CONVERT_QUEUE, { sessionId });
      this.enqueued.add(sessionId);
    } catch (err) {
      await this.setStatus(sessionId, { processing_state: 'failed', processing_error: `could not queue the conversion: ${oneLine(err)}` });
      throw err;
    }
    return { state: 'queued', progress: 0, error: null };
  }

  /** Builds and stores the seekable WebM; false when the session has no chunks. */
  private async writeWebm(s: SessionRow): Promise<boolean> {
    return this.inTempDir(async (dir) => {
      const raw = path.join(dir, 'chunks.webm');
      const { chunks, gaps } = await this.files.concatChunks(s.id, raw);
      if (chunks === 0) return false;
      if (gaps > 0) this.deps.logger?.warn({ sessionId: s.id, gaps }, 'video: recording has missing chunks; finalising what arrived');
      const seekable = path.join(dir, 'recording.webm');
      const { durationMs } = await this.deps.transcoder.remuxWebm(raw, seekable);
      const previous = await this.files.get(s.id, 'webm');
      const saved = await this.files.save(s.id, 'webm', location(s.storage), seekable);
      await this.deps.store.db.updateTable('sessions').set({ duration_ms: durationMs }).where('id', '=', s.id).execute();
      // Chunks that arrived after an earlier finalisation change the WebM: the old MP4 no longer matches it.
      if (previous && previous.sha256 !== saved.sha256 && (await this.files.get(s.id, 'mp4'))) {
        await this.files.remove(s.id, 'mp4');
        await this.deps.store.db.updateTable('sessions').set({ processing_state: null, processing_progress: null }).where('id', '=', s.id).where('processing_state', '=', 'done').execute();
      }
      this.deps.logger?.info({ sessionId: s.id, chunks, durationMs, bytes: saved.size }, 'video: WebM finalised');
      return true;
    });
  }

  private async convertJob(job: Json, meta: JobMeta): Promise<void> {
    const sessionId = typeof job === 'object' && job !== null && !Array.isArray(job) && typeof job.sessionId === 'string' ? job.sessionId : null;
    if (sessionId === null) {
      this.deps.logger?.warn({ job }, 'video: malformed conversion job dropped');
      return;
    }
    this.enqueued.delete(sessionId);
    // A duplicate delivery while this process converts the same session: the running one suffices.
    if (this.running.has(sessionId)) return;
    const s = await this.deps.store.db.selectFrom('sessions').select(SESSION_COLUMNS).where('id', '=', sessionId).executeTakeFirst();
    if (!s || s.media !== 'webm' || s.storage === 'deleted') return;
    if (s.processing_state === 'done' && (await this.files.get(sessionId, 'mp4'))) return;

    const abort = new AbortController();
    this.running.set(sessionId, abort);
    const progress = new ProgressWriter((p) => this.setStatus(sessionId, { processing_progress: p }));
    try {
      await this.setStatus(sessionId, { processing_state: 'running', processing_progress: 0, processing_error: null });
      await this.inTempDir(async (dir) => {
        const webm = await this.currentWebm(s);
        if (!webm) throw new Error('the session has no recorded video');
        const input = path.join(dir, 'input.webm');
        const output = path.join(dir, 'recording.mp4');
        await this.files.fetch(webm, input);
        const { durationMs } = await this.deps.transcoder.toMp4(input, output, { onProgress: (f) => progress.report(f), signal: abort.signal });
        await progress.flush();
        const mp4 = await this.files.save(sessionId, 'mp4', webm.location, output);
        await this.setStatus(sessionId, { processing_state: 'done', processing_progress: 1, processing_error: null });
        this.deps.logger?.info({ sessionId, durationMs, bytes: mp4.size, attempt: meta.attempt }, 'video: MP4 ready');
      });
    } catch (err) {
      await progress.flush();
      const last = !abort.signal.aborted && meta.attempt >= this.maxAttempts;
      if (!last) this.enqueued.add(sessionId); // the bus delivers it again
      if (abort.signal.aborted) {
        // Shutdown: not the recording's fault.
        await this.setStatus(sessionId, { processing_state: 'queued', processing_error: null });
      } else {
        const reason = oneLine(err);
        await this.setStatus(sessionId, last
          ? { processing_state: 'failed', processing_error: reason }
          : { processing_state: 'queued', processing_error: `attempt ${meta.attempt} of ${this.maxAttempts} failed, retrying: ${reason}` });
        this.deps.logger?.warn({ sessionId, attempt: meta.attempt, final: last, reason }, 'video: conversion failed');
      }
      throw err;
    } finally {
      this.running.delete(sessionId);
    }
  }

  /** The finalised WebM, finalising first when it is missing or older than the newest chunk. */
  private async currentWebm(s: SessionRow) {
    const webm = await this.files.get(s.id, 'webm');
    if (webm && webm.createdAt >= (await this.files.newestChunkAt(s.id))) return webm;
    await this.writeWebm(s);
    return this.files.get(s.id, 'webm');
  }

  /** The memory bus keeps nothing across a restart: put back conversions left queued or running. */
  private async requeueLost(): Promise<void> {
    const rows = await this.deps.store.db.selectFrom('sessions').select('id').where('processing_state', 'in', ['queued', 'running']).execute();
    for (const { id } of rows) {
      if (this.enqueued.has(id) || this.running.has(id)) continue;
      await this.deps.bus.enqueue(VIDEO_CONVERT_QUEUE, { sessionId: id });
      this.enqueued.add(id);
    }
    if (rows.length > 0) this.deps.logger?.info({ sessions: rows.length }, 'video: re-queued conversions interrupted by a restart');
  }

  private async session(sessionId: string): Promise<SessionRow> {
    const s = await this.deps.store.db.selectFrom('sessions').select(SESSION_COLUMNS).where('id', '=', sessionId).executeTakeFirst();
    if (!s) throw new NotFoundError('session');
    return s;
  }

  private async setStatus(sessionId: string, set: { processing_state?: ProcessingState | null; processing_progress?: number | null; processing_error?: string | null }): Promise<void> {
    await this.deps.store.db.updateTable('sessions').set(set).where('id', '=', sessionId).execute();
  }

  private async inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    await fs.mkdir(this.deps.tmpDir, { recursive: true });
    const dir = await fs.mkdtemp(path.join(this.deps.tmpDir, 'vigil-video-'));
    try {
      return await fn(dir);
    } catch (err) {
      // ffmpeg names its files: keep the temporary directory out of the reason shown on the session.
      if (err instanceof Error) err.message = err.message.split(dir + path.sep).join('');
      throw err;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}

const SESSION_COLUMNS = ['id', 'status', 'media', 'storage', 'processing_state', 'processing_progress', 'processing_error'] as const;

/** Writes progress in steps, one write at a time, so a late write never overwrites the final state. */
class ProgressWriter {
  private written = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly write: (fraction: number) => Promise<void>) {}

  report(fraction: number): void {
    if (fraction < 1 && fraction - this.written < PROGRESS_STEP) return;
    if (fraction <= this.written) return;
    this.written = fraction;
    const value = Math.round(fraction * 1000) / 1000;
    this.tail = this.tail.then(() => this.write(value)).catch(() => undefined);
  }

  flush(): Promise<void> {
    return this.tail;
  }
}

function status(s: Pick<SessionRow, 'processing_state' | 'processing_progress' | 'processing_error'>): ProcessingStatus {
  return { state: s.processing_state, progress: s.processing_progress === null ? null : Number(s.processing_progress), error: s.processing_error };
}

function location(storage: string): BlobLocation {
  return storage === 'share' || storage === 'archive' ? storage : 'database';
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n').find((l) => l.trim() !== '') ?? 'unknown error').trim().slice(0, 500);
}
