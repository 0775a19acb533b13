import { AppError } from './errors.js';

/** Cursors are opaque to clients: base64url JSON of the last row's sort key. */
export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof parsed.k === 'string' && !parsed.k.includes('\u0000')) return parsed.k;
  } catch {
    // fall through
  }
  throw new AppError('VALIDATION_ERROR', 'cursor: is not a cursor this server issued', { issues: [{ path: 'cursor', message: 'invalid cursor' }] });
}

/** Given `limit + 1` rows, the page and the cursor of the next one. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => string): { items: T[]; next: string | null } {
  if (rows.length <= limit) return { items: rows, next: null };
  const items = rows.slice(0, limit);
  return { items, next: encodeCursor(keyOf(items[items.length - 1] as T)) };
}
