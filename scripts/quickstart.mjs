#!/usr/bin/env node
// `npm start`: install what is missing, build, and start DS (`ds demo`: DS with demo data) on the
// embedded SQLite database.
// Extra arguments go to `ds demo`, which takes the flags of `ds serve` (e.g. `npm start -- --port 8080`).
import { join } from 'node:path';
import { ROOT, installAndBuild, run } from './lib.mjs';

installAndBuild();
process.exit(run(process.execPath, [join(ROOT, 'packages/cli/dist/index.js'), 'demo', ...process.argv.slice(2)]));
