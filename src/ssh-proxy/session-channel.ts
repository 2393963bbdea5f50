import type ssh2 from 'ssh2';
import type { ClientChannel, PseudoTtyInfo, PseudoTtyOptions, ServerChannel, Session } from 'ssh2';
import type { Logger } from '../adapters/log/logger.ts';
import { relay, watchExit, type ExitInfo, type RelayTaps } from './channel-relay.ts';
import type { SessionRecorder } from './recording/session-recorder.ts';
import { transferText, type FileOperation, type FileTransfer } from './transfers/file-transfer.ts';
import { parseScpCommand, ScpObserver } from './transfers/scp.ts';
import { SftpObserver } from './transfers/sftp.ts';

/** What a session channel needs from its connection. */
export interface ChannelHost {
  /** The authenticated target connection; rejects with the reason (shown to the user) when there is none. */
  target(): Promise<ssh2.Client>;
  /** The session's recorder, once the session is open. */
  recorder(): SessionRecorder | undefined;
  /** Registers a running channel for messages, terminate and shutdown; returns the unregister. */
  track(channel: LiveChannel): () => void;
  /** The client sent something (for the inactivity timeout). */
  activity(): void;
  logger: Logger;
}

export interface LiveChannel {
  /** Writes a line to the user's terminal (highlighted on its own line for a pty, on stderr otherwise). */
  notify(text: string): void;
  /** Closes the target side; the relay then closes the client side after the last bytes. */
  abort(): void;
}

/** Environment variables passed to the target; anything else is refused (as OpenSSH's AcceptEnv). */
export const isAllowedEnv = (name: string): boolean => name === 'LANG' || name === 'TERM' || /^LC_[A-Z_]+$/.test(name);

type Start = { kind: 'shell' } | { kind: 'exec'; command: string } | { kind: 'sftp' };

/**
 * One client session channel, proxied by hand (ssh2 has no pass-through): pty, env and
 * window-change are collected and replayed to the target; shell, exec and the sftp subsystem
 * open the same on the target; signals are forwarded. X11 and agent forwarding are refused.
 */
export function handleSession(session: Session, host: ChannelHost): void {
  let pty: PseudoTtyInfo | undefined;
  const env: Record<string, string> = {};
  let started = false;
  let aborted = false;
  const stopRelay = new AbortController();
  let target: ClientChannel | undefined;
  let resize: ((cols: number, rows: number) => void) | undefined;
  let pendingWindow: { rows: number; cols: number; height: number; width: number } | undefined;

  session.on('pty', (accept, reject, info) => {
    if (started) return reject?.();
    pty = info;
    accept?.();
  });
  session.on('env', (accept, reject, info: { key: string; val: string }) => {
    if (started || !isAllowedEnv(info.key)) return reject?.();
    env[info.key] = info.val;
    accept?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    if (pty) Object.assign(pty, { rows: info.rows, cols: info.cols, height: info.height, width: info.width });
    if (target) target.setWindow(info.rows, info.cols, info.height, info.width);
    else pendingWindow = info;
    resize?.(info.cols, info.rows);
    accept?.();
  });
  session.on('signal', (accept, reject, info) => {
    if (!target) return reject?.();
    try {
      target.signal(info.name);
      accept?.();
    } catch {
      reject?.();
    }
  });
  session.on('x11', (_accept, reject) => reject?.());
  session.on('auth-agent', (_accept, reject) => reject?.());

  const start = (what: Start, accept: () => ServerChannel | undefined, reject: (() => void) | undefined): void => {
    if (started) return reject?.();
    started = true;
    // Accepted at once: a client with nothing to send (stdin at EOF) sends EOF right after the
    // request, and ssh2 refuses to accept a session that has seen EOF. Failures are told on stderr.
    const client = accept();
    if (!client) return;
    // Tracked from the start, so that terminate and shutdown reach a channel still starting, and
    // until the client's side is closed, so that the connection ends only after its last bytes.
    const untrack = host.track({
      notify: (text) => {
        if (!client.writable) return;
        const rendered = pty ? `\r\n\x1b[1;7m${text.replace(/\r?\n/g, '\r\n')}\x1b[0m\r\n` : `${text}\n`;
        if (pty) client.write(rendered);
        else client.stderr.write(rendered);
        host.recorder()?.proxyOutput(rendered);
      },
      abort: () => {
        aborted = true;
        stopRelay.abort();
        if (target) target.close();
        else refuse(client, '', '');
      },
    });
    client.once('close', untrack);
    void run(what, client).catch((err: unknown) => {
      host.logger.error({ err }, 'session channel failed');
      refuse(client, 'vigil: internal error', pty ? '\r\n' : '\n');
    });
  };
  session.on('shell', (accept, reject) => start({ kind: 'shell' }, accept, reject));
  session.on('exec', (accept, reject, info) => start({ kind: 'exec', command: info.command }, accept, reject));
  session.on('subsystem', (accept, reject, info) => (info.name === 'sftp' ? start({ kind: 'sftp' }, accept, reject) : reject?.()));

  async function run(what: Start, client: ServerChannel): Promise<void> {
    const eol = pty ? '\r\n' : '\n';
    host.logger.debug({ kind: what.kind }, 'channel request');
    let conn: ssh2.Client;
    try {
      conn = await host.target();
    } catch (err) {
      return refuse(client, (err as Error).message, eol);
    }
    if (aborted) return;
    const recorder = host.recorder();
    const recording = tapsFor(what, pty, recorder);
    resize = recording.resize;
    try {
      // Fail closed: a recorded session whose recording cannot be stored does not start (and
      // the command is never started on the target).
      await recorder?.begin();
    } catch {
      return refuse(client, 'vigil: this session is recorded and the recording cannot be stored right now; the session cannot start', eol);
    }
    let exitOf: () => ExitInfo | undefined;
    try {
      ({ channel: target, exitOf } = await openTarget(conn, what, pty, env));
    } catch (err) {
      recording.finish();
      return refuse(client, `vigil: the target refused to start the ${what.kind === 'exec' ? 'command' : what.kind}: ${(err as Error).message}`, eol);
    }
    if (aborted || !client.writable) {
      target.close();
      recording.finish();
      return;
    }
    host.logger.debug({ kind: what.kind }, 'channel started');
    if (pendingWindow) target.setWindow(pendingWindow.rows, pendingWindow.cols, pendingWindow.height, pendingWindow.width);
    const stdin = recording.taps.stdin;
    const taps = {
      ...recording.taps,
      stdin: (d: Buffer) => {
        host.activity();
        return stdin?.(d);
      },
    };
    try {
      await relay(client, target, exitOf, taps, stopRelay.signal);
    } finally {
      recording.finish();
    }
  }
}

