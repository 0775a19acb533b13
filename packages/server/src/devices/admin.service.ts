import { installerOsFor, type Device, type DeviceListQuerySchema, type DeleteResult, type InstallerOsJson } from '@ds/shared';
import { recordEvent } from '../audit/audit.service.js';
import type { z } from 'zod';
import type { Services } from '../context.js';
import type { DeviceRow, Executor } from '../db/types.js';
import { AppError, notFound } from '../lib/errors.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import { findOrganizationByName } from '../organizations/organizations.repository.js';
import { outsideOrganization, type Principal } from '../users/principal.js';
import { decodeKeyAlg } from './device-keys.js';
import { deleteDevice, soleOrganizationOf } from './devices.repository.js';

type ListQuery = z.output<typeof DeviceListQuerySchema>;

function keyType(keyAlg: string): string {
  const { signing } = decodeKeyAlg(keyAlg);
  if (signing.includes('RS256')) return 'RSA';
  if (signing.includes('ES384')) return 'EC P-384';
  return 'EC P-256';
}

function toDevice(row: DeviceRow, labels: string[]): Device {
  const os = installerOsFor(row.osName ?? undefined, row.osArch ?? undefined);
  return {
    id: row.id,
    version: row.version,
    status: row.status,
    os: { name: row.osName, version: row.osVersion, architecture: row.osArch },
    installerOs: os ? (os.toUpperCase() as InstallerOsJson) : null,
    hostname: row.hostname,
    keyType: keyType(row.keyAlg),
    certificateSha256: row.certFingerprint,
    registeredAt: row.registeredAt,
    lastSyncAt: row.lastSyncAt,
    dailyLimitReachedAt: row.dailyLimitReachedAt,
    labels,
  };
}

/** Devices that reported at least one label of the organization. */
function seenInOrganization(db: Executor, organizationId: string) {
  return db
    .selectFrom('deviceLabels')
    .innerJoin('labels', 'labels.name', 'deviceLabels.label')
    .select('deviceLabels.deviceId')
    .where('labels.organizationId', '=', organizationId);
}

async function organizationScope(services: Services, principal: Principal, organization: string | undefined): Promise<string | null> {
  if (organization === undefined) return principal.organizationId;
  if (principal.organizationId !== null && organization !== principal.organizationName) throw outsideOrganization();
  const org = await findOrganizationByName(services.db, organization);
  if (!org) throw notFound(`organization ${organization}`);
  return org.id;
}

/**
 * The labels each device reported, as `principal` may see them: all of them, or for a user limited
 * to an organization only that organization's. One desktop serves many organizations' web apps,
 * and a limited user must not learn the others' labels (nor, below, their counters).
 */
async function labelsOf(db: Executor, principal: Principal, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  let q = db.selectFrom('deviceLabels').select(['deviceLabels.deviceId', 'deviceLabels.label']).where('deviceLabels.deviceId', 'in', ids).orderBy('deviceLabels.label');
  if (principal.organizationId !== null) q = q.where('deviceLabels.label', 'in', organizationLabels(db, principal.organizationId));
  for (const r of await q.execute()) out.get(r.deviceId)?.push(r.label);
  return out;
}

/** The names of an organization's labels. */
function organizationLabels(db: Executor, organizationId: string) {
  return db.selectFrom('labels').select('labels.name').where('labels.organizationId', '=', organizationId);
}

/** Devices, newest registration first, filtered; an organization-limited user sees only its own. */
export async function listDevices(services: Services, principal: Principal, query: ListQuery) {
  const organizationId = await organizationScope(services, principal, query.organization);
  let q = services.db.selectFrom('devices').selectAll().orderBy('registeredAt', 'desc').orderBy('id', 'desc').limit(query.limit + 1);
  if (organizationId) q = q.where('id', 'in', seenInOrganization(services.db, organizationId));
  if (query.label) q = q.where('id', 'in', services.db.selectFrom('deviceLabels').select('deviceId').where('label', '=', query.label));
  if (query.version) q = q.where('version', '=', query.version);
  if (query.status) q = q.where('status', '=', query.status);
  if (query.os) q = q.where((eb) => eb(eb.fn('lower', ['osName']), '=', query.os!.toLowerCase()));
  if (query.since) q = q.where('lastSyncAt', '>=', new Date(query.since).toISOString());
  const after = decodeCursor(query.cursor);
  if (after !== undefined) {
    const [registeredAt = '', id = ''] = after.split('|');
    q = q.where((eb) => eb.or([eb('registeredAt', '<', registeredAt), eb.and([eb('registeredAt', '=', registeredAt), eb('id', '<', id)])]));
  }
  const rows = await q.execute();
  const { items, next } = pageOf(rows, query.limit, (r) => `${r.registeredAt}|${r.id}`);
  const labels = await labelsOf(services.db, principal, items.map((r) => r.id));
  return { items: items.map((r) => toDevice(r, labels.get(r.id) ?? [])), next };
}

