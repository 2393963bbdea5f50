import { ValidationError } from '../errors.ts';

/**
 * Opaque keyset cursors: base64url of a small JSON tuple. Clients pass them back untouched; a
 * cursor that does not decode to the expected tuple is a 400 naming `cursor`.
 */
export function encodeCursor(parts: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor<T extends ReadonlyArray<'string' | 'number'>>(cursor: string, shape: T): { [K in keyof T]: T[K] extends 'string' ? string : number } {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parts = null;
  }
  const ok =
    Array.isArray(parts) &&
    parts.length === shape.length &&
    parts.every((p, i) => (shape[i] === 'number' ? Number.isSafeInteger(p) : typeof p === 'string' && p.length <= 200));
  if (!ok) throw new ValidationError('cursor: not a cursor this list returned', 'cursor');
  return parts as { [K in keyof T]: T[K] extends 'string' ? string : number };
}
