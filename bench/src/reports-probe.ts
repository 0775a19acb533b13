// bench:reports — a stand-in for syncs while a rollover runs: every `interval` ms, one small write
// transaction on the same SQLite file (BEGIN IMMEDIATE; add 1 to one daily label row of today, an
// unattributed one; COMMIT), timing how long each waited. Writes "ready" to stderr when started; when its stdin
// closes, prints the samples as JSON ([epoch ms at start, ms taken, error?]) and exits.
// Usage: node bench/dist/reports-probe.js <database file> <day YYYY-MM-DD> [interval ms]
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';

/** One write: [epoch ms at its start, ms it took, the error code or message when it failed]. */
export type ProbeSample = [at: number, ms: number, error?: string];

const [path = '', day = '', interval = '20'] = process.argv.slice(2);
const db = new SQLite(path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
// Far above DS's 5 s, so the probe measures how long a writer is kept waiting, not when it gives up.
db.pragma('busy_timeout = 120000');
const add = db.prepare(
  `insert into label_daily_counters (organization_id, label, module, use_case, day, counter) values ('', 'bench-probe', 'probe', 'probe', ?, 1)
   on conflict (organization_id, label, module, use_case, day) do update set counter = counter + 1`,
);

let stop = false;
process.stdin.on('data', () => {});
process.stdin.once('end', () => (stop = true));
process.stdin.once('close', () => (stop = true));
process.stderr.write('ready\n');

const samples: ProbeSample[] = [];
while (!stop) {
  const epoch = performance.timeOrigin + performance.now();
  const started = performance.now();
  try {
    db.exec('begin immediate');
    add.run(day);
    db.exec('commit');
    samples.push([epoch, performance.now() - started]);
  } catch (error) {
    if (db.inTransaction) db.exec('rollback');
    samples.push([epoch, performance.now() - started, error instanceof SQLite.SqliteError ? error.code : error instanceof Error ? error.message : String(error)]);
  }
  await sleep(Number(interval));
}
db.close();
process.stdout.write(JSON.stringify(samples));
