import type { Policy, PolicyPut } from '@ds/shared';
import semver from 'semver';
import type { Services } from '../context.js';
import { iso } from '../lib/clock.js';
import { invalid, notFound } from '../lib/errors.js';
import { findOrganizationByName } from '../organizations/organizations.repository.js';
import { outsideOrganization, type Principal } from '../users/principal.js';
import * as repo from './rollouts.repository.js';
import { recordEvent } from '../audit/audit.service.js';
import type { Executor } from '../db/types.js';
import { formatWindow, parseWindow } from './window.js';

/** The organization `name`, when the principal may act on it (a limited user only on its own). */
async function organizationFor(services: Services, principal: Principal, name: string) {
  if (principal.organizationId !== null && principal.organizationName !== name) throw outsideOrganization();
  const org = await findOrganizationByName(services.db, name);
  if (!org) throw notFound(`organization ${name}`);
  return org;
}

function toPolicy(organization: string, row: repo.PolicyRow | undefined): Policy {
  return {
    organization,
    hold: row?.hold ?? null,
    window: row?.window ?? null,
    prereleases: row?.prereleases === 1,
    updatedAt: row?.updatedAt ?? null,
    updatedBy: row?.updatedBy ?? null,
  };
}

/**
 * A hold range, checked: a semver range (`<3.10`, `~3.9`, `>=3.8 <3.10`) that some version can
 * satisfy. Answers it normalised by the semver library, which is what is matched.
 */
export function checkHold(range: string): string {
  const valid = semver.validRange(range);
  if (valid === null) throw invalid('hold', `"${range}" is not a version range; use for example "<3.10", "~3.9" or ">=3.8 <3.10"`);
  if (semver.minVersion(valid) === null) throw invalid('hold', `"${range}" matches no version at all`);
  return range.trim();
}

/** Records a change of an organization's update policy in the audit log, under that organization. */
async function auditPolicy(services: Services, trx: Executor, action: string, org: { id: string; name: string }, before: Policy, after: Policy) {
  await recordEvent(services, trx, { action, resourceType: 'policy', resourceId: org.name, organization: { id: org.id, name: org.name }, before, after });
}

export async function getPolicy(services: Services, principal: Principal, name: string): Promise<Policy> {
  const org = await organizationFor(services, principal, name);
  return toPolicy(org.name, await repo.findPolicy(services.db, org.id));
}

/**
 * Sets an organization's update policy (absent fields keep their value, null clears). A policy
 * can only hold updates back (a hold range, a window); mandatory versions and versions no longer
 * allowed ignore it, so an organization cannot keep its devices from a security fix, and a
 * user limited to the organization may set it.
 */
export async function putPolicy(services: Services, principal: Principal, name: string, body: PolicyPut): Promise<Policy> {
  const org = await organizationFor(services, principal, name);
  const hold = body.hold === undefined || body.hold === null ? body.hold : checkHold(body.hold);
  const window = body.window === undefined || body.window === null ? body.window : formatWindow(parseWindow(body.window));
  const now = iso(services.clock.now());
  const policy = await services.db.transaction().execute(async (trx) => {
    const existing = await repo.findPolicy(trx, org.id);
    const row: repo.PolicyRow = {
      organizationId: org.id,
      hold: hold === undefined ? (existing?.hold ?? null) : hold,
      window: window === undefined ? (existing?.window ?? null) : window,
      prereleases: body.prereleases === undefined ? (existing?.prereleases ?? 0) : body.prereleases ? 1 : 0,
      updatedAt: now,
      updatedBy: principal.username,
    };
    if (row.hold === null && row.window === null && row.prereleases === 0) await repo.deletePolicy(trx, org.id);
    else await repo.upsertPolicy(trx, row);
    const after = toPolicy(org.name, row.hold === null && row.window === null && row.prereleases === 0 ? undefined : row);
    await auditPolicy(services, trx, 'policy.updated', org, toPolicy(org.name, existing), after);
    return after;
  });
  services.offerCache.clear();
  return policy;
}

export async function deletePolicy(services: Services, principal: Principal, name: string): Promise<Policy> {
  const org = await organizationFor(services, principal, name);
  await services.db.transaction().execute(async (trx) => {
    const before = toPolicy(org.name, await repo.findPolicy(trx, org.id));
    await repo.deletePolicy(trx, org.id);
    await auditPolicy(services, trx, 'policy.deleted', org, before, toPolicy(org.name, undefined));
  });
  services.offerCache.clear();
  return toPolicy(org.name, undefined);
}
