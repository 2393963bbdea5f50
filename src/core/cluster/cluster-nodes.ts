import os from 'node:os';
import type { Store } from '../../adapters/store/store.ts';
import type { ClusterNodesTable } from '../../adapters/store/schema.ts';
import type { Clock } from '../clock.ts';

export interface NodeInfo {
  id: string;
  roles: readonly string[];
  version: string;
}

export interface ClusterNodeView {
  id: string;
  hostname: string;
  pid: number;
  roles: string[];
  version: string;
  httpUrl: string | null;
  sshPort: number | null;
  startedAt: string;
  lastSeenAt: string;
  stoppedAt: string | null;
  status: 'up' | 'silent' | 'stopped';
}

/** Rows of nodes gone for longer than this are removed from the table. */
const FORGET_AFTER_MS = 7 * 86_400_000;

/**
 * Cluster membership in the shared database: each `vigil server` process registers, beats every
 * `beatIntervalMs`, and marks itself stopped on a clean shutdown. A node whose beats are older
 * than `silentAfterMs` is taken for dead: the sessions it held in-process are interrupted by a
 * surviving node (SessionsService.sweepInterrupted).
 */
export class ClusterNodes {
  /** Since when this node's beats have succeeded without a break (undefined: the last one failed). */
  private healthySince: number | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    readonly opts: { beatIntervalMs: number; silentAfterMs: number } = { beatIntervalMs: 5_000, silentAfterMs: 15_000 },
  ) {}

  async register(node: NodeInfo): Promise<void> {
    const now = this.clock.now();
    await this.store.db
      .insertInto('cluster_nodes')
      .values({ id: node.id, hostname: os.hostname(), pid: process.pid, roles: node.roles.join(','), version: node.version, http_url: null, ssh_port: null, started_at: now, last_seen_at: now, stopped_at: null })
      .execute();
    this.healthySince = now;
    await this.store.db.deleteFrom('cluster_nodes').where('last_seen_at', '<', now - FORGET_AFTER_MS).execute();
  }

  /** What the node listens on, once it does (shown to operators). */
  async setEndpoints(id: string, endpoints: { httpUrl: string | null; sshPort: number | null }): Promise<void> {
    await this.store.db.updateTable('cluster_nodes').set({ http_url: endpoints.httpUrl, ssh_port: endpoints.sshPort }).where('id', '=', id).execute();
  }

  async beat(id: string): Promise<void> {
    const now = this.clock.now();
    try {
      await this.store.db.updateTable('cluster_nodes').set({ last_seen_at: now }).where('id', '=', id).where('stopped_at', 'is', null).execute();
    } catch (err) {
      this.healthySince = undefined;
      throw err;
    }
    this.healthySince ??= now;
  }

  /**
   * True once this node's own beats have succeeded for `ms` in a row. After a database
   * outage every node's beats stopped, not only a dead one's: judging others silent before they
   * had the time to beat again would interrupt live sessions of healthy nodes.
   */
  steadyFor(ms: number): boolean {
    return this.healthySince !== undefined && this.clock.now() - this.healthySince >= ms;
  }

  /** Starts beating; failures (database away) are reported and retried on the next tick. */
  startBeating(id: string, onError: (err: unknown) => void): { stop(): void } {
    const timer = setInterval(() => {
      this.beat(id).catch(onError);
    }, this.opts.beatIntervalMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  async markStopped(id: string): Promise<void> {
    await this.store.db.updateTable('cluster_nodes').set({ stopped_at: this.clock.now() }).where('id', '=', id).execute();
  }

  async list(): Promise<ClusterNodeView[]> {
    const rows = await this.store.db.selectFrom('cluster_nodes').selectAll().orderBy('started_at', 'desc').execute();
    const cutoff = this.clock.now() - this.opts.silentAfterMs;
    return rows.map((r) => toView(r, cutoff));
  }
}

function toView(r: ClusterNodesTable, silentCutoff: number): ClusterNodeView {
  const iso = (ms: number) => new Date(Number(ms)).toISOString();
  return {
    id: r.id,
    hostname: r.hostname,
    pid: Number(r.pid),
    roles: r.roles.split(',').filter(Boolean),
    version: r.version,
    httpUrl: r.http_url,
    sshPort: r.ssh_port === null ? null : Number(r.ssh_port),
    startedAt: iso(r.started_at),
    lastSeenAt: iso(r.last_seen_at),
    stoppedAt: r.stopped_at === null ? null : iso(r.stopped_at),
    status: r.stopped_at !== null ? 'stopped' : Number(r.last_seen_at) < silentCutoff ? 'silent' : 'up',
  };
}
