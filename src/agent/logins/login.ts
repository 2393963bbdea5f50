/** A login session on this host as the agent sees it. */
export interface Login {
  /** Stable across agent restarts: boot id, leader pid and the leader's start time. */
  key: string;
  leaderPid: number;
  /** The leader's session id (equals leaderPid for /proc-detected logins). */
  sid: number;
  user: string;
  uid: number;
  tty: string | null;
  display: string | null;
  remoteAddress: string | null;
  remotePort: number | null;
  startedAt: number;
}

export interface LoginSource {
  readonly kind: 'logind' | 'proc';
  /** The logins present now. */
  scan(): Login[];
  /** The login a session leader starts, if `sid` leads one (checked at once when a process appears in an unknown session). */
  probe(sid: number): Login | null;
  /** Sources that learn of logins as they happen (logind's signals) call `onChange` then. */
  watch?(onChange: () => void): void;
  close?(): void;
}
