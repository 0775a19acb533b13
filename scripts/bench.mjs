#!/usr/bin/env node
// `npm run bench [name...]` (or pnpm bench): build, then run the named benchmarks (all by default).
// Extra arguments after `--` go to each benchmark, e.g. `pnpm bench:sync -- --devices 2000`.
import { join } from 'node:path';
import { ROOT, installAndBuild, log, run } from './lib.mjs';

const ALL = ['sync', 'downloads', 'reports'];
// Names first, then the options for the benchmarks: `npm run bench:sync -- --devices 2000` arrives
// as `sync --devices 2000` (npm drops the `--`), `pnpm bench:sync -- --devices 2000` with it.
const args = process.argv.slice(2);
const first = args.findIndex((a) => a.startsWith('-'));
const names = first === -1 ? args : args.slice(0, first);
const extra = first === -1 ? [] : args.slice(args[first] === '--' ? first + 1 : first);
installAndBuild();
let failed = 0;
for (const name of names.length > 0 ? names : ALL) {
  if (!ALL.includes(name)) {
    log(`unknown benchmark ${name}; known: ${ALL.join(', ')}`);
    process.exit(1);
  }
  log(`bench:${name}`);
  if (run(process.execPath, [join(ROOT, 'bench', 'dist', `${name}.js`), ...extra]) !== 0) failed += 1;
}
process.exit(failed > 0 ? 1 : 0);
