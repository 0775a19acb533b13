import type { Services } from '../context.js';
import { addDays, addMonths, dayOf, firstDay, monthOf } from '../lib/months.js';

const BATCH = 10_000;

/**
 * Deletes archived label months (and adoption months) and download events past their configured retention (0 keeps
 * them forever), and the per-device daily totals of days DS no longer accepts transactions for
 * (the daily limit never needs them again), in batches so no transaction holds the write lock for long.
 */
export async function applyRetention(services: Services): Promise<{ archivedRows: number; downloadEvents: number; deviceDailyTotals: number }> {
  const { db, config, clock } = services;
  const now = clock.now();
  let archivedRows = 0;
  let downloadEvents = 0;
  let deviceDailyTotals = 0;
  const acceptedFrom = firstDay(addMonths(monthOf(now), -config.lateTransactionMonths));
  for (;;) {
    const result = await db
      .deleteFrom('deviceDailyTotals')
      .where((eb) =>
        eb(eb.refTuple('deviceId', 'day'), 'in', eb.selectFrom('deviceDailyTotals').select(['deviceId', 'day']).where('day', '<', acceptedFrom).limit(BATCH) as never),
      )
      .executeTakeFirst();
    const n = Number(result.numDeletedRows);
    deviceDailyTotals += n;
    if (n < BATCH) break;
  }
  if (config.counterRetentionMonths > 0) {
    // Months before this one are deleted; the current month always stays.
    const keepFrom = addMonths(monthOf(now), -config.counterRetentionMonths);
    archivedRows = await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('labelMonthlyTotals').where('month', '<', keepFrom).execute();
      // Adoption is kept like the counters: its closed months go with theirs.
      await trx.deleteFrom('adoptionMonthly').where('month', '<', keepFrom).execute();
      await trx.deleteFrom('adoptionSnapshots').where('period', '<', keepFrom).execute();
      const result = await trx.deleteFrom('labelMonthlyCounters').where('month', '<', keepFrom).executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }
  if (config.downloadRetentionDays > 0) {
    const keepFrom = addDays(dayOf(now), -config.downloadRetentionDays);
    for (;;) {
      const result = await db
        .deleteFrom('downloadEvents')
        .where('id', 'in', (eb) => eb.selectFrom('downloadEvents').select('id').where('day', '<', keepFrom).limit(BATCH))
        .executeTakeFirst();
      const n = Number(result.numDeletedRows);
      downloadEvents += n;
      if (n < BATCH) break;
    }
  }
  return { archivedRows, downloadEvents, deviceDailyTotals };
}
