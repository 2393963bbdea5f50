import type { FfmpegBinaries } from '../adapters/media/ffmpeg-locator.ts';
import type { RedeemAnswer } from '../protocol/launch.ts';
import { ControlChannel } from './control-channel.ts';
import { FrameClock } from './frame-clock.ts';
import type { VideoCodec } from './ivf-reader.ts';
import { EXIT, LauncherError, type ExitCode } from './errors.ts';
import { startProgram, type LaunchedProgram } from './program.ts';
import { killTree } from './process-tree.ts';
import { grabKeyframe, ScreenCapture, type Screen } from './screen-capture.ts';
import { HttpError, UnreachableError, type ServerClient } from './server-client.ts';
import { ChunkSpool } from './spool.ts';
import { Uplink } from './uplink.ts';
import { WebmWriter } from './webm-writer.ts';
import { ActiveWindowWatcher, DIALOG_INSTANCE, OwnDialogs } from './x11.ts';

/**
 * Grabbed frames after a change of the launcher's dialogs whose changes outside them are not
 * counted as the user's activity: about as many frames as the capture pipeline holds (ffmpeg's
 * queues and the pipe) when it runs behind.
 */
const DIALOG_SETTLE_FRAMES = 4;

export interface SessionOptions {
  display: string;
  fps: number;
  spoolRoot: string;
  /** How long to keep trying to upload the spooled recording after the session ends (ms). */
  uploadWaitMs: number;
  /** Local time (ms) matching the session's start; event times and the video count from here. */
  origin: number;
  log: (line: string) => void;
  /** Encoded frames between keyframes (default KEYFRAME_FRAMES, screen-capture.ts). */
  keyframeFrames?: number;
}

type EndKind = 'ended' | 'terminated' | 'fail-closed' | 'limit';
type Ending = { kind: EndKind; reason: string; by?: string };

/**
 * One recorded desktop session, from redeemed grant to closed session: capture, the launched
 * program, activity events, control, limits and fail-closed. `run()` resolves to the exit code.
 */
export class DesktopSession {
  private readonly spool: ChunkSpool;
  private readonly uplink: Uplink;
  private control: ControlChannel | null = null;
  private capture: ScreenCapture | null = null;
  private writer: WebmWriter | null = null;
  private pending: Buffer[] = [];
  private program: LaunchedProgram | null = null;
  private windows: ActiveWindowWatcher | null = null;
  private ending: Ending | null = null;
  /** When the end was decided (ms from the session start): later frames show only our own end dialog. */
  private endAt: number | undefined;
  private endRequested!: (e: Ending) => void;
  private readonly endPromise: Promise<Ending>;
  private lastActivity = Date.now();
  /** What counted as the user's last activity (logged when it withdraws an inactivity warning). */
  private lastActivitySource = 'the session start';
  /** `dialogs.events` as last seen by the frame callback, and frames grabbed since it changed. */
  private dialogEvents = 0;
  private framesSinceDialog = Number.POSITIVE_INFINITY;
  /** The launcher's own dialogs: their screen changes and focus moves are not the user's. */
  private readonly dialogs: OwnDialogs;
  /** Frame times from the encoder's time stamps. */
  private readonly clock: FrameClock;
  private warned = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  readonly sessionId: string;

  constructor(
    private readonly upload: ServerClient,
    private readonly answer: RedeemAnswer,
    private readonly opts: SessionOptions,
    private readonly captureSetup: { ffmpeg: FfmpegBinaries; screen: Screen } | null,
  ) {
    this.sessionId = answer.session.id;
    this.dialogs = new OwnDialogs(opts.display);
    this.clock = new FrameClock(opts.origin);
    this.spool = new ChunkSpool(opts.spoolRoot, this.sessionId);
    this.endPromise = new Promise((resolve) => (this.endRequested = resolve));
    this.uplink = new Uplink(upload, this.sessionId, this.spool, {
      status: (s) => {
        if (s === 'terminated') this.end({ kind: 'terminated', reason: 'the session was terminated on the server' });
        else if (s !== 'active') this.end({ kind: 'terminated', reason: `the server marked the session ${s}` });
      },
      fatal: (m) => opts.log(m),
      log: (m) => opts.log(m),
    });
  }

