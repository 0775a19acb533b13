import {

  type ContextConfig,
  type ConfigView,
  type DeleteResult,
  type Defaults,
  type Installer,
  type PageQuery,
  type SslKeystoreConfig,
  type Version,

  type InstallerOsJson,
  type InstallerCheck,
  VersionPutSchema,
} from '@ds/shared';
import { stat } from 'node:fs/promises';
import type { z } from 'zod';
import { apiKeyInfosOf, issueApiKey, revokeApiKeys, rotateApiKey } from '../apikeys/api-keys.service.js';
import type { Services } from '../context.js';
import type { Executor, InstallerRow, VersionRow } from '../db/types.js';
import { iso } from '../lib/clock.js';
import { AppError, conflict, invalid, notFound } from '../lib/errors.js';
import { outboundPolicy } from '../lib/outbound.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import { semverSortKey } from '../lib/semver.js';
import {
  SETTING,
  configView,
  effectiveContextConfig,
  effectiveSslKeystoreConfig,
  loadDefaultConfigs,
  parseJson,
  type DefaultConfigs,
} from './configs.js';
import { checkPreconditions, hasPreconditions, versionEtag, type Preconditions } from './etag.js';
import { checkInstaller, resolveInstallerFile, sha256File, type CheckedInstaller } from './installer-files.js';
import * as repo from './versions.repository.js';
import { recordEvent } from '../audit/audit.service.js';

type VersionPutBody = z.output<typeof VersionPutSchema>;

/** Records a change of a version in the audit log (and the webhook outbox), inside the change's transaction. */
async function audit(services: Services, trx: Executor, action: string, id: string, before: Version | null, after: Version | null, always = false) {
  await recordEvent(services, trx, { action, resourceType: 'version', resourceId: id, before, after, always });
}

/** The version as it is now, or null. */
async function currentVersion(services: Services, trx: Executor, id: string): Promise<Version | null> {
  const row = await repo.findVersion(trx, id);
  return row ? ((await toVersions(services, trx, [row]))[0] ?? null) : null;
}

function toInstaller(row: InstallerRow): Installer {
  return { os: row.os as InstallerOsJson, uri: row.uri, sha256: row.sha256, size: row.size === null ? null : Number(row.size) };
}

