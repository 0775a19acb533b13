import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, killServe, startServe, type ServeProcess } from './helpers.js';

const run = promisify(execFile);
const PASSWORD = 'downloads-e2e-password';

// What people do in the field: `curl -OJ` a DS download link, and `curl -C -` to resume a
// download that broke off, against the real `ds serve`. Downloads do not depend on the database
// kind, so this runs in the SQLite pass (vitest.config.ts). It needs curl (`.ci/run` installs it):
// without it the test fails rather than being skipped, like the browser tests without Chromium.
const CURL = process.env.CURL_PATH ?? '/usr/bin/curl';

describe('downloads with curl', () => {
  let dir: string;
  let url: string;
  let server: ServeProcess;
  let installer: Buffer;

  beforeAll(async () => {
    if (!existsSync(CURL)) throw new Error(`${CURL} is missing: apt-get install -y curl (.ci/run does this)`);
    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-downloads-'));
    const root = join(dir, 'installers');
    mkdirSync(join(root, '3.8.1'), { recursive: true });
    installer = randomBytes(6 * 1024 * 1024);
    writeFileSync(join(root, '3.8.1', 't1c-3.8.1-win64.exe'), installer);
    const env = cleanEnv(dir, { DS_ADMIN_PASSWORD: PASSWORD, DATABASE_URL: join(dir, 'ds.db'), DS_INSTALLER_ROOT: root });
    server = await startServe([], env);
    url = server.url;
    const login = await fetch(`${url}/v3_5/admin/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    const { token } = (await login.json()).data;
    const put = await fetch(`${url}/v3_5/admin/versions/3.8.1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ installers: [{ os: 'win64', uri: `file://${join(root, '3.8.1', 't1c-3.8.1-win64.exe')}` }] }),
    });
    expect(put.status).toBe(201);
  });

  afterAll(async () => {
    await killServe(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  it('curl -OJ saves the installer under its own name with the advertised checksum', async () => {
    const out = join(dir, 'oj');
    mkdirSync(out);
    const { stdout } = await run(CURL, ['-sS', '-f', '-OJ', '-D', '-', `${url}/v3_5/downloads/installers/win64`], { cwd: out });
    const saved = readFileSync(join(out, 't1c-3.8.1-win64.exe'));
    expect(sha256(saved)).toBe(sha256(installer));
    expect(stdout.toLowerCase()).toContain(`x-checksum-sha256: ${sha256(installer)}`);
  });

  it('curl -C - resumes a download that broke off and ends with the exact file', async () => {
    const target = join(dir, 'resumed.exe');
    // A download that broke off after its first 2 MiB: only they are on disk. (Fetched as a range
    // so the test does not depend on timing; a real broken connection is covered by the server's
    // socket tests.)
    await run(CURL, ['-sS', '-f', '-r', '0-2097151', '-o', target, `${url}/v3_5/downloads/installers/win64/versions/3.8.1`]);
    const partial = statSync(target).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(installer.length);
    const { stdout } = await run(CURL, ['-sS', '-f', '-C', '-', '-o', target, '-w', '%{http_code}', `${url}/v3_5/downloads/installers/win64/versions/3.8.1`]);
    expect(stdout).toBe('206');
    expect(sha256(readFileSync(target))).toBe(sha256(installer));
  });
});
