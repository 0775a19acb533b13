import type { Insertable } from 'kysely';
import type { Executor, LabelTable } from '../db/types.js';

const columns = [
  'labels.id',
  'labels.name',
  'labels.organizationId',
  'labels.description',
  'labels.createdAt',
  'labels.updatedAt',
  'organizations.name as organization',
] as const;

function labelsWithOrg(db: Executor) {
  return db.selectFrom('labels').innerJoin('organizations', 'organizations.id', 'labels.organizationId').select(columns);
}

export async function findLabelByName(db: Executor, name: string) {
  return labelsWithOrg(db).where('labels.name', '=', name).executeTakeFirst();
}

export async function listLabels(db: Executor, options: { after?: string | undefined; limit: number; organizationId?: string | null }) {
  let q = labelsWithOrg(db).orderBy('labels.name').limit(options.limit);
  if (options.after !== undefined) q = q.where('labels.name', '>', options.after);
  if (options.organizationId) q = q.where('labels.organizationId', '=', options.organizationId);
  return q.execute();
}

export async function insertLabel(db: Executor, row: Insertable<LabelTable>) {
  await db.insertInto('labels').values(row).execute();
}

export async function updateLabel(db: Executor, id: string, patch: { organizationId?: string; description?: string | null; updatedAt: string }) {
  await db.updateTable('labels').set(patch).where('id', '=', id).execute();
}

export async function deleteLabel(db: Executor, id: string) {
  await db.deleteFrom('labels').where('id', '=', id).execute();
}

export async function countLabels(db: Executor) {
  const row = await db.selectFrom('labels').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export type LabelRowWithOrg = NonNullable<Awaited<ReturnType<typeof findLabelByName>>>;

export async function findLabelById(db: Executor, id: string) {
  return labelsWithOrg(db).where('labels.id', '=', id).executeTakeFirst();
}
