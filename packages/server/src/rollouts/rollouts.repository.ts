import type { Executor, OrganizationPolicyTable, RolloutEventTable, RolloutTable } from '../db/types.js';

export type RolloutRow = RolloutTable;

export async function findRollout(db: Executor, versionId: string): Promise<RolloutRow | undefined> {
  return db.selectFrom('rollouts').selectAll().where('versionId', '=', versionId).executeTakeFirst();
}

/** Rollouts that still decide who is offered their version: every one not completed. */
export async function listUnfinishedRollouts(db: Executor): Promise<RolloutRow[]> {
  return db.selectFrom('rollouts').selectAll().where('state', '!=', 'completed').execute();
}

export async function listActiveRollouts(db: Executor): Promise<RolloutRow[]> {
  return db.selectFrom('rollouts').selectAll().where('state', '=', 'active').execute();
}

export async function insertRollout(db: Executor, row: RolloutRow): Promise<void> {
  await db.insertInto('rollouts').values(row).execute();
}

/**
 * Writes a rollout only if it is still at `revision` (optimistic concurrency: of two concurrent
 * changes made from the same state, one wins and the other changes nothing). The new row carries
 * `revision + 1`. False when the rollout changed meanwhile.
 */
export async function updateRolloutIf(db: Executor, versionId: string, revision: number, patch: Partial<RolloutRow>): Promise<boolean> {
  const result = await db
    .updateTable('rollouts')
    .set({ ...patch, revision: revision + 1 })
    .where('versionId', '=', versionId)
    .where('revision', '=', revision)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function nextEventSeq(db: Executor, versionId: string): Promise<number> {
  const row = await db
    .selectFrom('rolloutEvents')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('versionId', '=', versionId)
    .executeTakeFirst();
  return Number(row?.seq ?? 0) + 1;
}

export async function insertEvent(db: Executor, row: RolloutEventTable): Promise<void> {
  await db.insertInto('rolloutEvents').values(row).execute();
}

export async function listEvents(db: Executor, versionId: string, options: { afterSeq: number; limit: number }): Promise<RolloutEventTable[]> {
  return db
    .selectFrom('rolloutEvents')
    .selectAll()
    .where('versionId', '=', versionId)
    .where('seq', '>', options.afterSeq)
    .orderBy('seq')
    .limit(options.limit)
    .execute();
}

/** Counts per wave of the devices offered a version (those offered since `since` only, when given). */
export interface WaveCounts {
  waveIndex: number;
  offered: number;
  updated: number;
  failed: number;
  stuck: number;
}

/**
 * The health numbers of a rollout per wave, from what devices report: offered (in rollout_offers),
 * updated (now report the version), failed (updated, and report ERROR or have been silent since
 * `silentBefore`), stuck (still on the version they were offered it from, since `stuckBefore`).
 */
export async function countOffers(
  db: Executor,
  versionId: string,
  limits: { silentBefore: string; stuckBefore: string; since?: string | undefined; organizationId?: string | undefined },
): Promise<WaveCounts[]> {
  let q = db
    .selectFrom('rolloutOffers as o')
    .innerJoin('devices as d', 'd.id', 'o.deviceId')
    .select((eb) => [
      'o.waveIndex as waveIndex',
      eb.fn.countAll<number>().as('offered'),
      eb.fn.sum<number>(eb.case().when('d.version', '=', versionId).then(1).else(0).end()).as('updated'),
      eb.fn
        .sum<number>(
          eb
            .case()
            .when(eb.and([eb('d.version', '=', versionId), eb.or([eb('d.status', '=', 'ERROR'), eb('d.lastSyncAt', '<', limits.silentBefore)])]))
            .then(1)
            .else(0)
            .end(),
        )
        .as('failed'),
      eb.fn
        .sum<number>(eb.case().when(eb.and([eb('d.version', '=', eb.ref('o.fromVersion')), eb('o.offeredAt', '<=', limits.stuckBefore)])).then(1).else(0).end())
        .as('stuck'),
    ])
    .where('o.versionId', '=', versionId)
    .groupBy('o.waveIndex');
  if (limits.since !== undefined) q = q.where('o.offeredAt', '>=', limits.since);
  const organizationId = limits.organizationId;
  if (organizationId !== undefined) {
    // Only the devices that serve the organization (a label of it among those they reported).
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('deviceLabels as dl')
          .innerJoin('labels as l', 'l.name', 'dl.label')
          .select('dl.deviceId')
          .whereRef('dl.deviceId', '=', 'o.deviceId')
          .where('l.organizationId', '=', organizationId),
      ),
    );
  }
  const rows = await q.execute();
  return rows.map((r) => ({
    waveIndex: Number(r.waveIndex),
    offered: Number(r.offered),
    updated: Number(r.updated ?? 0),
    failed: Number(r.failed ?? 0),
    stuck: Number(r.stuck ?? 0),
  }));
}

/** The organizations a device serves: those of the labels it reported. */
export async function deviceOrganizationIds(db: Executor, deviceId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('deviceLabels')
    .innerJoin('labels', 'labels.name', 'deviceLabels.label')
    .select('labels.organizationId')
    .distinct()
    .where('deviceLabels.deviceId', '=', deviceId)
    .execute();
  return rows.map((r) => r.organizationId);
}

export type PolicyRow = OrganizationPolicyTable;

export async function listPolicies(db: Executor): Promise<(PolicyRow & { organizationName: string })[]> {
  return db
    .selectFrom('organizationPolicies')
    .innerJoin('organizations', 'organizations.id', 'organizationPolicies.organizationId')
    .selectAll('organizationPolicies')
    .select('organizations.name as organizationName')
    .execute();
}

export async function findPolicy(db: Executor, organizationId: string): Promise<PolicyRow | undefined> {
  return db.selectFrom('organizationPolicies').selectAll().where('organizationId', '=', organizationId).executeTakeFirst();
}

export async function upsertPolicy(db: Executor, row: PolicyRow): Promise<void> {
  const { organizationId: _, ...rest } = row;
  await db
    .insertInto('organizationPolicies')
    .values(row)
    .onConflict((oc) => oc.column('organizationId').doUpdateSet(rest))
    .execute();
}

export async function deletePolicy(db: Executor, organizationId: string): Promise<void> {
  await db.deleteFrom('organizationPolicies').where('organizationId', '=', organizationId).execute();
}
