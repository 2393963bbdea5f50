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
 * Output written to the client beyond what its SSH window lets through at once, before the target
 * is paused. ssh2 would buffer up to 2 MiB per channel on top of the window; the window alone keeps
 * a bulk `cat` at full speed, and a short queue lets a terminate notice reach the user without
 * waiting behind megabytes of output already queued for them.
 */
const CLIENT_BACKLOG = 256 * 1024;

/**
 * Relays one session channel both ways with backpressure, end to end: a source is paused while
 * its destination's SSH window is exhausted, so a bulk `cat` keeps memory flat. At the end the
 * target's last bytes are written, then exit-status/exit-signal, then EOF and close — never close
 * while data still waits for window credit (ssh2 would drop it). When `abort` fires (terminate,
 * limits, shutdown) the target's output still in flight is dropped, unseen and unrecorded: the
 * client gets what was already queued for it, the notice written after it, and the close.
 */
export function relay(client: ServerChannel, target: ClientChannel, exitOf: () => ExitInfo | undefined, taps: RelayTaps = {}, abort?: AbortSignal): Promise<RelayResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (closedBy: RelayResult['closedBy']): void => {
      if (settled) return;
      settled = true;
      resolve({ exit: exitOf(), closedBy });
    };

    const stdout = through(target, taps.stdout);
    const stderr = through(target.stderr, taps.stderr);
    const forwards = [forward(stdout.stream, client), forward(stderr.stream, client.stderr)];
    const stdin = through(client, taps.stdin).stream;
    stdin.pipe(target); // the client's EOF becomes the target's EOF

    const ended = (s: Readable): Promise<void> => new Promise((r) => (s.readableEnded ? r() : s.once('end', r).once('close', r)));
    const targetClosed = new Promise<void>((r) => target.once('close', () => r()));
    const outputDone = targetClosed.then(() => Promise.all([ended(stdout.stream), ended(stderr.stream)]));
    const aborted = new Promise<void>((r) => {
      const stop = (): void => {
        for (const f of forwards) f.stop();
        stdout.detach();
        stderr.detach();
        r();
      };
      if (abort?.aborted) stop();
      else abort?.addEventListener('abort', stop, { once: true });
    });

    const onClientClose = (): void => {
      // The client went away (or we closed its channel): the target's side goes too.
      for (const f of forwards) f.stop();
      target.close();
      finish('client');
    };
    client.once('close', onClientClose);

    void (async () => {
      await Promise.race([outputDone, aborted]);
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
 * Writes what `source` emits to `dest`, pausing the source while more than CLIENT_BACKLOG bytes
 * wait for window credit (ssh2 calls a write's callback once it has sent all of that chunk).
 * `stop()` stops writing and lets the source flow on into nothing.
 */
function forward(source: Readable, dest: Writable): { stop(): void } {
  let queued = 0;
  let held = false;
  let stopped = false;
  const onData = (chunk: Buffer): void => {
    queued += chunk.length;
    dest.write(chunk, () => {
      queued -= chunk.length;
      if (held && !stopped && queued <= CLIENT_BACKLOG / 2) {
        held = false;
        source.resume();
      }
    });
    if (!held && queued > CLIENT_BACKLOG) {
      held = true;
      source.pause();
    }
  };
  source.on('data', onData);
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      source.off('data', onData);
      source.resume();
    },
  };
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

/**
 * The source itself when there is no tap; else a pass-through that forwards each chunk first and
 * then shows it to the tap (recording work stays off the keystroke → echo path), taking the next
 * chunk only once the tap has settled, so a slow recorder still holds the stream back.
 * `detach()` cuts the source off (what it still sends is dropped before the tap sees it).
 */
function through(source: Readable, tap: Tap | undefined): { stream: Readable; detach(): void } {
  if (!tap) return { stream: source, detach: () => source.resume() };
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      this.push(chunk);
      let r: void | Promise<void>;
      try {
        r = tap(chunk);
      } catch {
        r = undefined;
      }
      if (r) r.then(() => cb(), () => cb());
      else cb();
    },
  });
  source.pipe(t);
  return {
    stream: t,
    detach: () => {
      source.unpipe(t);
      source.resume();
    },
  };
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