  private now(): number {
    return Date.now() - this.opts.origin;
  }

  /** `at`: when the server ended the session (ms from its start), if it did; never later than now. */
  end(e: Ending, at?: number): void {
    if (this.ending) return;
    this.ending = e;
    this.endAt = at === undefined ? this.now() : Math.min(this.now(), at);
    this.endRequested(e);
  }

  async run(): Promise<ExitCode> {
    const policy = this.answer.policy;
    this.uplink.start();
    this.control = new ControlChannel(this.upload.controlUrl(this.sessionId), this.upload.authorization!, (m) => {
      switch (m.type) {
        case 'message':
          this.dialog(`Vigil: message from ${m.by ?? 'an administrator'}: ${m.text}`, m.text);
          break;
        case 'terminate':
          this.end({ kind: 'terminated', reason: m.reason || 'terminated by an administrator', by: m.by }, m.at);
          break;
        case 'snapshot-request':
          this.sendJoinPoint();
          break;
      }
    });
    this.control.start();

    try {
      await this.startup(policy.videoCodec);
    } catch (err) {
      // Nothing was launched, or it is stopped now: leave no timer, socket or child behind.
      this.ending = { kind: 'ended', reason: 'start-up failed' };
      for (const t of this.timers) clearInterval(t);
      this.windows?.stop();
      this.dialogs.stop();
      if (this.program) await killTree(this.program.child.pid!, this.program.marker);
      this.program?.cleanup();
      await this.capture?.stop();
      this.uplink.stop();
      this.control.close();
      this.spool.removeIfEmpty();
      throw err;
    }
    const ending = await this.endPromise;
    return this.finish(ending);
  }

  private async startup(codec: VideoCodec): Promise<void> {
    if (this.captureSetup) await this.startCapture(this.captureSetup, codec);

    this.windows = new ActiveWindowWatcher(this.opts.display, (w) => {
      this.dialogs.focusFollows = true;
      if (w.instance === DIALOG_INSTANCE) this.dialogs.settle();
      else if (!this.dialogs.quiet) this.active(`the active window changed to ${JSON.stringify(w.app)}`);
      this.uplink.event('window', this.now(), w.title, { app: w.app, instance: w.instance, pid: w.pid, window: w.window });
    });
    this.windows.start();

    const launcher = this.answer.launcher ?? { type: 'ssh' as const };
    this.program = startProgram(launcher, this.answer.target, { display: this.opts.display, sessionId: this.sessionId });
    this.opts.log(`session ${this.sessionId}: started ${launcher.type} launcher (pid ${this.program.child.pid})${this.capture ? ', recording the screen' : ''}`);
    void this.program.exited.then(({ code, signal }) => this.end({ kind: 'ended', reason: `the launched program exited (${signal ?? `code ${code}`})` }));

    this.timers.push(setInterval(() => this.cutChunk(), 1000));
    this.timers.push(setInterval(() => this.watchdog(), 500));
  }