/** The device if the principal may see it; 403 for a limited principal either way. */
async function visibleDevice(services: Services, principal: Principal, id: string): Promise<DeviceRow> {
  const row = await services.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
  if (principal.organizationId !== null) {
    const seen = row
      ? await seenInOrganization(services.db, principal.organizationId).where('deviceLabels.deviceId', '=', id).executeTakeFirst()
      : undefined;
    if (!seen) throw outsideOrganization();
  }
  if (!row) throw notFound(`device ${id}`);
  return row;
}

export async function getDevice(services: Services, principal: Principal, id: string): Promise<Device> {
  const row = await visibleDevice(services, principal, id);
  const db = services.db;
  const [labels, userAgents, counters] = await Promise.all([
    labelsOf(db, principal, [id]),
    db.selectFrom('deviceUserAgents').selectAll().where('deviceId', '=', id).orderBy('lastSeenAt', 'desc').execute(),
    db
      .selectFrom('deviceCounters')
      .selectAll()
      .where('deviceId', '=', id)
      // The organization each row was counted for: an unattributed label's counters never show
      // to the organization that later created a label of that name.
      .$if(principal.organizationId !== null, (q) => q.where('organizationId', '=', principal.organizationId!))
      .orderBy('label')
      .orderBy('module')
      .orderBy('useCase')
      .execute(),
  ]);
  return {
    ...toDevice(row, labels.get(id) ?? []),
    userAgents: userAgents.map((u) => ({ userAgent: u.userAgent, browser: u.browserName, browserMajor: u.browserMajor, os: u.osName, lastSeenAt: u.lastSeenAt })),
    counters: counters.map((c) => ({ label: c.label, module: c.module, useCase: c.useCase, month: c.month, counter: Number(c.counter) })),
  };
}

/**
 * Deletes a device: it must register again. Its label counters stay (they are billing history).
 * Its per-device counters go, for every organization it served: so a user limited to one
 * organization may delete only a device that served nothing else.
 */
export async function removeDevice(services: Services, principal: Principal, id: string): Promise<DeleteResult> {
  await visibleDevice(services, principal, id);
  const before = await getDevice(services, principal, id);
  if (principal.organizationId !== null) {
    const others = await services.db
      .selectFrom('deviceLabels')
      .select('label')
      .where('deviceId', '=', id)
      .where('label', 'not in', organizationLabels(services.db, principal.organizationId))
      .executeTakeFirst();
    if (others) {
      throw new AppError('FORBIDDEN', `device ${id} also serves labels outside ${principal.organizationName}; only a user who sees all of DS may delete it`);
    }
  }
  return services.db.transaction().execute(async (trx) => {
    const counters = await trx.selectFrom('deviceCounters').select((eb) => eb.fn.countAll<number>().as('n')).where('deviceId', '=', id).executeTakeFirstOrThrow();
    // The audit entry belongs to the device's organization when it served exactly one (a limited user's own).
    const sole = await soleOrganizationOf(trx, id);
    if (!(await deleteDevice(trx, id))) throw new AppError('NOT_FOUND', `device ${id} does not exist`);
    const organization =
      principal.organizationId !== null ? { id: principal.organizationId, name: principal.organizationName ?? '' } : sole;
    await recordEvent(services, trx, { action: 'device.deleted', resourceType: 'device', resourceId: id, organization, before, after: null, always: true });
    services.deviceKeys.forget(id);
    return { deleted: id, removed: { deviceCounters: Number(counters.n) } };
  });
}
