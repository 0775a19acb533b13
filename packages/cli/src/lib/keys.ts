import type { ApiKeyInfo } from '@ds/shared';
import type { Context } from './context.js';

/** `2 active, 1 grace` for a table cell. */
export function summarizeKeys(keys: ApiKeyInfo[]): string {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key.status, (counts.get(key.status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${count} ${status}`).join(', ') || 'none';
}

/** One row per key for an object table: `key ds_lbl_ab12` → `active, expires ..., last used ...`. */
export function keyFields(keys: ApiKeyInfo[]): [string, unknown][] {
  if (keys.length === 0) return [['keys', 'none']];
  return keys.map((key) => {
    const parts: string[] = [key.status, `created ${key.createdAt}`];
    if (key.expiresAt) parts.push(`expires ${key.expiresAt}`);
    if (key.revokedAt) parts.push(`revoked ${key.revokedAt}`);
    parts.push(key.lastUsedAt ? `last used ${key.lastUsedAt}` : 'never used');
    return [`key ${key.prefix}`, parts.join(', ')];
  });
}

/** Secrets are shown once; say so where a person sees it but a pipe does not catch it. */
export function warnShownOnce(ctx: Context, what: string): void {
  ctx.note(`warning: store the ${what} now; DS keeps only its hash and will not show it again`);
}