  private async startCapture(setup: { ffmpeg: FfmpegBinaries; screen: Screen }, codec: VideoCodec): Promise<void> {
    let firstFrame!: () => void;
    const gotFrame = new Promise<void>((r) => (firstFrame = r));
    let exited: ((msg: string) => void) | null = null;
    const died = new Promise<string>((r) => (exited = r));
    const capture = new ScreenCapture(setup.ffmpeg, setup.screen, { display: this.opts.display, codec, fps: this.opts.fps, keyframeFrames: this.opts.keyframeFrames }, {
      header: (h) => {
        this.writer = new WebmWriter(h);
        this.pending.push(this.writer.init);
        firstFrame();
      },
      frame: (f, localMs) => {
        const t = this.clock.stamp(f.ptsMs, localMs);
        // After the end was decided the screen shows the end dialog while the program is being
        // stopped; those frames would make the video outlast the session (the final keyframe,
        // timed at the end, shows that screen).
        if (this.endAt !== undefined && t > this.endAt) return;
        this.pending.push(this.writer!.frame(t, f.keyframe, f.data));
      },
      change: (fraction, outside, where) => {
        // Frames are counted from the dialogs' last change: on a loaded machine the grab and the
        // encoder run seconds behind, so the frame showing what a dialog did (appearing, taking
        // the focus, going) may arrive after the settling time measured on the clock.
        const events = this.dialogs.events;
        if (events !== this.dialogEvents) {
          this.dialogEvents = events;
          this.framesSinceDialog = 0;
        } else this.framesSinceDialog += 1;
        if (fraction <= 0) return;
        if (outside > 0 && !this.dialogs.quiet && this.framesSinceDialog >= DIALOG_SETTLE_FRAMES) {
          const box = where ? ` at ${where.width}x${where.height}+${where.x}+${where.y}` : '';
          this.active(`${(outside * 100).toFixed(2)} % of the screen changed outside Vigil's dialogs${box}, ${this.framesSinceDialog} frames after they last changed`);
        }
        this.uplink.event('screen-change', this.now(), '', { magnitude: Math.round(fraction * 10000) / 10000 });
      },
      mask: () => this.dialogs.mask(),
      exit: (code, stderr) => {
        exited?.(stderr.trim().split('\n').pop() || `ffmpeg exited with code ${code}`);
        if (!this.ending && this.writer) this.end({ kind: 'terminated', reason: `screen recording stopped unexpectedly: ${stderr.trim().split('\n').pop() ?? code}` });
      },
    });
    this.capture = capture;
    capture.start();
    const timeout = new Promise<string>((r) => setTimeout(() => r('no frame within 10 s'), 10_000));
    const first = await Promise.race([gotFrame.then(() => null), died, timeout]);
    if (first !== null) {
      await capture.stop();
      throw new LauncherError(EXIT.captureImpossible, `cannot record the screen: ${first}`);
    }
  }

  private active(source: string): void {
    this.lastActivity = Date.now();
    this.lastActivitySource = source;
  }

  private dialog(title: string, text: string, opts: { timeoutSeconds?: number } = {}): void {
    this.dialogs.show(title, text, opts);
  }

  /** Moves the bytes muxed since the last cut into the spool, then to the server and live viewers. */
  private cutChunk(): void {
    if (this.pending.length === 0) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    const seq = this.spool.append(data);
    this.uplink.kick();
    this.control?.live({ type: 'media', seq, data: data.toString('base64') });
  }

  /**
   * A viewer joined: send the WebM header and the current cluster (which starts at a keyframe),
   * after flushing what is pending so no byte reaches a viewer twice in one stream.
   */
  private sendJoinPoint(): void {
    if (!this.writer) return;
    this.cutChunk();
    this.control?.live({ type: 'media', join: true, data: this.writer.joinPoint().toString('base64') });
  }

  private watchdog(): void {
    if (this.ending) return;
    const p = this.answer.policy;
    const now = Date.now();
    if (p.failClosedSeconds > 0 && now - this.uplink.lastContact > p.failClosedSeconds * 1000) {
      this.end({ kind: 'fail-closed', reason: `the Vigil server was unreachable for more than ${p.failClosedSeconds} s (fail closed)` });
      return;
    }
    this.limit('inactivity', p.inactivityTimeoutMinutes * 60_000, now - this.lastActivity, 'no activity');
    this.limit('max', p.maxSessionMinutes * 60_000, now - this.opts.origin, 'the maximum session length');
  }

