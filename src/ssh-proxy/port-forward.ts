import type ssh2 from 'ssh2';
import type { AcceptConnection, ClientChannel, RejectConnection, ServerChannel, TcpipRequestInfo } from 'ssh2';
import type { LiveChannel } from './session-channel.ts';

export interface ForwardHost {
  /** The target connection, once the session is open; undefined when there is none. */
  target(): Promise<ssh2.Client | undefined>;
  /** The `allowLocalForwarding` setting of this session. */
  allowed(): boolean;
  /** A `port-forward` activity event (and, for a refusal, the audit entry). */
  record(text: string, details: Record<string, unknown>): void;
  refused(details: Record<string, unknown>): Promise<void>;
  track(channel: LiveChannel): () => void;
  activity(): void;
}

/**
 * A `direct-tcpip` request (`ssh -L`, `ssh -W`): refused unless the setting allows local
 * forwarding; then relayed through the target connection (`forwardOut`), so the connection to
 * the destination comes from the target host, as with a direct `ssh -L` to it. Both ends are
 * piped with backpressure; bytes each way are recorded when the forward closes. The forwarded
 * data itself is not recorded (it is not terminal output).
 */
export async function handleDirectTcpip(accept: AcceptConnection<ServerChannel>, reject: RejectConnection, info: TcpipRequestInfo, host: ForwardHost): Promise<void> {
  const destination = `${info.destIP}:${info.destPort}`;
  const base = { direction: 'local', destination, originator: `${info.srcIP}:${info.srcPort}` };
  const conn = await host.target().catch(() => undefined);
  if (!conn) return reject();
  if (!host.allowed()) {
    host.record(`refused local forward to ${destination}`, { ...base, allowed: false });
    await host.refused({ to: destination });
    return reject();
  }
  let target: ClientChannel;
  try {
    target = await new Promise<ClientChannel>((resolve, fail) => conn.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, ch) => (err ? fail(err) : resolve(ch))));
  } catch (err) {
    host.record(`local forward to ${destination} failed: ${(err as Error).message}`, { ...base, allowed: true, failed: true });
    return reject();
  }
  const client = accept();
  host.record(`local forward to ${destination}`, { ...base, allowed: true });
  let up = 0;
  let down = 0;
  client.on('data', (d: Buffer) => {
    up += d.length;
    host.activity();
  });
  target.on('data', (d: Buffer) => (down += d.length));
  // Each side's EOF becomes the other's; a close is passed on once the other side has written
  // what it received (ssh2 drops data on close() while it waits for window credit).
  client.pipe(target);
  target.pipe(client);
  let closed = false;
  const untrack = host.track({
    notify: () => undefined,
    abort: () => {
      target.close();
      client.close();
    },
  });
  const done = (): void => {
    if (closed) return;
    closed = true;
    untrack();
    host.record(`local forward to ${destination} closed`, { ...base, allowed: true, closed: true, bytesToDestination: up, bytesFromDestination: down });
  };
  const closeAfterWrites = (w: ClientChannel | ServerChannel): void => {
    if (w.writableFinished || w.destroyed) {
      w.close();
      return;
    }
    w.end();
    w.once('finish', () => w.close());
  };
  target.once('close', () => {
    closeAfterWrites(client);
    done();
  });
  client.once('close', () => {
    closeAfterWrites(target);
    done();
  });
}
