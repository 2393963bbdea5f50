import type { Store } from '../../adapters/store/store.ts';
import type { Principal } from '../permissions.ts';

/**
 * Which sessions a caller may see:
 * - `session-monitoring.view` or `session-recording.audit`: every session;
 * - `session-recording.view`: sessions of the secrets the caller may launch;
 * - otherwise none.
 * Playback additionally needs `session-recording.view` (own secrets) or `session-recording.audit`.
 */
export type SessionScope = { all: true } | { all: false; secretIds: string[] };

export async function sessionScope(store: Store, p: Principal): Promise<SessionScope> {
  if (p.permissions.has('session-monitoring.view') || p.permissions.has('session-recording.audit')) return { all: true };
  if (!p.permissions.has('session-recording.view')) return { all: false, secretIds: [] };
  return { all: false, secretIds: await launchableSecretIds(store, p) };
}

export async function launchableSecretIds(store: Store, p: Pick<Principal, 'userId' | 'roleIds'>): Promise<string[]> {
  const rows = await store.db
    .selectFrom('secret_access')
    .select('secret_id')
    .distinct()
    .where((eb) =>
      eb.or([
        eb.and([eb('principal_type', '=', 'user'), eb('principal_id', '=', p.userId)]),
        ...(p.roleIds.length > 0 ? [eb.and([eb('principal_type', '=', 'role'), eb('principal_id', 'in', [...p.roleIds])])] : []),
      ]),
    )
    .execute();
  return rows.map((r) => r.secret_id);
}

export function inScope(scope: SessionScope, secretId: string | null): boolean {
  return scope.all || (secretId !== null && scope.secretIds.includes(secretId));
}

/** May the caller play (view or download) this session's recording? */
export async function canPlay(store: Store, p: Principal, secretId: string | null): Promise<boolean> {
  if (p.permissions.has('session-recording.audit')) return true;
  if (!p.permissions.has('session-recording.view') || secretId === null) return false;
  return (await launchableSecretIds(store, p)).includes(secretId);
}
