import type { Generated } from 'kysely';

/**
 * Table shapes shared by the SQLite and PostgreSQL adapters. Times are milliseconds since the
 * epoch (INTEGER / BIGINT), booleans 0/1, JSON as text: the same values on both dialects.
 */
export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  password_hash: string | null;
  disabled: number;
  created_at: number;
  updated_at: number;
}
export interface RolesTable {
  id: string;
  name: string;
  description: string;
  builtin: number;
  permissions: string;
  created_at: number;
  updated_at: number;
}
export interface UserRolesTable {
  user_id: string;
  role_id: string;
}
export interface AuthTokensTable {
  id: string;
  user_id: string;
  token_hash: string;
  kind: 'session' | 'api';
  name: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}
export interface LoginFailuresTable {
  id: Generated<number>;
  username: string;
  ip: string;
  at: number;
}
export interface SshKeysTable {
  id: string;
  user_id: string;
  name: string;
  algorithm: string;
  public_key: string;
  fingerprint: string;
  created_at: number;
}
export interface SecretsTable {
  id: string;
  name: string;
  kind: 'ssh' | 'desktop';
  host: string;
  port: number;
  username: string;
  credential_type: 'password' | 'private-key' | null;
  credential_enc: string | null;
  launcher: string | null;
  record_video: number;
  record_keystrokes: number;
  host_key: string | null;
  created_at: number;
  updated_at: number;
}
export interface SecretAccessTable {
  secret_id: string;
  principal_type: 'user' | 'role';
  principal_id: string;
}
export interface SettingsTable {
  key: string;
  value: string;
  updated_at: number;
  updated_by: string | null;
}
export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: 'success' | 'failure';
  ip: string | null;
  details: string | null;
}

export interface Database {
  users: UsersTable;
  roles: RolesTable;
  user_roles: UserRolesTable;
  auth_tokens: AuthTokensTable;
  login_failures: LoginFailuresTable;
  ssh_keys: SshKeysTable;
  secrets: SecretsTable;
  secret_access: SecretAccessTable;
  settings: SettingsTable;
  audit_log: AuditLogTable;
}