  /** Warns once a minute (or half the limit) before `limitMs`, then ends the session. */
  private limit(name: string, limitMs: number, elapsed: number, what: string): void {
    if (limitMs <= 0) return;
    const lead = Math.min(60_000, limitMs / 2);
    if (elapsed >= limitMs) {
      this.end({ kind: 'limit', reason: `the session reached ${what} limit (${Math.round(limitMs / 60_000)} min)` });
    } else if (elapsed >= limitMs - lead && !this.warned.has(name)) {
      this.warned.add(name);
      const secs = Math.ceil((limitMs - elapsed) / 1000);
      this.dialog('Vigil: your session will end soon', `Your session will end in ${secs} seconds: ${what === 'no activity' ? 'it has been inactive' : 'it reached the maximum session length'}.`, { timeoutSeconds: secs + 30 });
    } else if (name === 'inactivity' && elapsed < limitMs - lead && this.warned.has(name)) {
      this.warned.delete(name);
      this.opts.log(`session ${this.sessionId}: active again after the inactivity warning (${this.lastActivitySource}); the inactivity timer starts over`);
    }
  }

  private async finish(e: Ending): Promise<ExitCode> {
    const log = this.opts.log;
    const endAt = this.endAt ?? this.now();
    if (e.kind !== 'ended') {
      const title = e.kind === 'terminated' ? `Vigil: session terminated${e.by ? ` by ${e.by}` : ''}` : 'Vigil: session stopped';
      this.dialog(`${title}: ${e.reason}`, `${title}.\n\n${e.reason}`);
    }
    log(`session ${this.sessionId}: ending (${e.reason})`);
    for (const t of this.timers) clearInterval(t);
    this.windows?.stop();
    this.dialogs.stop();
    // The program's whole tree goes first; ffmpeg stops meanwhile (it may sit up to a frame
    // interval in its grab).
    const program = this.program;
    await Promise.all([
      program ? killTree(program.child.pid!, program.marker).then(() => program.cleanup()) : Promise.resolve(),
      this.capture?.stop(),
    ]);
    if (this.capture && this.writer) {
      // The last frame at the real end: the screen may have sat still since the last change.
      // Its time: the session's end as the server records it — the moment the end was decided
      // (terminate, limit, fail-closed: the server or the launcher ended it then), or, when the
      // program ended by itself, the close that follows right after this frame.
      const last = await grabKeyframe(this.captureSetup!.ffmpeg, this.captureSetup!.screen, this.opts.display, this.answer.policy.videoCodec);
      const lastAt = e.kind === 'ended' ? this.now() : endAt;
      if (last) this.pending.push(this.writer.frame(Math.max(lastAt, this.writer.timeMs + 10), true, last.data));
      this.cutChunk();
    }
    this.uplink.event(e.kind === 'ended' ? 'logout' : 'terminate', endAt, e.reason, e.by ? { by: e.by } : undefined);

    // Upload what is spooled (the server may be away: keep trying for uploadWaitMs), then close.
    if (this.spool.size > 0) log(`session ${this.sessionId}: uploading ${this.spool.size} spooled chunk(s) from ${this.spool.dir}`);
    const drained = await this.uplink.drain(this.opts.uploadWaitMs);
    let closed = false;
    if (drained) {
      const end = Date.now() + Math.max(5000, this.opts.uploadWaitMs);
      while (!closed && Date.now() < end) {
        try {
          await this.upload.close(this.sessionId, e.kind === 'ended' ? 'ended' : 'terminated', e.reason, e.kind === 'ended' ? undefined : endAt);
          closed = true;
        } catch (err) {
          if (err instanceof HttpError) break;
          if (!(err instanceof UnreachableError)) throw err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
    this.control?.live({ type: 'end', status: e.kind === 'ended' ? 'ended' : 'terminated', reason: e.reason });
    this.uplink.stop();
    this.control?.close();
    if (!drained || !closed) {
      log(`session ${this.sessionId}: ${this.spool.size} chunk(s) could not be uploaded${this.uplink.failed ? ` (${this.uplink.failed})` : ''}; they are kept in ${this.spool.dir}`);
    } else {
      this.spool.removeIfEmpty();
      log(`session ${this.sessionId}: recording uploaded (${this.spool.count} chunk(s), ${this.spool.bytesWritten} bytes)`);
    }
    switch (e.kind) {
      case 'ended':
        return drained && closed ? EXIT.ok : EXIT.serverUnreachable;
      case 'fail-closed':
        return EXIT.failClosed;
      case 'terminated':
      case 'limit':
        return EXIT.terminated;
    }
  }
}
