import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface XDisplay {
  display: string;
  env: Record<string, string>;
  /** Runs an X11 tool (xdotool, xprop, xwininfo) on this display. */
  x(bin: string, args: string[]): Promise<string>;
  /**
   * `xwininfo -root -tree`, tried again when a window vanishes while the tree is walked (xwininfo
   * then fails with "Can't query window tree": a dialog closing is exactly what tests wait for).
   */
  tree(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real X server (Xvfb) on a free display number, with a real EWMH window manager (openbox) so
 * `_NET_ACTIVE_WINDOW` is maintained as on a workstation.
 */
export async function startXvfb(opts: { size?: string; windowManager?: boolean } = {}): Promise<XDisplay> {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${opts.size ?? '1280x720'}x24`, '-nolisten', 'tcp', '-br'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const display = await new Promise<string>((resolve, reject) => {
    let text = '';
    (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(`:${text.trim()}`);
    });
    xvfb.once('exit', (code) => reject(new Error(`Xvfb exited with ${code}`)));
    setTimeout(() => reject(new Error('Xvfb did not start')), 10_000);
  });
  const env = { DISPLAY: display };
  const x = async (bin: string, args: string[]): Promise<string> => (await run(bin, args, { env: { ...process.env, ...env }, timeout: 10_000 })).stdout;
  let wm: ChildProcess | null = null;
  if (opts.windowManager !== false) {
    wm = spawn('openbox', ['--sm-disable'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      if ((await x('xprop', ['-root', '_NET_SUPPORTING_WM_CHECK']).catch(() => '')).includes('window id')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const tree = async (): Promise<string> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await x('xwininfo', ['-root', '-tree']);
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  return {
    display,
    env,
    x,
    tree,
    stop: async () => {
      wm?.kill();
      xvfb.kill();
      await new Promise((r) => (xvfb.exitCode !== null ? r(null) : xvfb.once('exit', r)));
    },
  };
}

/** Waits until `fn` returns a truthy value (polling every 100 ms), or fails after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