/** Builds the API objects for version rows, with their installers, keys and configs (3 queries). */
async function toVersions(services: Services, db: Executor, rows: VersionRow[], defaults?: DefaultConfigs): Promise<Version[]> {
  const ids = rows.map((r) => r.id);
  const [installers, keys, defs] = await Promise.all([
    repo.listInstallers(db, ids),
    apiKeyInfosOf(db, 'installation', ids, services.clock.now()),
    defaults ?? loadDefaultConfigs(db),
  ]);
  return rows.map((row) => {
    const ownContext = parseJson<ContextConfig>(row.contextConfig);
    const ownSsl = parseJson<SslKeystoreConfig>(row.sslKeystoreConfig);
    return {
      id: row.id,
      recommended: row.recommended === 1,
      mandatory: row.mandatory === 1,
      allowed: row.allowed === 1,
      releaseNotes: row.releaseNotes,
      installers: installers.filter((i) => i.versionId === row.id).map(toInstaller),
      contextConfig: configView(ownContext, effectiveContextConfig(ownContext, defs.contextConfig)),
      sslKeystoreConfig: configView(ownSsl, effectiveSslKeystoreConfig(ownSsl, defs.sslKeystoreConfig)),
      installationKeys: keys.get(row.id) ?? [],
      publishedAt: row.publishedAt,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  });
}

async function toVersion(services: Services, db: Executor, row: VersionRow): Promise<Version> {
  return (await toVersions(services, db, [row]))[0]!;
}

async function requireVersion(db: Executor, id: string): Promise<VersionRow> {
  const row = await repo.findVersion(db, id);
  if (!row) throw notFound(`version ${id}`);
  return row;
}

export async function listVersions(services: Services, page: PageQuery) {
  const rows = await repo.listVersions(services.db, { before: decodeCursor(page.cursor), limit: page.limit + 1 });
  const { items, next } = pageOf(rows, page.limit, (r) => r.sortKey);
  return { items: await toVersions(services, services.db, items), next };
}

export async function getVersion(services: Services, id: string): Promise<Version> {
  return toVersion(services, services.db, await requireVersion(services.db, id));
}

/** A version and its ETag (both from one read). */
export interface TaggedVersion {
  version: Version;
  etag: string;
}

export async function getTaggedVersion(services: Services, id: string): Promise<TaggedVersion> {
  const version = await getVersion(services, id);
  return { version, etag: versionEtag(version) };
}

/** The version as it is now in `db`, with its ETag. */
async function taggedVersion(services: Services, db: Executor, id: string): Promise<TaggedVersion> {
  const version = await toVersion(services, db, await requireVersion(db, id));
  return { version, etag: versionEtag(version) };
}

/**
 * Checks a request's If-Match / If-None-Match against the version as it is now, inside the
 * transaction that writes, after taking the version's row lock: two writers sending the same ETag
 * cannot both pass, the second one waits for the first to commit and then sees a new ETag.
 * Without conditions nothing is locked or read: the last write wins, as it always did.
 */
async function checkVersion(services: Services, trx: Executor, id: string, preconditions: Preconditions): Promise<boolean | undefined> {
  if (!hasPreconditions(preconditions)) return undefined;
  const exists = await repo.lockVersion(trx, id);
  checkPreconditions(`version ${id}`, exists ? (await taggedVersion(services, trx, id)).etag : null, preconditions);
  return exists;
}

/**
 * The answer to a request that found no version `id` and now finds one another request has just
 * created: a create-only request fails as it would have had it come second; any other is told to
 * retry (it would now update).
 */
function createdMeanwhile(id: string, preconditions: Preconditions): AppError {
  if (preconditions.ifNoneMatch !== undefined) return new AppError('PRECONDITION_FAILED', `version ${id} already exists (If-None-Match: *)`);
  return conflict(`version ${id} was created by another request at the same time; retry`);
}

/** Checks installers (file checksums are computed outside any transaction: they may be large). */
async function checkInstallers(services: Services, installers: NonNullable<VersionPutBody['installers']>, previous: InstallerRow[]) {
  const seen = new Set<string>();
  const checked: CheckedInstaller[] = [];
  const options = {
    root: services.config.installerRoot,
    policy: outboundPolicy({ allowPrivate: services.config.allowPrivateOrigins }),
    warn: (message: string) => services.logger.warn('installer origin not checked', { problem: message }),
  };
  for (const [i, input] of installers.entries()) {
    if (seen.has(input.os)) throw invalid(`installers[${i}].os`, `${input.os} is given twice`);
    seen.add(input.os);
    const before = previous.find((p) => p.os === input.os);
    checked.push(
      await checkInstaller(input, options, `installers[${i}]`, before ? { ...before, size: before.size === null ? null : Number(before.size) } : undefined),
    );
  }
  return checked;
}

/**
 * Creates or updates a version. On creation an installation API key is made and returned once.
 * Omitted fields keep their value on update; `installers` replaces the whole set.
 */
export async function putVersion(
  services: Services,
  id: string,
  body: VersionPutBody,
  preconditions: Preconditions = {},
): Promise<{ created: boolean; version: Version; etag: string }> {
  const sortKey = semverSortKey(id);
  const previousInstallers = await repo.listInstallers(services.db, [id]);
  const installers = body.installers ? await checkInstallers(services, body.installers, previousInstallers) : undefined;
  const json = (v: unknown) => (v === null ? null : JSON.stringify(v));

  const result = await services.db.transaction().execute(async (trx) => {
    const existedWhenChecked = await checkVersion(services, trx, id, preconditions);
    const now = services.clock.now();
    const existing = await repo.findVersion(trx, id);
    // On PostgreSQL each statement reads what is committed when it starts: a version created by a
    // concurrent request after the check above is seen here, and the conditions were checked
    // against its absence.
    if (existing && existedWhenChecked === false) throw createdMeanwhile(id, preconditions);
    const before = existing ? await currentVersion(services, trx, id) : null;
    const sameRank = await repo.findVersionBySortKey(trx, sortKey);
    if (sameRank && sameRank.id !== id) throw conflict(`version ${id} has the same precedence as ${sameRank.id} (build metadata does not count)`);
    let apiKey: string | undefined;
    if (existing) {
      await repo.updateVersion(trx, id, {
        ...(body.recommended !== undefined ? { recommended: body.recommended ? 1 : 0 } : {}),
        ...(body.mandatory !== undefined ? { mandatory: body.mandatory ? 1 : 0 } : {}),
        ...(body.allowed !== undefined ? { allowed: body.allowed ? 1 : 0 } : {}),
        ...(body.releaseNotes !== undefined ? { releaseNotes: body.releaseNotes } : {}),
        ...(body.contextConfig !== undefined ? { contextConfig: json(body.contextConfig) } : {}),
        ...(body.sslKeystoreConfig !== undefined ? { sslKeystoreConfig: json(body.sslKeystoreConfig) } : {}),
        updatedAt: iso(now),
      });
    } else {
      const inserted = await repo.insertVersion(trx, {
        id,
        sortKey,
        recommended: body.recommended ? 1 : 0,
        mandatory: body.mandatory ? 1 : 0,
        allowed: body.allowed === false ? 0 : 1,
        releaseNotes: body.releaseNotes ?? null,
        contextConfig: body.contextConfig ? json(body.contextConfig) : null,
        sslKeystoreConfig: body.sslKeystoreConfig ? json(body.sslKeystoreConfig) : null,
        publishedAt: iso(now),
        createdAt: iso(now),
        updatedAt: iso(now),
      });
      // Created by a concurrent request since this one looked.
      if (!inserted) throw createdMeanwhile(id, preconditions);
      apiKey = await issueApiKey(trx, 'installation', id, now);
    }
    if (installers) await repo.replaceInstallers(trx, id, installers);
    const { version, etag } = await taggedVersion(services, trx, id);
    await audit(services, trx, existing ? 'version.changed' : 'version.created', id, before, version);
    return { created: !existing, version: apiKey ? { ...version, installationApiKey: apiKey } : version, etag };
  });
  // After the commit, so a concurrent sync cannot cache the old values again.
  services.configCache.clear();
  services.offerCache.clear();
  return result;
}

/** Deletes a version with its installers and keys; 409 while devices still run it, unless forced. */
export async function deleteVersion(services: Services, id: string, force: boolean, preconditions: Preconditions = {}): Promise<DeleteResult> {
  const result = await services.db.transaction().execute(async (trx) => {
    await checkVersion(services, trx, id, preconditions);
    await requireVersion(trx, id);
    const devices = await repo.countDevicesOnVersion(trx, id);
    if (devices > 0 && !force) {
      throw new AppError('HAS_DEPENDANTS', `${devices} device(s) still run version ${id}; force to delete it anyway (the devices stay registered)`, {
        dependants: { devices },
      });
    }
    const installers = (await repo.listInstallers(trx, [id])).length;
    const keys = (await apiKeyInfosOf(trx, 'installation', [id], services.clock.now())).get(id)?.length ?? 0;
    const before = await currentVersion(services, trx, id);
    await repo.deleteVersion(trx, id);
    await audit(services, trx, 'version.deleted', id, before, null, true);
    return { deleted: id, removed: { installers, installationKeys: keys } };
  });
  services.configCache.clear();
  services.offerCache.clear();
  return result;
}

/**
 * `ds version verify`: each installer's recorded checksum and size against the file as it is now.
 * file: installers are hashed again in full (downloads only hash when size or mtime changed);
 * http(s) installers are not fetched.
 */
export async function verifyVersion(services: Services, id: string): Promise<InstallerCheck[]> {
  await requireVersion(services.db, id);
  const installers = await repo.listInstallers(services.db, [id]);
  const checks: InstallerCheck[] = [];
  for (const installer of installers) {
    const recorded = { sha256: installer.sha256, size: installer.size === null ? null : Number(installer.size) };
    const base = { os: installer.os as InstallerOsJson, uri: installer.uri, recorded };
    if (!/^file:/i.test(installer.uri)) {
      checks.push({ ...base, actual: null, status: 'unchecked', detail: 'http(s) installers are not fetched; the origin serves what it has' });
      continue;
    }
    let path: string;
    let actual: { sha256: string; size: number };
    try {
      path = await resolveInstallerFile(installer.uri, services.config.installerRoot, 'uri');
      const info = await stat(path);
      actual = { sha256: await sha256File(path), size: info.size };
    } catch (error) {
      checks.push({ ...base, actual: null, status: 'missing', detail: (error as Error).message.replace(/^uri: /, '') });
      continue;
    }
    const changed: string[] = [];
    if (recorded.sha256 !== null && actual.sha256 !== recorded.sha256) changed.push('SHA-256');
    if (recorded.size !== null && actual.size !== recorded.size) changed.push(`size (${recorded.size} → ${actual.size} bytes)`);
    checks.push(
      changed.length === 0
        ? { ...base, actual, status: 'ok', detail: null }
        : { ...base, actual, status: 'changed', detail: `${changed.join(' and ')} differ from the record; downloads are refused until the version is saved again` },
    );
  }
  return checks;
}

export async function rotateVersionKey(
  services: Services,
  id: string,
  graceSeconds = 0,
  preconditions: Preconditions = {},
): Promise<{ result: { installationApiKey: string }; etag: string }> {
  return services.db.transaction().execute(async (trx) => {
    await checkVersion(services, trx, id, preconditions);
    await requireVersion(trx, id);
    const before = await currentVersion(services, trx, id);
    const installationApiKey = await rotateApiKey(trx, 'installation', id, services.clock.now(), graceSeconds);
    const { version, etag } = await taggedVersion(services, trx, id);
    await audit(services, trx, 'version.key_rotated', id, before, version, true);
    return { result: { installationApiKey }, etag };
  });
}

export async function revokeVersionKeys(services: Services, id: string, preconditions: Preconditions = {}): Promise<TaggedVersion> {
  return services.db.transaction().execute(async (trx) => {
    await checkVersion(services, trx, id, preconditions);
    await requireVersion(trx, id);
    const before = await currentVersion(services, trx, id);
    await revokeApiKeys(trx, 'installation', id, services.clock.now());
    const tagged = await taggedVersion(services, trx, id);
    await audit(services, trx, 'version.keys_revoked', id, before, tagged.version, true);
    return tagged;
  });
}

// ------------------------------------------------------------------ configs

export type ConfigKind = 'contextConfig' | 'sslKeystoreConfig';

/** A version's config (own, effective, digest); `default` names the DS-wide defaults. */
export async function getConfig(services: Services, id: string, kind: ConfigKind): Promise<ConfigView> {
  if (id === 'default') {
    const defaults = await loadDefaultConfigs(services.db);
    return kind === 'contextConfig'
      ? configView(defaults.contextConfig, effectiveContextConfig(null, defaults.contextConfig))
      : configView(defaults.sslKeystoreConfig, defaults.sslKeystoreConfig);
  }
  const version = await getVersion(services, id);
  return version[kind];
}

/** A version's config with the version's ETag (a config is part of its version's state). */
export async function getTaggedConfig(services: Services, id: string, kind: ConfigKind): Promise<{ view: ConfigView; etag: string }> {
  const { version, etag } = await getTaggedVersion(services, id);
  return { view: version[kind], etag };
}

export async function putConfig(services: Services, id: string, kind: ConfigKind, config: ContextConfig | SslKeystoreConfig | null): Promise<ConfigView> {
  const text = config === null ? null : JSON.stringify(config);
  if (id !== 'default') return (await putVersionConfig(services, id, kind, config)).view;
  await services.db.transaction().execute(async (trx) => {
    const before = (await loadDefaultConfigs(trx))[kind];
    await repo.putSetting(trx, SETTING[kind], text, iso(services.clock.now()));
    const after = (await loadDefaultConfigs(trx))[kind];
    await recordEvent(services, trx, { action: 'defaults.changed', resourceType: 'defaults', resourceId: kind, before: { [kind]: before }, after: { [kind]: after } });
  });
  services.configCache.clear();
  return getConfig(services, id, kind);
}

/** Sets (or clears) a version's own config; the answer and the ETag are read in the same transaction. */
export async function putVersionConfig(
  services: Services,
  id: string,
  kind: ConfigKind,
  config: ContextConfig | SslKeystoreConfig | null,
  preconditions: Preconditions = {},
): Promise<{ view: ConfigView; etag: string }> {
  const text = config === null ? null : JSON.stringify(config);
  const result = await services.db.transaction().execute(async (trx) => {
    await checkVersion(services, trx, id, preconditions);
    await requireVersion(trx, id);
    const before = await currentVersion(services, trx, id);
    await repo.updateVersion(trx, id, { [kind]: text, updatedAt: iso(services.clock.now()) });
    const { version, etag } = await taggedVersion(services, trx, id);
    await audit(services, trx, 'version.changed', id, before, version);
    return { view: version[kind], etag };
  });
  services.configCache.clear();
  return result;
}

export async function getDefaults(services: Services): Promise<Defaults> {
  const defaults = await loadDefaultConfigs(services.db);
  const context = effectiveContextConfig(null, defaults.contextConfig);
  const view = configView(null, context);
  const ssl = configView(null, defaults.sslKeystoreConfig);
  return { contextConfig: context, contextConfigDigest: view.digest!, sslKeystoreConfig: defaults.sslKeystoreConfig, sslKeystoreConfigDigest: ssl.digest };
}

