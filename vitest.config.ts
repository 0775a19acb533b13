import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { configDefaults, defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Tests run on the TypeScript sources; only the end-to-end tests use the built `ds` binary.
const resolve = { alias: { '@ds/shared': src('shared'), '@ds/server': src('server') } };
const postgresUrl = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// `DS_TEST_DIALECTS=sqlite` runs only the SQLite pass (machines without PostgreSQL).
const dialects = (process.env.DS_TEST_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim());

// Tests that only make sense once run in the SQLite pass only: they start DS on a SQLite file or
// copy one (main.test.ts), or test what does not depend on the database (the browser, the
// device side, downloads with curl). Excluded here rather than skipped in the file, so the run's
// closing line says "0 skipped" and a real skip shows.
// A file named *.sqlite.test.ts or *.postgres.test.ts belongs to that dialect's pass.
const sqliteOnly = {
  server: ['packages/server/src/main.test.ts', 'packages/server/src/**/*.sqlite.test.ts'],
  e2e: ['e2e/browser-cors.test.ts', 'e2e/dashboard.test.ts', 'e2e/devices.test.ts', 'e2e/downloads-browser.test.ts', 'e2e/downloads.test.ts', 'e2e/sqlite-crash.test.ts'],
};

// Tests of what only PostgreSQL offers: several DS nodes on one database (multi-node.test.ts).
const postgresOnly = {
  server: ['packages/server/src/**/*.postgres.test.ts'],
  e2e: ['e2e/multi-node.test.ts'],
};

// Unit, route and CLI test files share their worker's modules (isolate: false) instead of each
// importing the server anew: the SQLite server pass took 27 s instead of 63 s on 2 cores (2
// workers), its import time 4 s instead of 15 s. setup.ts drops a server file's PostgreSQL
// schemas after it. End-to-end files run their own processes and stay isolated.
const perDialect = (name: 'server' | 'e2e', include: string[], testTimeout: number) =>
  dialects.map((dialect) => ({
    resolve,
    test: {
      name: `${name}-${dialect}`,
      include,
      exclude: [...configDefaults.exclude, ...(dialect === 'sqlite' ? postgresOnly[name] : sqliteOnly[name])],
      testTimeout,
      hookTimeout: 120_000,
      env: { DS_TEST_DB: dialect, DS_TEST_POSTGRES_URL: postgresUrl },
      ...(name === 'server' ? { isolate: false, setupFiles: ['packages/server/src/test/setup.ts'] } : {}),
    },
  }));

/**
 * Longest files first, across projects: vitest's own order runs the projects one after the other
 * (by name), which left the PostgreSQL pass and the end-to-end files, the longest, for the end.
 * The duration of the last run when vitest has one, else an estimate from the file's size.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cost = (spec: TestSpecification) => {
      const last = this.ctx.cache.getFileTestResults(`${spec.project.name}:${relative(this.ctx.config.root, spec.moduleId)}`);
      if (last) return last.duration;
      // Measured on a clean run: an end-to-end file takes about 2 ms a byte (child processes, a
      // browser), a server file about 0.5 ms, on PostgreSQL 0.7 ms.
      const perByte = spec.project.name.startsWith('e2e') ? 2 : spec.project.name === 'server-postgres' ? 0.7 : 0.5;
      return statSync(spec.moduleId).size * perByte;
    };
    const costs = new Map(files.map((f) => [f, cost(f)]));
    return [...files].sort((a, b) => costs.get(b)! - costs.get(a)!);
  }
}

// Bounds for a test that hangs, not expectations of speed. On the 2-core machine with other
// suites running (load 15), single tests took up to 11 s (server) and 23 s (cli demo), and 20 s
// failed the demo test of a correct build. In a clean CI run (vitest 935 s) the longest took 22 s
// (server, the adoption simulation; the rollout simulations, 112 s, have a bound of their own),
// 20 s (cli) and 50 s (end to end); CI machines have been up to 2.3 times slower than that run,
// so each bound is well over twice the longest test it bounds.
const TEST_TIMEOUT = 120_000;
const E2E_TIMEOUT = 240_000;

export default defineConfig({
  test: {
    // Vitest's default is one worker less than the cores: one worker on a 2-core CI machine, so
    // every file ran one after the other. Much of a test's time is waiting (PostgreSQL, `ds`
    // child processes, Chromium, scrypt in the thread pool), so more files than cores run at once.
    maxWorkers: Number(process.env.DS_TEST_WORKERS) || Math.max(2, availableParallelism() * 2),
    sequence: { sequencer: LongestFirst },
    projects: [
      { resolve, test: { name: 'shared', include: ['packages/shared/src/**/*.test.ts'], testTimeout: TEST_TIMEOUT, isolate: false } },
      { resolve, test: { name: 'cli', include: ['packages/cli/src/**/*.test.ts'], testTimeout: TEST_TIMEOUT, isolate: false } },
      ...perDialect('server', ['packages/server/src/**/*.test.ts'], TEST_TIMEOUT),
      ...perDialect('e2e', ['e2e/**/*.test.ts'], E2E_TIMEOUT),
    ],
  },
});
