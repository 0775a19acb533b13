import type { ApiKeyInfo, DeleteResult, Label, PageQuery } from '@ds/shared';
import { apiKeyInfosOf, issueApiKey, revokeApiKeys, rotateApiKey } from '../apikeys/api-keys.service.js';
import type { Services } from '../context.js';
import type { Executor } from '../db/types.js';
import { iso } from '../lib/clock.js';
import { invalid, notFound } from '../lib/errors.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import { findOrganizationByName } from '../organizations/organizations.repository.js';
import { canSeeOrganization, outsideOrganization, type Principal } from '../users/principal.js';
import * as repo from './labels.repository.js';
import { recordEvent } from '../audit/audit.service.js';

function toLabel(row: repo.LabelRowWithOrg, keys: ApiKeyInfo[], apiKey?: string): Label {
  return {
    id: row.id,
    name: row.name,
    organization: row.organization,
    description: row.description,
    keys,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    ...(apiKey ? { apiKey } : {}),
  };
}

async function labelWithKeys(services: Services, db: Executor, row: repo.LabelRowWithOrg, apiKey?: string): Promise<Label> {
  const keys = await apiKeyInfosOf(db, 'label', [row.id], services.clock.now());
  return toLabel(row, keys.get(row.id) ?? [], apiKey);
}

/** Records a change of a label in the audit log (inside the change's transaction). */
async function audit(services: Services, trx: Executor, action: string, row: repo.LabelRowWithOrg, before: Label | null, after: Label | null, always = false) {
  await recordEvent(services, trx, {
    action,
    resourceType: 'label',
    resourceId: row.name,
    organization: { id: row.organizationId, name: row.organization },
    before,
    after,
    always,
  });
}

/** The label if the principal may see it; 403 (not 404) for a limited principal, so nothing leaks. */
async function visibleLabel(db: Executor, principal: Principal, name: string) {
  const row = await repo.findLabelByName(db, name);
  if (principal.organizationId !== null && (!row || !canSeeOrganization(principal, row.organizationId))) throw outsideOrganization();
  if (!row) throw notFound(`label ${name}`);
  return row;
}

export async function listLabels(services: Services, principal: Principal, page: PageQuery, organization?: string) {
  let organizationId = principal.organizationId;
  if (organization !== undefined) {
    if (principal.organizationId !== null && organization !== principal.organizationName) throw outsideOrganization();
    const org = await findOrganizationByName(services.db, organization);
    if (!org) throw notFound(`organization ${organization}`);
    organizationId = org.id;
  }
  const rows = await repo.listLabels(services.db, { after: decodeCursor(page.cursor), limit: page.limit + 1, organizationId });
  const { items, next } = pageOf(rows, page.limit, (r) => r.name);
  const keys = await apiKeyInfosOf(services.db, 'label', items.map((r) => r.id), services.clock.now());
  return { items: items.map((r) => toLabel(r, keys.get(r.id) ?? [])), next };
}

export async function getLabel(services: Services, principal: Principal, name: string): Promise<Label> {
  return labelWithKeys(services, services.db, await visibleLabel(services.db, principal, name));
}

/** Creates (with a first API key, returned once) or updates a label by name. */
export async function putLabel(
  services: Services,
  principal: Principal,
  name: string,
  body: { organization: string; description?: string | null | undefined },
): Promise<{ created: boolean; label: Label }> {
  if (principal.organizationId !== null && body.organization !== principal.organizationName) throw outsideOrganization();
  return services.db.transaction().execute(async (trx) => {
    const now = services.clock.now();
    const existing = await repo.findLabelByName(trx, name);
    if (existing && !canSeeOrganization(principal, existing.organizationId)) throw outsideOrganization();
    const org = await findOrganizationByName(trx, body.organization);
    if (!org) throw invalid('organization', `${body.organization} does not exist`);
    if (existing) {
      const before = await labelWithKeys(services, trx, existing);
      await repo.updateLabel(trx, existing.id, {
        organizationId: org.id,
        ...(body.description !== undefined ? { description: body.description } : {}),
        updatedAt: iso(now),
      });
      const row = (await repo.findLabelByName(trx, name))!;
      const label = await labelWithKeys(services, trx, row);
      // updatedAt moves on every PUT: recordEvent compares without it, so an unchanged label records nothing.
      await audit(services, trx, 'label.updated', row, before, label);
      return { created: false, label };
    }
    const id = crypto.randomUUID();
    await repo.insertLabel(trx, { id, name, organizationId: org.id, description: body.description ?? null, createdAt: iso(now), updatedAt: iso(now) });
    const apiKey = await issueApiKey(trx, 'label', id, now);
    const row = (await repo.findLabelByName(trx, name))!;
    const label = await labelWithKeys(services, trx, row, apiKey);
    await audit(services, trx, 'label.created', row, null, label);
    return { created: true, label };
  });
}

export async function deleteLabel(services: Services, principal: Principal, name: string, _force: boolean): Promise<DeleteResult> {
  return services.db.transaction().execute(async (trx) => {
    const label = await visibleLabel(trx, principal, name);
    const keys = await apiKeyInfosOf(trx, 'label', [label.id], services.clock.now());
    // API keys belong to the label itself; they go with it. Counters and device reports that name
    // the label are history and are not removed here.
    const before = await labelWithKeys(services, trx, label);
    await repo.deleteLabel(trx, label.id);
    await audit(services, trx, 'label.deleted', label, before, null, true);
    return { deleted: name, removed: { apiKeys: keys.get(label.id)?.length ?? 0 } };
  });
}

export async function rotateLabelKey(services: Services, principal: Principal, name: string, graceSeconds = 0): Promise<{ apiKey: string }> {
  return services.db.transaction().execute(async (trx) => {
    const label = await visibleLabel(trx, principal, name);
    const before = await labelWithKeys(services, trx, label);
    const apiKey = await rotateApiKey(trx, 'label', label.id, services.clock.now(), graceSeconds);
    await audit(services, trx, 'label.key_rotated', label, before, await labelWithKeys(services, trx, label), true);
    return { apiKey };
  });
}

export async function revokeLabelKeys(services: Services, principal: Principal, name: string): Promise<Label> {
  return services.db.transaction().execute(async (trx) => {
    const label = await visibleLabel(trx, principal, name);
    const before = await labelWithKeys(services, trx, label);
    await revokeApiKeys(trx, 'label', label.id, services.clock.now());
    const after = await labelWithKeys(services, trx, label);
    await audit(services, trx, 'label.keys_revoked', label, before, after, true);
    return after;
  });
}