/** What is recorded of a channel: file transfers for sftp and scp, the terminal otherwise. */
function tapsFor(what: Start, pty: PseudoTtyInfo | undefined, recorder: SessionRecorder | undefined): { taps: RelayTaps; finish(): void; resize?: (cols: number, rows: number) => void } {
  const onFile = (t: FileTransfer): void => recorder?.event('file-transfer', transferText(t), { ...t });
  const onOperation = (op: FileOperation): void => recorder?.event('file-transfer', `${op.operation} ${op.path}${op.to ? ` ${op.to}` : ''}`, { ...op });
  if (what.kind === 'sftp') {
    const sftp = new SftpObserver(onFile, onOperation);
    return { taps: { stdin: (d) => sftp.fromClient(d), stdout: (d) => sftp.fromTarget(d) }, finish: () => sftp.end() };
  }
  const scp = what.kind === 'exec' ? parseScpCommand(what.command) : undefined;
  if (scp) {
    const observer = new ScpObserver(scp, onFile);
    return { taps: scp.direction === 'upload' ? { stdin: (d) => observer.feed(d) } : { stdout: (d) => observer.feed(d) }, finish: () => observer.end() };
  }
  if (!recorder) return { taps: {}, finish: () => {} };
  const term = recorder.terminal(pty ? { cols: pty.cols, rows: pty.rows, term: pty.term } : undefined, what.kind === 'exec' ? what.command : undefined);
  return { taps: term.taps, finish: () => {}, resize: term.resize };
}

/**
 * Opens the same kind of channel on the target. The exit watch starts in ssh2's callback itself:
 * a quick command's exit-status can be parsed from the same read, before a promise continuation.
 */
function openTarget(conn: ssh2.Client, what: Start, pty: PseudoTtyInfo | undefined, env: Record<string, string>): Promise<{ channel: ClientChannel; exitOf: () => ExitInfo | undefined }> {
  const ptyOptions: PseudoTtyOptions | undefined = pty && { rows: pty.rows, cols: pty.cols, height: pty.height, width: pty.width, term: pty.term, modes: pty.modes };
  const envOption = Object.keys(env).length > 0 ? { env } : {};
  return new Promise((resolve, reject) => {
    const done = (err: Error | undefined, channel: ClientChannel): void => (err ? reject(err) : resolve({ channel, exitOf: watchExit(channel) }));
    try {
      if (what.kind === 'shell') conn.shell(ptyOptions ?? false, envOption, done);
      else if (what.kind === 'exec') conn.exec(what.command, { ...envOption, ...(ptyOptions ? { pty: ptyOptions } : {}) }, done);
      else conn.subsys('sftp', done);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

/** Says why the request cannot run, then exits 255 like ssh does on failure. */
function refuse(client: ServerChannel, message: string, eol: string): void {
  client.resume(); // discard input: ssh2 reports the channel closed only once its input ended
  if (!client.writable) return;
  if (message) client.stderr.write(`${message}${eol}`);
  client.exit(255);
  client.end();
}
