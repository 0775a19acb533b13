#!/usr/bin/env node
// `npm test`: install what is missing, build (the end-to-end tests run the built `ds`), then run
// every test: shared, CLI, and the server and end-to-end suites once on SQLite and once on
// PostgreSQL. Extra arguments go to vitest.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { ROOT, installAndBuild, log, run } from './lib.mjs';

installAndBuild();

const postgresUrl = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const env = { DS_TEST_POSTGRES_URL: postgresUrl };
if (!process.env.DS_TEST_DIALECTS) {
  const { hostname, port } = new URL(postgresUrl);
  const reachable = await new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 5432) });
    socket.setTimeout(2000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
  if (!reachable) {
    if (process.env.CI) {
      log(`PostgreSQL is not reachable at ${hostname}:${port || 5432}; CI must test both dialects`);
      process.exit(1);
    }
    log(`PostgreSQL is not reachable at ${hostname}:${port || 5432}: running the SQLite pass only.`);
    log('Start PostgreSQL or set DS_TEST_POSTGRES_URL to run the PostgreSQL pass too.');
    env.DS_TEST_DIALECTS = 'sqlite';
  }
}

// The test files type-check too (tsc -b builds only what ships): run beside the tests, reported
// after them, so a test that calls a renamed function fails CI even where vitest's transform
// (which strips types) would run it.
const typecheck = ['packages/server/tsconfig.test.json', 'packages/cli/tsconfig.test.json', 'packages/shared/tsconfig.test.json', 'e2e/tsconfig.json'].map((project) => {
  const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, project), '--pretty', 'false'], { cwd: ROOT });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ project, code, output })));
});

const outDir = join(ROOT, 'test-artifacts');
mkdirSync(outDir, { recursive: true });
const report = join(outDir, 'vitest.json');
const status = run(
  process.execPath,
  [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { env },
);
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  // A plain closing line that any CI can read.
  process.stdout.write(`\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped\n`);
} catch {
  // vitest could not write its report: its own exit code says what happened
}
let typeErrors = false;
for (const { project, code, output } of await Promise.all(typecheck)) {
  if (code === 0) continue;
  typeErrors = true;
  process.stdout.write(`\nTests that do not type-check (tsc -p ${project}):\n${output}`);
}
process.exit(status || (typeErrors ? 1 : 0));
