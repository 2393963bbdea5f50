import type { ZodError, ZodType, ZodTypeDef } from 'zod';
import { ValidationError } from '../../core/errors.ts';

/** Turns the first zod issue into a 400 that names the field. */
export function zodToValidationError(err: ZodError, where: string): ValidationError {
  const issue = err.issues[0]!;
  let field = issue.path.join('.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    field = field ? `${field}.${key}` : key;
    message = 'unknown field';
  }
  const name = field || where;
  return new ValidationError(`${name}: ${message}`, name);
}

export function parseWith<T>(schema: ZodType<T, ZodTypeDef, unknown>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw zodToValidationError(result.error, where);
  return result.data;
}
