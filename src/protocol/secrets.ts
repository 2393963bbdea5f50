import { z } from 'zod';
import { id } from './common.ts';

/** Secrets on the wire. A secret's password or private key goes in, never comes out. */

export const SECRET_KINDS = ['ssh', 'desktop'] as const;
export const secretKind = z.enum(SECRET_KINDS);
export const DEFAULT_PORTS: Readonly<Record<(typeof SECRET_KINDS)[number], number>> = { ssh: 22, desktop: 3389 };

/** Typed by users in `ssh -p 2222 user:<secret>@vigil`, hence no `:` or `@`. */
export const secretName = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, 'may hold letters, digits, dot, dash and underscore only (it is typed in ssh user:secret@host)');

const HOSTNAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;
export const isHost = (v: string): boolean =>
  v.length > 0 && v.length <= 253 && (v.includes(':') ? IPV6.test(v) && (v.match(/:/g) ?? []).length >= 2 : HOSTNAME.test(v));

/** A host name, IPv4 or IPv6 address (brackets around IPv6 are dropped); the port goes in `port`. */
export const secretHost = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .transform((v) => v.replace(/^\[(.*)\]$/, '$1'))
  .refine(isHost, 'must be a host name or IP address (no spaces, slashes or port)');

export const secretPort = z.number().int().min(1).max(65535);
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/; // eslint-disable-line no-control-regex
export const targetUsername = z.string().trim().min(1).max(256).regex(NO_CONTROL, 'must not contain control characters');
export const secretPassword = z.string().min(1).max(4096);
export const privateKey = z.string().trim().min(1).max(16 * 1024, 'must be at most 16 KiB');
export const passphrase = z.string().min(1).max(1024);

export const LAUNCHER_PLACEHOLDERS = ['host', 'port', 'username'] as const;
const launcherText = z
  .string()
  .max(4096)
  .regex(/^[^\u0000]*$/, 'must not contain NUL') // eslint-disable-line no-control-regex
  .superRefine((v, ctx) => {
    for (const m of v.matchAll(/\{(\w+)\}/g)) {
      if (!(LAUNCHER_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unknown placeholder {${m[1]}}; use {host}, {port} or {username}` });
        return;
      }
    }
  });

/**
 * What `vigil launch` starts for a desktop secret: an RDP or SSH client for the target, or any
 * program (`process`) whose command and arguments may use {host} {port} {username}.
 */
export const launcher = z
  .object({
    type: z.enum(['rdp', 'ssh', 'process']),
    command: launcherText.pipe(z.string().min(1)).optional(),
    args: z.array(launcherText).max(64).optional(),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.type === 'process' && !l.command) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['command'], message: 'is required for a process launcher' });
  });
export type Launcher = z.infer<typeof launcher>;

export const recordingFlags = z
  .object({ video: z.boolean().default(true), keystrokes: z.boolean().default(true) })
  .strict();
export const secretAccess = z
  .object({ users: z.array(id).max(1000).default([]), roles: z.array(id).max(1000).default([]) })
  .strict();

const issue = (ctx: z.RefinementCtx, path: string, message: string): void => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message });

export const createSecretRequest = z
  .object({
    name: secretName,
    kind: secretKind,
    host: secretHost,
    port: secretPort.optional(),
    username: targetUsername,
    password: secretPassword.optional(),
    privateKey: privateKey.optional(),
    passphrase: passphrase.optional(),
    launcher: launcher.optional(),
    recording: recordingFlags.default({}),
    access: secretAccess.default({}),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.password !== undefined && v.privateKey !== undefined) issue(ctx, 'privateKey', 'give either password or privateKey, not both');
    if (v.passphrase !== undefined && v.privateKey === undefined) issue(ctx, 'passphrase', 'only applies together with privateKey');
    if (v.launcher !== undefined && v.kind !== 'desktop') issue(ctx, 'launcher', 'only desktop secrets have a launcher');
  })
  .transform((v) => ({
    ...v,
    port: v.port ?? DEFAULT_PORTS[v.kind],
    // A desktop secret without a launcher opens an RDP client: say so rather than leave it implicit.
    launcher: v.launcher ?? (v.kind === 'desktop' ? { type: 'rdp' as const } : null),
  }));
export type CreateSecretRequest = z.output<typeof createSecretRequest>;

/**
 * Every field optional. `password`/`privateKey`: a string replaces the credential, `null` clears
 * it; a new passphrase comes with its private key. `launcher: null` removes the launcher.
 * `hostKey` pins the target's host key (an OpenSSH public key line or a `SHA256:` fingerprint);
 * `null` forgets it so the next connection pins afresh. Changing host or port forgets it too.
 */
export const updateSecretRequest = z
  .object({
    name: secretName.optional(),
    kind: secretKind.optional(),
    host: secretHost.optional(),
    port: secretPort.optional(),
    username: targetUsername.optional(),
    password: secretPassword.nullable().optional(),
    privateKey: privateKey.nullable().optional(),
    passphrase: passphrase.optional(),
    launcher: launcher.nullable().optional(),
    recording: z.object({ video: z.boolean().optional(), keystrokes: z.boolean().optional() }).strict().optional(),
    access: z.object({ users: z.array(id).max(1000).optional(), roles: z.array(id).max(1000).optional() }).strict().optional(),
    hostKey: z.string().trim().min(1).max(16 * 1024).nullable().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (typeof v.password === 'string' && typeof v.privateKey === 'string') issue(ctx, 'privateKey', 'give either password or privateKey, not both');
    if (v.passphrase !== undefined && typeof v.privateKey !== 'string') issue(ctx, 'passphrase', 'only applies together with a new privateKey');
    if (v.kind === 'ssh' && v.launcher) issue(ctx, 'launcher', 'only desktop secrets have a launcher');
  });
export type UpdateSecretRequest = z.output<typeof updateSecretRequest>;

export const secretView = z.object({
  id,
  name: z.string(),
  kind: secretKind,
  host: z.string(),
  port: z.number(),
  username: z.string(),
  credential: z.object({ type: z.enum(['password', 'private-key']).nullable() }),
  launcher: launcher.nullable(),
  recording: z.object({ video: z.boolean(), keystrokes: z.boolean() }),
  /** Administrators see every grant; other users see the grants through which they may launch. */
  access: z.object({ users: z.array(id), roles: z.array(id) }),
  hostKeyFingerprint: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type SecretView = z.infer<typeof secretView>;

export const secretList = z.object({ items: z.array(secretView) });
