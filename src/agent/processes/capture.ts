import type { ProcessInfo } from '../proc.ts';

export type ProcessEvent =
  | { kind: 'fork'; pid: number; ppid: number }
  /**
   * `info` read from /proc at once; `partial` when the process was gone before it could be read;
   * `sid` (its session) when the capture read it, so attribution needs no /proc read of its own.
   */
  | { kind: 'exec'; pid: number; at: number; info: ProcessInfo; partial: boolean; sid?: number | null }
  | { kind: 'exit'; pid: number; at: number; exitCode: number | null };

export interface ProcessCapture {
  readonly kind: 'proc-connector' | 'proc-polling';
  /** The program behind it: vigil-proc-connector, forkstat or /proc. */
  readonly tool: string;
  /** Events the kernel dropped before the tool read them (0 where it cannot tell). */
  readonly lost: number;
  start(onEvent: (e: ProcessEvent) => void, onFailure: (err: Error) => void): Promise<void>;
  stop(): Promise<void>;
}
