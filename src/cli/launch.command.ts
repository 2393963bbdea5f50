import { parseArgs } from 'node:util';
import { readCredentials } from '../launcher/credentials.ts';
import { EXIT, LauncherError } from '../launcher/errors.ts';
import { runLaunch } from '../launcher/launch.ts';
import { defaultSpoolRoot } from '../launcher/spool.ts';

const USAGE = `usage: vigil launch <secret> [--server URL] [--token TOKEN] [--display :N] [--fps N] [--spool DIR] [--upload-wait SECONDS]
`;

/** `vigil launch <secret>`: the desktop launcher's composition root. */
export async function runLaunchCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { server: { type: 'string' }, token: { type: 'string' }, display: { type: 'string' }, fps: { type: 'string' }, spool: { type: 'string' }, 'upload-wait': { type: 'string' } },
    });
  } catch (err) {
    process.stderr.write(`vigil: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const log = (line: string): void => void process.stderr.write(`vigil: ${line}\n`);
  if (positionals.length !== 1) {
    process.stderr.write(USAGE);
    return EXIT.usage;
  }
  const fps = values.fps === undefined ? 1 : Number(values.fps);
  const uploadWait = values['upload-wait'] === undefined ? 3600 : Number(values['upload-wait']);
  if (!Number.isFinite(fps) || fps <= 0 || fps > 30) return usage('--fps must be a number of frames per second between 0 and 30');
  if (!Number.isFinite(uploadWait) || uploadWait < 0) return usage('--upload-wait must be a number of seconds');
  const stored = readCredentials();
  const server = values.server ?? process.env.VIGIL_SERVER ?? stored?.server;
  const token = values.token ?? process.env.VIGIL_TOKEN ?? (stored && (!values.server || values.server.replace(/\/+$/, '') === stored.server) ? stored.token : undefined);
  if (!server) return usage('no server: run vigil login --server URL, or give --server');
  if (!token) {
    log(`not signed in to ${server}: run vigil login --server ${server}, or give --token`);
    return EXIT.noPermission;
  }
  try {
    return await runLaunch({ server, token, secret: positionals[0]!, display: values.display, fps, spoolRoot: values.spool ?? defaultSpoolRoot(), uploadWaitMs: uploadWait * 1000, log });
  } catch (err) {
    if (err instanceof LauncherError) {
      log(err.message);
      return err.exitCode;
    }
    log(err instanceof Error ? err.message : String(err));
    return EXIT.failure;
  }

  function usage(msg: string): number {
    process.stderr.write(`vigil: ${msg}\n${USAGE}`);
    return EXIT.usage;
  }
}
