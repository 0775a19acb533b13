#!/usr/bin/env node
// `npm start`: install what is missing, build, and start DS on the embedded SQLite database.
// Extra arguments go to `ds serve` (e.g. `npm start -- --port 8080`).
import { join } from 'node:path';
import { ROOT, installAndBuild, run } from './lib.mjs';

installAndBuild();
process.exit(run(process.execPath, [join(ROOT, 'packages/cli/dist/index.js'), 'serve', ...process.argv.slice(2)]));
