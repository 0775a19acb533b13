import type { Version } from '@ds/shared';
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { AppError } from '../lib/errors.js';

// Optimistic concurrency for versions (RFC 9110 8.8.3 and 13.1). The ETag is a digest of what an
// operator changes about a version: its fields, installers, own configs and installation keys.
// It leaves out what changes on its own, or the same retry of a pipeline would fail with 412 for
// nothing: a key's lastUsedAt (devices exchange the installation key all day) and its status
// (grace turns into expired with time, from expiresAt, which is in), and the effective configs
// and digests (they follow the DS-wide defaults, another object). Being a digest of the stored
// state rather than a counter, it needs no column and cannot be forgotten by a write path: any
// change to that state changes it, and equal tags mean equal state.

/** The conditions of a request on a version: its `If-Match` and `If-None-Match` headers as sent. */
export interface Preconditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
}

/** The quoted, strong ETag of a version as DS answers it. */
export function versionEtag(version: Version): string {
  const state = {
    id: version.id,
    recommended: version.recommended,
    mandatory: version.mandatory,
    allowed: version.allowed,
    releaseNotes: version.releaseNotes,
    installers: version.installers,
    contextConfig: version.contextConfig.own,
    sslKeystoreConfig: version.sslKeystoreConfig.own,
    installationKeys: version.installationKeys.map((k) => [k.id, k.prefix, k.createdAt, k.expiresAt, k.revokedAt]),
    publishedAt: version.publishedAt,
    createdAt: version.createdAt,
    updatedAt: version.updatedAt,
  };
  return `"${createHash('sha256').update(JSON.stringify(state)).digest('base64url')}"`;
}

/** The conditions a request sends (absent headers, and empty ones, are no condition). */
export function preconditionsOf(c: Context): Preconditions {
  const value = (name: string) => {
    const text = c.req.header(name)?.trim();
    return text ? text : undefined;
  };
  return { ifMatch: value('if-match'), ifNoneMatch: value('if-none-match') };
}

export function hasPreconditions(p: Preconditions): boolean {
  return p.ifMatch !== undefined || p.ifNoneMatch !== undefined;
}

/** `*`, or the entity tags of a header (`"a", W/"b"`); a header that is neither is a 400, not ignored. */
function parseTags(header: string, name: string): '*' | { weak: boolean; tag: string }[] {
  if (header === '*') return '*';
  const tags: { weak: boolean; tag: string }[] = [];
  const rest = header.replace(/\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(,|$)/g, (_, weak: string | undefined, tag: string) => {
    tags.push({ weak: weak !== undefined, tag });
    return '';
  });
  if (tags.length === 0 || rest.trim() !== '') {
    throw new AppError('VALIDATION_ERROR', `${name}: expected * or quoted entity tags such as "3q2-7w" (the ETag DS answered)`, {
      issues: [{ path: name, message: 'not an entity tag list' }],
    });
  }
  return tags;
}

/**
 * Evaluates the conditions against the version as it is now (`current`: its ETag, null when it
 * does not exist), in RFC 9110's order: If-Match (strong comparison; `*` means "exists"), then
 * If-None-Match (weak comparison; `*` means "does not exist"). A failed condition is 412
 * PRECONDITION_FAILED, whose answer carries the current ETag when there is one.
 */
export function checkPreconditions(what: string, current: string | null, p: Preconditions): void {
  const headers = current === null ? undefined : { ETag: current };
  if (p.ifMatch !== undefined) {
    const tags = parseTags(p.ifMatch, 'If-Match');
    if (current === null) {
      throw new AppError('PRECONDITION_FAILED', `${what} does not exist (If-Match asks for it as it was read)`, { etag: null });
    }
    if (tags !== '*' && !tags.some((t) => !t.weak && t.tag === current)) {
      throw new AppError('PRECONDITION_FAILED', `${what} changed since it was read (If-Match ${p.ifMatch}, now ${current}); read it again`, { etag: current }, headers);
    }
  }
  if (p.ifNoneMatch !== undefined) {
    const tags = parseTags(p.ifNoneMatch, 'If-None-Match');
    if (current !== null && (tags === '*' || tags.some((t) => t.tag === current))) {
      throw new AppError('PRECONDITION_FAILED', tags === '*' ? `${what} already exists (If-None-Match: *)` : `${what} is in a state If-None-Match excludes`, { etag: current }, headers);
    }
  }
}
