// TEST ONLY. End-to-end tests preload this into the `ds` processes they start
// (NODE_OPTIONS=--import=<this file>) to run them at another time, and to move that time forward
// while they run, so a month boundary passes when the test wants it to. It is not part of DS: it is
// in no package, and no DS setting or flag loads it; DS itself takes "now" from its injected clock
// (packages/server/src/lib/clock.ts), whose production form reads Date, which this file shifts,
// as libfaketime would.
//
// Date.now() and `new Date()` answer the real time plus the offset in milliseconds written in the
// file DS_E2E_CLOCK_FILE; time goes on at its real pace between changes. The file is watched: when
// the test writes another offset, every process started with that file follows within a tenth of a
// second. Dates built from a value (`new Date(ms)`, `new Date('2026-01-01')`) are unchanged.
import { readFileSync, watchFile } from 'node:fs';

const file = process.env.DS_E2E_CLOCK_FILE;
if (!file) throw new Error('shifted-clock.mjs (a test helper) needs DS_E2E_CLOCK_FILE, a file holding a clock offset in milliseconds');
function readOffset() {
  const text = readFileSync(file, 'utf8').trim();
  const value = Number(text);
  if (text === '' || !Number.isSafeInteger(value)) throw new Error(`${file}: expected a clock offset in whole milliseconds, got ${JSON.stringify(text)}`);
  return value;
}
let offset = readOffset();
watchFile(file, { interval: 50, persistent: false }, () => {
  try {
    offset = readOffset();
  } catch {
    // Caught between the test's writing and renaming: the next change is read.
  }
});

const RealDate = Date;
const now = () => RealDate.now() + offset;

function ShiftedDate(...args) {
  // `Date()` called without `new` answers the current time as text.
  if (!new.target) return new RealDate(now()).toString();
  return args.length === 0 ? new RealDate(now()) : new RealDate(...args);
}
Object.setPrototypeOf(ShiftedDate, RealDate);
ShiftedDate.prototype = RealDate.prototype;
ShiftedDate.now = now;
globalThis.Date = ShiftedDate;
