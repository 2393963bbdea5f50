import { PERMISSION_NAMES } from '../protocol/identity.ts';

/** Permissions in the field's vocabulary (DESIGN.md); `audit.view` guards the audit log. */
export const PERMISSIONS = PERMISSION_NAMES;
export type Permission = (typeof PERMISSIONS)[number];

export const BUILTIN_ROLES: ReadonlyArray<{ name: string; description: string; permissions: readonly Permission[] }> = [
  { name: 'Administrator', description: 'Everything, including users, secrets and settings.', permissions: PERMISSIONS },
  {
    name: 'Auditor',
    description: 'Watches and plays every session and reads the audit log; changes nothing.',
    permissions: ['session-monitoring.view', 'session-recording.view', 'session-recording.audit', 'audit.view'],
  },
  { name: 'User', description: 'Launches the secrets granted to them.', permissions: [] },
];

export interface Principal {
  userId: string;
  username: string;
  roleIds: readonly string[];
  permissions: ReadonlySet<Permission>;
  /** How the caller authenticated: a cookie session, a bearer login token or an API token. */
  via: 'cookie' | 'bearer' | 'api-token';
  tokenId: string;
}

export const can = (p: Principal | undefined, perm: Permission): boolean => !!p && p.permissions.has(perm);
