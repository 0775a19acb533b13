import type { DeleteResult, Organization, PageQuery } from '@ds/shared';
import type { Services } from '../context.js';
import { iso } from '../lib/clock.js';
import { AppError, notFound } from '../lib/errors.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import { outsideOrganization, type Principal } from '../users/principal.js';
import * as repo from './organizations.repository.js';
import { recordEvent } from '../audit/audit.service.js';

function toOrganization(row: repo.OrganizationRowWithCount): Organization {
  return {
    name: row.name,
    description: row.description,
    labelCount: Number(row.labelCount ?? 0),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export async function listOrganizations(services: Services, principal: Principal, page: PageQuery) {
  const rows = await repo.listOrganizations(services.db, {
    after: decodeCursor(page.cursor),
    limit: page.limit + 1,
    onlyId: principal.organizationId,
  });
  const { items, next } = pageOf(rows, page.limit, (r) => r.name);
  return { items: items.map(toOrganization), next };
}

export async function getOrganization(services: Services, principal: Principal, name: string): Promise<Organization> {
  if (principal.organizationId !== null && principal.organizationName !== name) throw outsideOrganization();
  const row = await repo.findOrganizationByName(services.db, name);
  if (!row) throw notFound(`organization ${name}`);
  return toOrganization(row);
}

/** Creates or updates by name; `created` says which. */
export async function putOrganization(
  services: Services,
  principal: Principal,
  name: string,
  body: { description?: string | null | undefined },
): Promise<{ created: boolean; organization: Organization }> {
  if (principal.organizationId !== null) throw outsideOrganization();
  return services.db.transaction().execute(async (trx) => {
    const now = iso(services.clock.now());
    const existing = await repo.findOrganizationByName(trx, name);
    if (existing) {
      if (body.description !== undefined) await repo.updateOrganization(trx, existing.id, { description: body.description, updatedAt: now });
    } else {
      await repo.insertOrganization(trx, { id: crypto.randomUUID(), name, description: body.description ?? null, createdAt: now, updatedAt: now });
    }
    const row = (await repo.findOrganizationByName(trx, name))!;
    const organization = toOrganization(row);
    await recordEvent(services, trx, {
      action: existing ? 'organization.updated' : 'organization.created',
      resourceType: 'organization',
      resourceId: name,
      organization: { id: row.id, name },
      before: existing ? toOrganization(existing) : null,
      after: organization,
    });
    return { created: !existing, organization };
  });
}

/** Deletes an organization; with labels or users it is 409 unless forced, which removes them too. */
export async function deleteOrganization(services: Services, principal: Principal, name: string, force: boolean): Promise<DeleteResult> {
  if (principal.organizationId !== null) throw outsideOrganization();
  return services.db.transaction().execute(async (trx) => {
    const org = await repo.findOrganizationByName(trx, name);
    if (!org) throw notFound(`organization ${name}`);
    const count = async (table: 'labels' | 'users') =>
      Number(
        (
          await trx
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('organizationId', '=', org.id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const removed = { labels: await count('labels'), users: await count('users') };
    if (!force && (removed.labels > 0 || removed.users > 0)) {
      throw new AppError(
        'HAS_DEPENDANTS',
        `organization ${name} has ${removed.labels} label(s) and ${removed.users} user(s) limited to it; delete them first or force`,
        { dependants: removed },
      );
    }
    // The audit entry before the deletes: its append takes the chain's lock, and a transaction
    // holding that lock may be putting an event in the outbox of this organization's webhooks
    // (its insert waits on their rows). Deleting them first and then waiting for the chain would
    // be a deadlock on PostgreSQL; the chain first, as every transaction that takes both does.
    await recordEvent(services, trx, {
      action: 'organization.deleted',
      resourceType: 'organization',
      resourceId: name,
      organization: { id: org.id, name },
      before: toOrganization(org),
      after: null,
      always: true,
    });
    await trx.deleteFrom('labels').where('organizationId', '=', org.id).execute();
    await trx.deleteFrom('users').where('organizationId', '=', org.id).execute();
    await repo.deleteOrganization(trx, org.id);
    return { deleted: name, removed };
  });
}
