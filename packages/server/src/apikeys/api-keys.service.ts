import type { ApiKeyInfo } from '@ds/shared';
import type { ApiKeyRow, Executor } from '../db/types.js';
import { addSeconds, iso } from '../lib/clock.js';
import { KEY_PREFIX, newSecret, secretDigest, secretHint } from '../lib/secrets.js';
import * as repo from './api-keys.repository.js';
import type { KeyKind } from './api-keys.repository.js';

export type { KeyKind };

/** Makes a new key for a label or version and stores its digest; the plain key is returned once. */
export async function issueApiKey(db: Executor, kind: KeyKind, ownerId: string, now: Date): Promise<string> {
  const key = newSecret(kind === 'label' ? KEY_PREFIX.label : KEY_PREFIX.installation);
  await repo.insertApiKey(db, {
    id: crypto.randomUUID(),
    kind,
    labelId: kind === 'label' ? ownerId : null,
    versionId: kind === 'installation' ? ownerId : null,
    keyHash: secretDigest(key),
    prefix: secretHint(key),
    createdAt: iso(now),
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
  });
  return key;
}

/**
 * Replaces the working keys with a new one. With a grace period the old keys keep working until
 * it ends (so deployed apps can switch over); without one they stop at once.
 */
export async function rotateApiKey(db: Executor, kind: KeyKind, ownerId: string, now: Date, graceSeconds = 0): Promise<string> {
  await repo.retireActiveKeys(db, kind, ownerId, iso(now), graceSeconds > 0 ? iso(addSeconds(now, graceSeconds)) : null);
  return issueApiKey(db, kind, ownerId, now);
}

export async function revokeApiKeys(db: Executor, kind: KeyKind, ownerId: string, now: Date): Promise<void> {
  await repo.revokeAllKeys(db, kind, ownerId, iso(now));
}

export function keyStatus(row: ApiKeyRow, now: Date): ApiKeyInfo['status'] {
  if (row.revokedAt !== null) return 'revoked';
  if (row.expiresAt === null) return 'active';
  return row.expiresAt > iso(now) ? 'grace' : 'expired';
}

export function toApiKeyInfo(row: ApiKeyRow, now: Date): ApiKeyInfo {
  return {
    id: row.id,
    prefix: row.prefix,
    status: keyStatus(row, now),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
  };
}

/** Key infos grouped by owner id. */
export async function apiKeyInfosOf(db: Executor, kind: KeyKind, ownerIds: string[], now: Date): Promise<Map<string, ApiKeyInfo[]>> {
  const out = new Map<string, ApiKeyInfo[]>(ownerIds.map((id) => [id, []]));
  for (const row of await repo.listApiKeysOf(db, kind, ownerIds)) {
    const owner = kind === 'label' ? row.labelId : row.versionId;
    if (owner) out.get(owner)?.push(toApiKeyInfo(row, now));
  }
  return out;
}

const TOUCH_INTERVAL_MS = 60_000;

/**
 * The owner id of a working key of this kind, or null. Records `last used` (at most once a
 * minute per key, to keep writes off the hot path).
 */
export async function verifyApiKey(db: Executor, kind: KeyKind, key: string, now: Date): Promise<string | null> {
  const row = await repo.findApiKeyByHash(db, secretDigest(key));
  if (!row || row.kind !== kind || keyStatus(row, now) === 'revoked' || keyStatus(row, now) === 'expired') return null;
  if (!row.lastUsedAt || now.getTime() - Date.parse(row.lastUsedAt) > TOUCH_INTERVAL_MS) await repo.touchApiKey(db, row.id, iso(now));
  return kind === 'label' ? row.labelId : row.versionId;
}
