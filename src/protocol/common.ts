import { z } from 'zod';

/** Shared wire pieces. No node:* imports here: the web console and clients import this folder. */
export const id = z.string().uuid();
export const idParams = z.object({ id }).strict();
export const name = z.string().trim().min(1).max(128);
export const limit = z.coerce.number().int().min(1).max(500).default(50);
/** Millisecond epoch or ISO date, as a query parameter. */
export const timeParam = z
  .string()
  .max(40)
  .transform((v, ctx) => {
    const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(n)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be an ISO date or milliseconds since the epoch' });
      return z.NEVER;
    }
    return n;
  });

export const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.record(z.unknown()).optional() }),
});
export type ErrorBody = z.infer<typeof errorBody>;
