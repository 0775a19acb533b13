import type { Insertable } from 'kysely';
import type { Executor, OrganizationTable } from '../db/types.js';

const columns = [
  'organizations.id',
  'organizations.name',
  'organizations.description',
  'organizations.createdAt',
  'organizations.updatedAt',
] as const;

function withLabelCount(db: Executor) {
  return db
    .selectFrom('organizations')
    .select(columns)
    .select((eb) =>
      eb
        .selectFrom('labels')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('labels.organizationId', '=', 'organizations.id')
        .as('labelCount'),
    );
}

export async function findOrganizationByName(db: Executor, name: string) {
  return withLabelCount(db).where('organizations.name', '=', name).executeTakeFirst();
}

export async function listOrganizations(db: Executor, options: { after?: string | undefined; limit: number; onlyId?: string | null }) {
  let q = withLabelCount(db).orderBy('organizations.name').limit(options.limit);
  if (options.after !== undefined) q = q.where('organizations.name', '>', options.after);
  if (options.onlyId) q = q.where('organizations.id', '=', options.onlyId);
  return q.execute();
}

export async function insertOrganization(db: Executor, row: Insertable<OrganizationTable>) {
  await db.insertInto('organizations').values(row).execute();
}

export async function updateOrganization(db: Executor, id: string, patch: { description?: string | null; updatedAt: string }) {
  await db.updateTable('organizations').set(patch).where('id', '=', id).execute();
}

export async function deleteOrganization(db: Executor, id: string) {
  await db.deleteFrom('organizations').where('id', '=', id).execute();
}

export async function countOrganizations(db: Executor) {
  const row = await db.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export type OrganizationRowWithCount = NonNullable<Awaited<ReturnType<typeof findOrganizationByName>>>;
