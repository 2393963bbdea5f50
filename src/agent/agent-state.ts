import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';

/** The agent's own credential, kept in `<state-dir>/agent.json` (0600, directory 0700). */
export interface AgentIdentity {
  server: string;
  agentId: string;
  credential: string;
}

export const DEFAULT_STATE_DIR = '/var/lib/vigil-agent';
export const DEFAULT_SHELL_SOCKET = '/run/vigil-agent/session-shell.sock';

const file = (dir: string): string => path.join(dir, 'agent.json');

export function saveIdentity(dir: string, id: AgentIdentity): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const tmp = `${file(dir)}.tmp`;
  writeFileSync(tmp, JSON.stringify(id, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file(dir));
}

export function loadIdentity(dir: string): AgentIdentity | null {
  if (!existsSync(file(dir))) return null;
  const v = JSON.parse(readFileSync(file(dir), 'utf8')) as Partial<AgentIdentity>;
  if (typeof v.server !== 'string' || typeof v.agentId !== 'string' || typeof v.credential !== 'string') throw new Error(`${file(dir)} is not a valid agent identity; enroll again`);
  return v as AgentIdentity;
}

export function forgetIdentity(dir: string): void {
  rmSync(file(dir), { force: true });
}
