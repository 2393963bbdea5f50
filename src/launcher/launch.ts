import { EXIT, LauncherError, type ExitCode } from './errors.ts';
import { DesktopSession } from './desktop-session.ts';
import { checkCapture } from './screen-capture.ts';
import { HttpError, ServerClient, UnreachableError } from './server-client.ts';

export interface LaunchOptions {
  server: string;
  token: string;
  secret: string;
  display: string | undefined;
  fps: number;
  spoolRoot: string;
  uploadWaitMs: number;
  log: (line: string) => void;
  keyframeFrames?: number;
  /** Called once the session is running (tests and the benchmark read the id). */
  onSession?: (sessionId: string) => void;
}

/** Maps what the server said into the launcher's one-line errors and exit codes. */
function explain(err: unknown, what: string): never {
  if (err instanceof LauncherError) throw err;
  if (err instanceof UnreachableError) throw new LauncherError(EXIT.serverUnreachable, err.message);
  if (err instanceof HttpError) {
    if (err.status === 401) throw new LauncherError(EXIT.noPermission, `not signed in to Vigil or the token expired (${err.message}); run: vigil login --server URL`);
    if (err.status === 403 || err.status === 404) throw new LauncherError(EXIT.noPermission, `no permission to ${what} (${err.message})`);
    throw new LauncherError(EXIT.failure, `${what} failed: HTTP ${err.status} ${err.message}`);
  }
  throw err;
}

/** `vigil launch <secret>`: launch, redeem the grant, record until the program exits or is stopped. */
export async function runLaunch(o: LaunchOptions): Promise<ExitCode> {
  const client = new ServerClient(o.server.replace(/\/+$/, ''), o.token);
  const secret = await client.findSecret(o.secret).catch((e: unknown) => explain(e, `list your secrets`));
  const launched = await client.launch(secret.id).catch((e: unknown) => explain(e, `launch "${secret.name}"`));
  const origin = Date.now();
  const answer = await client.redeem(launched.grant).catch((e: unknown) => explain(e, 'redeem the launch grant'));
  const upload = client.withToken(answer.uploadToken);
  const display = o.display ?? process.env.DISPLAY;

  let capture: Awaited<ReturnType<typeof checkCapture>> | null = null;
  try {
    if (answer.recording.video) capture = await checkCapture(display);
    if (!display) throw new LauncherError(EXIT.captureImpossible, 'no X display (DISPLAY is not set)');
  } catch (err) {
    // Recording is required and impossible: the program is never started.
    await upload.close(answer.session.id, 'ended', err instanceof Error ? err.message : String(err)).catch(() => undefined);
    throw err;
  }

  const session = new DesktopSession(upload, answer, { display, fps: o.fps, spoolRoot: o.spoolRoot, uploadWaitMs: o.uploadWaitMs, origin, log: o.log, keyframeFrames: o.keyframeFrames }, capture);
  o.onSession?.(session.sessionId);
  // First Ctrl-C / SIGTERM: end the session in order (stop the program, upload, close). A second
  // one while it waits for the server: leave at once; the spool keeps what was not uploaded.
  let signals = 0;
  const stop = (): void => {
    signals += 1;
    if (signals === 1) session.end({ kind: 'ended', reason: 'the launcher was stopped' });
    else {
      o.log(`stopped before the upload finished; the recording stays in ${o.spoolRoot}/${session.sessionId}`);
      process.exit(EXIT.serverUnreachable);
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    return await session.run();
  } catch (err) {
    session.end({ kind: 'ended', reason: err instanceof Error ? err.message : String(err) });
    await upload.close(session.sessionId, 'ended', err instanceof Error ? err.message : String(err)).catch(() => undefined);
    throw err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
