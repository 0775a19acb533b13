import type { Insertable } from 'kysely';
import type { DeviceTable, Executor } from '../db/types.js';

export async function findDevice(db: Executor, id: string) {
  return db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findDeviceByFingerprint(db: Executor, fingerprint: string) {
  return db.selectFrom('devices').selectAll().where('certFingerprint', '=', fingerprint).executeTakeFirst();
}

export async function insertDevice(db: Executor, row: Insertable<DeviceTable>) {
  await db.insertInto('devices').values(row).execute();
}

export async function findStoredResponse(db: Executor, deviceId: string, jti: string) {
  return db.selectFrom('deviceMessages').select(['kind', 'response']).where('deviceId', '=', deviceId).where('jti', '=', jti).executeTakeFirst();
}

/** Records a processed message; false when one with this jti was recorded first (a concurrent retry). */
export async function recordMessage(db: Executor, row: { deviceId: string; jti: string; kind: string; response: string; receivedAt: string }) {
  const result = await db.insertInto('deviceMessages').values(row).onConflict((oc) => oc.columns(['deviceId', 'jti']).doNothing()).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function pruneMessages(db: Executor, before: string) {
  const result = await db.deleteFrom('deviceMessages').where('receivedAt', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function deleteDevice(db: Executor, id: string) {
  await db.deleteFrom('deviceCounters').where('deviceId', '=', id).execute();
  const result = await db.deleteFrom('devices').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
