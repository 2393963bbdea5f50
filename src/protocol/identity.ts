import { z } from 'zod';
import { id, name } from './common.ts';

export const PERMISSION_NAMES = [
  'session-monitoring.view',
  'session-monitoring.administer',
  'session-recording.view',
  'session-recording.audit',
  'settings.administer',
  'secrets.administer',
  'users.administer',
  'audit.view',
] as const;
export const permission = z.enum(PERMISSION_NAMES);

export const username = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-zA-Z0-9._-]+$/, 'may hold letters, digits, dot, dash and underscore only');
export const password = z.string().min(8, 'must be at least 8 characters').max(1024);

export const loginRequest = z.object({ username: z.string().min(1).max(256), password: z.string().min(1).max(1024) }).strict();

export const userView = z.object({
  id,
  username: z.string(),
  displayName: z.string(),
  email: z.string().nullable(),
  disabled: z.boolean(),
  roles: z.array(z.object({ id, name: z.string() })),
  permissions: z.array(permission),
  createdAt: z.number(),
});
export type UserView = z.infer<typeof userView>;

export const loginResponse = z.object({ token: z.string(), csrfToken: z.string(), expiresAt: z.number(), user: userView });

export const createUserRequest = z
  .object({
    username,
    displayName: name.optional(),
    email: z.string().trim().email().max(256).optional(),
    password,
    roles: z.array(id).max(50).default([]),
  })
  .strict();
export const updateUserRequest = z
  .object({
    displayName: name.optional(),
    email: z.string().trim().email().max(256).nullable().optional(),
    password: password.optional(),
    roles: z.array(id).max(50).optional(),
    disabled: z.boolean().optional(),
  })
  .strict();

export const roleView = z.object({
  id,
  name: z.string(),
  description: z.string(),
  builtin: z.boolean(),
  permissions: z.array(permission),
});
export type RoleView = z.infer<typeof roleView>;
export const createRoleRequest = z
  .object({ name, description: z.string().max(1000).default(''), permissions: z.array(permission).max(50) })
  .strict();
export const updateRoleRequest = z
  .object({ name: name.optional(), description: z.string().max(1000).optional(), permissions: z.array(permission).max(50).optional() })
  .strict();

export const apiTokenRequest = z
  .object({ name, expiresInDays: z.number().int().min(1).max(3650).default(90) })
  .strict();
export const apiTokenView = z.object({
  id,
  name: z.string(),
  kind: z.enum(['session', 'api']),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
});
export type ApiTokenView = z.infer<typeof apiTokenView>;

export const sshKeyRequest = z
  .object({ publicKey: z.string().trim().min(1).max(16384), name: z.string().trim().max(128).optional() })
  .strict();
export const sshKeyView = z.object({
  id,
  name: z.string(),
  algorithm: z.string(),
  fingerprint: z.string(),
  createdAt: z.number(),
});
export type SshKeyView = z.infer<typeof sshKeyView>;
