// Runs before every server test file (vitest.config.ts setupFiles). Server test files share their
// worker's modules (isolate: false), so the harness's hooks are registered here, once per file.
import { afterAll } from 'vitest';
import { releaseTestDatabases } from './harness.js';

afterAll(releaseTestDatabases);
