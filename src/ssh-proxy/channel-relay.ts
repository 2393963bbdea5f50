import { Transform, type Readable, type Writable } from 'node:stream';
import type { ClientChannel, ServerChannel } from 'ssh2';

export type ExitInfo = { code: number } | { signal: string; coreDumped: boolean; description: string };

/** Observes the bytes of one direction; a returned promise holds the stream back until it settles. */
export type Tap = (data: Buffer) => void | Promise<void>;

export interface RelayTaps {
  stdout?: Tap;
  stderr?: Tap;
  stdin?: Tap;
}

export interface RelayResult {
  exit: ExitInfo | undefined;
  /** Who closed first: the target's command finished, or the client went away (or was closed). */
  closedBy: 'target' | 'client';
}

/**
 * Relays one session channel both ways with backpressure, end to end: `pipe()` pauses a source
 * while its destination's SSH window is exhausted, so a bulk `cat` keeps memory flat. At the end
 * the target's last bytes are written, then exit-status/exit-signal, then EOF and close — never
 * close while data still waits for window credit (ssh2 would drop it).
 */
export function relay(client: ServerChannel, target: ClientChannel, exitOf: () => ExitInfo | undefined, taps: RelayTaps = {}): Promise<RelayResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (closedBy: RelayResult['closedBy']): void => {
      if (settled) return;
      settled = true;
      resolve({ exit: exitOf(), closedBy });
    };

    const stdout = through(target, taps.stdout);
    const stderr = through(target.stderr, taps.stderr);
    stdout.pipe(client, { end: false });
    stderr.pipe(client.stderr, { end: false });
    const stdin = through(client, taps.stdin);
    stdin.pipe(target); // the client's EOF becomes the target's EOF

    const ended = (s: Readable): Promise<void> => new Promise((r) => (s.readableEnded ? r() : s.once('end', r).once('close', r)));
    const targetClosed = new Promise<void>((r) => target.once('close', () => r()));

    const onClientClose = (): void => {
      // The client went away (or we closed its channel): the target's side goes too.
      stdout.unpipe(client);
      stderr.unpipe(client.stderr);
      stdout.resume();
      stderr.resume();
      target.close();
      finish('client');
    };
    client.once('close', onClientClose);

    void (async () => {
      await targetClosed;
      await Promise.all([ended(stdout), ended(stderr)]);
      if (settled) return;
      client.removeListener('close', onClientClose);
      stdin.unpipe(target);
      client.resume(); // discard what the client still sends, so its channel can close
      await Promise.all([flushed(client.stderr, client), flushed(client, client)]);
      const exit = exitOf();
      try {
        if (exit && 'code' in exit) client.exit(exit.code);
        else if (exit) client.exit(exit.signal, exit.coreDumped, exit.description);
      } catch {
        // ssh2 refuses signal names outside the SSH list; the client then sees no exit status.
      }
      client.stderr.end();
      client.end();
      await waitFinish(client);
      finish('target');
    })();
  });
}

/**
 * Remembers the target's exit-status or exit-signal from the moment the channel opens: a quick
 * command can exit before the relay starts reading.
 */
export function watchExit(target: ClientChannel): () => ExitInfo | undefined {
  let exit: ExitInfo | undefined;
  target.on('exit', (code: number | null, signal?: string, dump?: boolean, desc?: string) => {
    exit = code !== null && code !== undefined ? { code } : { signal: signal ?? 'SIGKILL', coreDumped: !!dump, description: desc ?? '' };
  });
  return () => exit;
}

/** The source itself when there is no tap; else a pass-through that awaits the tap per chunk. */
function through(source: Readable, tap: Tap | undefined): Readable {
  if (!tap) return source;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      let r: void | Promise<void>;
      try {
        r = tap(chunk);
      } catch {
        r = undefined;
      }
      if (r) r.then(() => cb(null, chunk), () => cb(null, chunk));
      else cb(null, chunk);
    },
  });
  source.pipe(t);
  return t;
}

/** Resolves once everything written so far has been handed to the SSH layer (or the channel closed). */
function flushed(w: Writable, channel: ServerChannel): Promise<void> {
  if (w.writableEnded || w.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      channel.removeListener('close', done);
      resolve();
    };
    channel.once('close', done);
    w.write(Buffer.alloc(0), done);
  });
}

function waitFinish(w: ServerChannel): Promise<void> {
  if (w.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    w.once('finish', resolve);
    w.once('close', resolve);
  });
}
