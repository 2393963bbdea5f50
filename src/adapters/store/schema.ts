import type { ColumnType, Generated } from 'kysely';

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

export type SessionKind = 'ssh' | 'desktop' | 'host';
export type SessionStatus = 'active' | 'ended' | 'terminated' | 'interrupted';
export type StorageLocation = 'database' | 'share' | 'archive' | 'deleted';

export interface SessionsTable {
  id: string;
  kind: SessionKind;
  status: SessionStatus;
  user_id: string | null;
  username: string;
  secret_id: string | null;
  secret_name: string | null;
  target_host: string;
  target_user: string;
  client_address: string | null;
  /** Which component records it: ssh-proxy, launcher, agent. */
  component: string;
  /** The server node holding the live connection (for control routing and failover). */
  node_id: string | null;
  /** The SSH proxy's local address and port towards the target (the target's SSH_CLIENT). */
  target_source_address: string | null;
  target_source_port: number | null;
  started_at: number;
  ended_at: number | null;
  last_activity_at: number;
  last_heartbeat_at: number;
  end_reason: string | null;
  ended_by: string | null;
  record_video: number;
  record_keystrokes: number;
  /** Media type of the recording: cast (terminal), webm (desktop) or null (no media). */
  media: 'cast' | 'webm' | null;
  /** none | recording | complete | partial */
  recording_state: string;
  storage: StorageLocation;
  chunk_count: number;
  bytes: number;
  /** Hash chain head over the contiguous chunk prefix, hex. */
  chain_head: string | null;
  duration_ms: number | null;
  processing_state: string | null;
  processing_progress: number | null;
  processing_error: string | null;
  archived_at: number | null;
  deleted_at: number | null;
}

export interface SessionGrantsTable {
  id: string;
  session_id: string;
  /** `launch` (one-time grant redeemed by the launcher) or `upload` (the component's credential). */
  kind: 'launch' | 'upload';
  token_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
}

export interface RecordingChunksTable {
  session_id: string;
  seq: number;
  size: number;
  sha256: string;
  /** sha256(prev chain || sha256) once every earlier chunk is present; null while a gap precedes it. */
  chain: string | null;
  location: 'database' | 'share' | 'archive';
  blob_key: string;
  created_at: number;
}

/** webm (finalised, seekable), mp4 (converted), or a terminal recording's seek index and its keyframes. */
export type RecordingFileFormat = 'webm' | 'mp4' | 'cast-index' | 'cast-keyframes';

export interface RecordingFilesTable {
  session_id: string;
  format: RecordingFileFormat;
  location: 'database' | 'share' | 'archive';
  blob_key: string;
  size: number;
  sha256: string;
  created_at: number;
}

export interface BlobsTable {
  key: string;
  data: Buffer;
  /** null: `data` as given; 'deflate': raw-deflated (src/core/recording/blob-encoding.ts). */
  encoding: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ActivityEventsTable {
  id: Generated<number>;
  session_id: string;
  /** Who sent it: proxy, launcher, agent (keystroke sources are searched separately). */
  source: string;
  seq: number;
  at_ms: number;
  type: string;
  text: string;
  details: string | null;
}

/** Searchable event text rolled up per session (src/core/search/session-text.ts). */
export interface SessionTextTable {
  session_id: string;
  cls: string;
  seg: number;
  text: string;
}

export interface EventCursorsTable {
  session_id: string;
  source: string;
  received: number;
  max_seq: number;
}

export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

export interface ClusterNodesTable {
  id: string;
  hostname: string;
  pid: number;
  roles: string;
  version: string;
  http_url: string | null;
  ssh_port: number | null;
  started_at: number;
  last_seen_at: number;
  stopped_at: number | null;
}

export interface SystemMetaTable {
  name: string;
  value: string;
  created_at: number;
}

export interface AgentEnrollmentTokensTable {
  id: string;
  token_hash: string;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  agent_id: string | null;
}

export interface AgentsTable {
  id: string;
  host_name: string;
  version: string;
  /** SHA-256 of the agent's own credential (`vgn_…`). */
  credential_hash: string;
  /** active | deactivated */
  state: 'active' | 'deactivated';
  /** JSON: the last status the agent reported (capture paths, spool, counters). */
  status: string | null;
  /** JSON array of the host's addresses, for matching launched sessions by target host. */
  addresses: string | null;
  enrolled_at: number;
  last_seen_at: number;
  deactivated_at: number | null;
  deactivated_by: string | null;
}

export interface AgentLoginsTable {
  agent_id: string;
  /** The agent's stable key for one login (boot id + leader pid + start time). */
  login_key: string;
  /** The session the login joined; null when it was ignored (record-all off, nothing launched). */
  session_id: string | null;
  /** 1 when the agent holds the session (a `host` session it opened), 0 when it joined another. */
  held: number;
  user_name: string;
  tty: string | null;
  remote_address: string | null;
  created_at: number;
  ended_at: number | null;
}

export interface Database {
  agent_enrollment_tokens: AgentEnrollmentTokensTable;
  agents: AgentsTable;
  agent_logins: AgentLoginsTable;
  sessions: SessionsTable;
  session_grants: SessionGrantsTable;
  recording_chunks: RecordingChunksTable;
  recording_files: RecordingFilesTable;
  blobs: BlobsTable;
  activity_events: ActivityEventsTable;
  session_text: SessionTextTable;
  leases: LeasesTable;
  cluster_nodes: ClusterNodesTable;
  system_meta: SystemMetaTable;
  event_cursors: EventCursorsTable;
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
