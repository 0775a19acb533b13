// Runs before every server test file (vitest.config.ts setupFiles). Server test files share their
// worker's modules (isolate: false), so the harness's hooks are registered here, once per file.
import { afterAll, afterEach, beforeEach, vi } from 'vitest';
import { systemResolver } from '../lib/outbound.js';
import { releaseTestDatabases } from './harness.js';

afterAll(releaseTestDatabases);

// No test asks the machine's DNS: names resolve as the reserved test names do (RFC 6761: not at
// all), except localhost. A test that needs a name to resolve says so with its own mock, which
// replaces this one for that test.
let resolver: { mockRestore(): void } | undefined;
beforeEach(() => {
  resolver = vi.spyOn(systemResolver, 'resolve').mockImplementation(async (hostname) => {
    if (hostname === 'localhost' || hostname.endsWith('.localhost')) return [{ address: '127.0.0.1', family: 4 }];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  });
});
afterEach(() => {
  // Only this mock: a test file's own spies (made in beforeAll, say) are the file's to keep.
  resolver?.mockRestore();
});
