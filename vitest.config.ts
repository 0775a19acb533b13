import { fileURLToPath } from 'node:url';
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
const sqliteOnly = {
  server: ['packages/server/src/main.test.ts'],
  e2e: ['e2e/browser-cors.test.ts', 'e2e/dashboard.test.ts', 'e2e/devices.test.ts', 'e2e/downloads.test.ts'],
};

const perDialect = (name: 'server' | 'e2e', include: string[], testTimeout: number) =>
  dialects.map((dialect) => ({
    resolve,
    test: {
      name: `${name}-${dialect}`,
      include,
      exclude: [...configDefaults.exclude, ...(dialect === 'sqlite' ? [] : sqliteOnly[name])],
      testTimeout,
      hookTimeout: 60_000,
      env: { DS_TEST_DB: dialect, DS_TEST_POSTGRES_URL: postgresUrl },
      // The harness drops the PostgreSQL schemas of a server test file after it.
      ...(name === 'server' ? { setupFiles: ['packages/server/src/test/setup.ts'] } : {}),
    },
  }));

export default defineConfig({
  test: {
    projects: [
      { resolve, test: { name: 'shared', include: ['packages/shared/src/**/*.test.ts'] } },
      { resolve, test: { name: 'cli', include: ['packages/cli/src/**/*.test.ts'], testTimeout: 20_000 } },
      ...perDialect('server', ['packages/server/src/**/*.test.ts'], 20_000),
      ...perDialect('e2e', ['e2e/**/*.test.ts'], 120_000),
    ],
  },
});
