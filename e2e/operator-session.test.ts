// End to end: the built `ds` binary initialises a DS, serves it on a free port, and an operator
// drives a whole session against it with the same binary, on SQLite or PostgreSQL (DS_TEST_DB).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DS_BIN,
  cleanEnv,
  csvText,
  jsonLines,
  killServe,
  parseCsv,
  requireFromServer,
  runDs,
  startServe,
  verifyJwt,
  type DsResult,
  type ServeProcess,
} from './helpers.js';

const dialect = process.env.DS_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
const postgresBase = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ADMIN_PASSWORD = 'e2e admin password ' + randomBytes(6).toString('hex');
const KEYSTORE_SHA256 = createHash('sha256').update('the keystore').digest('hex');
const RELEASE_NOTES = 'Fixes "smart card" detection, faster sync\nSecond line';

/** Parsed JSON output and API answers. */
type Json = any;

/** Everything the steps share; each step builds on the ones before it. */
const s = {
  tmp: '',
  home: '',
  configDir: '',
  installerRoot: '',
  databaseUrl: '',
  schema: '',
  dbPassword: '',
  /** PostgreSQL: DS_MASTER_KEY, which every DS process of the deployment is given (SQLite makes master.key). */
  masterKey: '',
  url: '',
  server: undefined as ServeProcess | undefined,
  installers: {} as Record<'win64' | 'linux64', { path: string; sha256: string; size: number }>,
  labelKey: '',
  rotatedLabelKey: '',
  installationKey: '',
  adminToken: '',
  secrets: [] as string[],
  /** Outputs of local commands that print configuration, checked for secrets in the last step. */
  outputs: [] as string[],
};

/** The environment of commands that work on the database (init, serve, db backup). */
const localEnv = () =>
  cleanEnv(s.home, {
    XDG_CONFIG_HOME: s.configDir,
    DATABASE_URL: s.databaseUrl,
    DS_INSTALLER_ROOT: s.installerRoot,
    DS_LOG_LEVEL: 'info',
    ...(s.masterKey ? { DS_MASTER_KEY: s.masterKey } : {}),
  });
/** The environment of commands that talk to the DS: the profile file only. */
const remoteEnv = () => cleanEnv(s.home, { XDG_CONFIG_HOME: s.configDir });
const profilePath = () => join(s.configDir, 'ds', 'config.json');
const readProfile = (): Json => JSON.parse(readFileSync(profilePath(), 'utf8'));

/** Runs `ds` as the logged-in operator. */
const ds = (...args: string[]) => runDs(args, { env: remoteEnv() });
/** Runs `ds` and expects exit code 0, else fails with its output. */
async function ok(...args: string[]): Promise<DsResult> {
  const r = await ds(...args);
  if (r.code !== 0) throw new Error(`ds ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
const okJson = async (...args: string[]): Promise<Json> => JSON.parse((await ok(...args, '--json')).stdout);

/** Calls the DS API directly (to compare with what the CLI prints). */
async function api(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${s.url}/v3_5${path}`, { headers: { accept: 'application/json', ...headers } });
  return { status: response.status, body: await response.json() };
}
const sessionHeaders = () => ({ authorization: `Bearer ${readProfile().profiles.default.token}` });

/**
 * The cells of the plain lines `ds` prints when stdout is a pipe (here, always): a list's header
 * line first, or one `name<TAB>value` line per field of an object; escapes undone as the README says.
 */
function tableRows(stdout: string): string[][] {
  expect(stdout).not.toMatch(/[│─┌└]/);
  const unescape = (cell: string) =>
    cell.replace(/\\(\\|t|n|r|x[0-9a-f]{2}|u[0-9a-f]{4})/g, (_, e: string) =>
      e === '\\' ? '\\' : e === 't' ? '\t' : e === 'n' ? '\n' : e === 'r' ? '\r' : String.fromCharCode(parseInt(e.slice(1), 16)),
    );
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').map(unescape));
}

/** The value of one field of an object (`ds ... create` prints the secret in one). */
function field(stdout: string, name: string): string | undefined {
  return tableRows(stdout).find(([key]) => key === name)?.[1];
}

/**
 * An object as the README says `--csv` writes it: objects to dotted columns, lists of values
 * `;`-joined, installers a column per OS with the URI, API keys `prefix (status)`. Written here
 * again, independently of the CLI's code, for the objects of this session.
 */
function csvCells(object: Json, prefix = ''): [string, string][] {
  return Object.entries(object).flatMap(([key, value]: [string, Json]): [string, string][] => {
    const name = prefix + key;
    if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return [[name, value.join(';')]];
    if (Array.isArray(value) && value.every((v) => v.os && v.uri)) return value.map((v): [string, string] => [`${name}.${v.os.toLowerCase()}`, v.uri]);
    if (Array.isArray(value) && value.every((v) => v.prefix && v.status)) return [[name, value.map((v) => `${v.prefix} (${v.status})`).join(';')]];
    if (value && typeof value === 'object' && Object.keys(value).length > 0) return csvCells(value, `${name}.`);
    return [[name, csvText(value)]];
  });
}

/** Checks a `--csv` list against the `--json` list of the same objects: the same values, and never JSON in a cell. */
function expectCsvMatches(csv: string, objects: Json[]): void {
  expect(csv.endsWith('\r\n')).toBe(true);
  const [header, ...rows] = parseCsv(csv);
  expect(rows).toHaveLength(objects.length);
  rows.forEach((row, i) => {
    const cells = Object.fromEntries(csvCells(objects[i]));
    for (const [key, value] of Object.entries(cells)) if (header!.includes(key)) expect(row[header!.indexOf(key)], key).toBe(value);
    expect(header!.filter((key) => row[header!.indexOf(key)] !== '').sort()).toEqual(Object.keys(cells).filter((key) => cells[key] !== '').sort());
    for (const cell of row) expect(cell).not.toMatch(/^[[{]/);
  });
}

/** RFC 8785 for the plain values a context config holds (strings, integers, arrays, objects). */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function applicationToken(apiKey: string) {
  return api('/tokens/application', { apikey: apiKey });
}

beforeAll(async () => {
  if (!existsSync(DS_BIN)) {
    throw new Error(`${DS_BIN} is missing: the end-to-end tests run the built CLI; build it first with \`npx tsc -b\` (npm test does)`);
  }
  s.tmp = mkdtempSync(join(tmpdir(), `ds-e2e-${dialect}-`));
  s.home = join(s.tmp, 'home');
  s.configDir = join(s.tmp, 'config');
  s.installerRoot = join(s.tmp, 'installers');
  for (const dir of [s.home, s.configDir, s.installerRoot]) mkdirSync(dir, { recursive: true });
  const files = { win64: 't1c-win64.exe', linux64: 't1c-linux64.deb' } as const;
  for (const [os, name] of Object.entries(files) as ['win64' | 'linux64', string][]) {
    const content = randomBytes(os === 'win64' ? 200_000 : 50_000);
    const path = join(s.installerRoot, name);
    writeFileSync(path, content);
    s.installers[os] = { path, sha256: createHash('sha256').update(content).digest('hex'), size: content.length };
  }
  if (dialect === 'postgres') {
    s.schema = `e2e_${process.pid}_${Date.now().toString(36)}`;
    const pg = requireFromServer('pg');
    const client = new pg.Client({ connectionString: postgresBase });
    await client.connect();
    try {
      await client.query(`create schema "${s.schema}"`);
    } finally {
      await client.end();
    }
    // node-postgres passes `options` on to the server, so every connection of DS uses the schema.
    // The URL always carries a password (a dummy one is ignored under trust authentication), so
    // the test can check that no output ever shows it.
    const url = new URL(postgresBase);
    if (!url.password) url.password = 'e2e-db-password-' + randomBytes(4).toString('hex');
    s.dbPassword = decodeURIComponent(url.password);
    s.masterKey = randomBytes(32).toString('base64');
    s.secrets.push(s.dbPassword, s.masterKey);
    url.search = `${url.search ? url.search + '&' : '?'}options=-c%20search_path%3D${s.schema}`;
    s.databaseUrl = url.toString();
  } else {
    s.databaseUrl = join(s.tmp, 'db', 'ds.db');
  }
});

afterAll(async () => {
  await killServe(s.server);
  if (s.schema) {
    const pg = requireFromServer('pg');
    const client = new pg.Client({ connectionString: postgresBase });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${s.schema}" cascade`);
    } finally {
      await client.end();
    }
  }
  if (s.tmp) rmSync(s.tmp, { recursive: true, force: true });
});

describe(`operator session with the built ds binary (${dialect})`, () => {
  // Each step builds on the ones before: after the first failure the rest are skipped, so the
  // report shows the real failure rather than a cascade of follow-up errors.
  let failed: string | undefined;
  beforeEach(({ task, skip, onTestFailed }) => {
    if (failed) skip(`an earlier step failed: ${failed}`);
    onTestFailed(() => {
      failed ??= task.name;
    });
  });

  it('ds init creates the database and the first admin with the password from stdin', async () => {
    const r = await runDs(['init', '--admin-password-stdin'], { env: localEnv(), stdin: ADMIN_PASSWORD + '\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(''); // no generated password
    expect(r.stderr).toContain('created the user "admin"');

    const again = await runDs(['init', '--admin-password-stdin'], { env: localEnv(), stdin: 'another password 123\n' });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already initialised');
    s.outputs.push(r.stdout + r.stderr, again.stdout + again.stderr); // checked for secrets at the end

    if (dialect === 'postgres') {
      // The tables landed in the schema named by options=-c search_path in DATABASE_URL.
      const pg = requireFromServer('pg');
      const client = new pg.Client({ connectionString: postgresBase });
      await client.connect();
      try {
        const { rows } = await client.query('select table_name from information_schema.tables where table_schema = $1', [s.schema]);
        expect(rows.map((row: { table_name: string }) => row.table_name)).toEqual(expect.arrayContaining(['organizations', 'labels', 'versions', 'users']));
      } finally {
        await client.end();
      }
    } else {
      expect(existsSync(s.databaseUrl)).toBe(true);
    }
  });

  it('ds serve --port 0 listens on a free port and says which, answers /system/status and logs JSON lines', async () => {
    // startServe reads the URL from the `DS is listening on <url>` line.
    s.server = await startServe([], localEnv());
    s.url = s.server.url;
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const response = await fetch(`${s.url}/v3_5/system/status`);
    expect(response.status).toBe(200);
    const status = (await response.json()) as Json;
    expect(status).toMatchObject({ success: true, data: { isAlive: true, latestVersion: null } });
    const logs = jsonLines(s.server.stderr());
    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) expect(line).toMatchObject({ time: expect.any(String), level: expect.any(String), msg: expect.any(String) });
    expect(logs).toContainEqual(expect.objectContaining({ level: 'info', msg: 'DS listening', database: dialect, url: s.url }));
  });

  it('ds login refuses a wrong password and stores a session in a 0600 profile', async () => {
    const wrong = await runDs(['login', '--url', s.url, '--username', 'admin', '--password-stdin'], { env: remoteEnv(), stdin: 'not the password\n' });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('INVALID_CREDENTIALS');
    expect(existsSync(profilePath())).toBe(false);

    const r = await runDs(['login', '--url', s.url, '--username', 'admin', '--password-stdin'], { env: remoteEnv(), stdin: ADMIN_PASSWORD + '\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`logged in to ${s.url} as admin`);
    expect(statSync(profilePath()).mode & 0o777).toBe(0o600);
    expect(statSync(join(s.configDir, 'ds')).mode & 0o077).toBe(0);
    const profile = readProfile();
    expect(profile.current).toBe('default');
    expect(profile.profiles.default).toMatchObject({ url: s.url, username: 'admin', token: expect.stringMatching(/^ds_ses_/) });
    s.secrets.push(ADMIN_PASSWORD, profile.profiles.default.token);

    const whoami = await ok('whoami');
    const rows = Object.fromEntries(tableRows(whoami.stdout).map(([name, value]) => [name, value]));
    expect(rows).toMatchObject({ username: 'admin', role: 'admin', credential: 'session', url: s.url, profile: 'default (token from profile)' });
    expect(await okJson('whoami')).toMatchObject({ username: 'admin', role: 'admin', credential: 'session', organization: null });
  });

  it('ds org create and ds label create; the printed label key buys an application JWT', async () => {
    const org = await ok('org', 'create', 'acme', '--description', 'Acme Corporation, Belgium');
    expect(org.stderr).toContain('created organization acme');
    expect(Object.fromEntries(tableRows(org.stdout))).toMatchObject({ name: 'acme', description: 'Acme Corporation, Belgium', labels: '0' });
    await ok('org', 'create', 'globex', '--description', 'Globex "Intl"');
    const duplicate = await ds('org', 'create', 'acme');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('CONFLICT');

    const label = await ok('label', 'create', 'acme-web', '--org', 'acme');
    expect(label.stderr).toContain('created label acme-web in organization acme');
    expect(label.stderr).toContain('store the API key now');
    const key = field(label.stdout, 'apiKey');
    expect(key).toMatch(/^ds_lbl_[A-Za-z0-9_-]{32}$/);
    s.labelKey = key!;
    s.secrets.push(s.labelKey);

    const jwks = (await api('/.well-known/jwks.json')).body;
    const res = await applicationToken(s.labelKey);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    const { payload } = verifyJwt(res.body.data, jwks);
    expect(payload).toMatchObject({ sub: 'acme-web', org: 'acme', iss: 't1cds-app' });
    expect(payload.exp as number).toBeGreaterThan(Date.now() / 1000);

    const wrong = await applicationToken('ds_lbl_' + 'x'.repeat(32));
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('INVALID_API_KEY');
  });

  it('ds version create hashes the file installers and prints the installation key', async () => {
    const win = s.installers.win64;
    const linux = s.installers.linux64;
    const r = await ok(
      'version', 'create', '3.8.1',
      '--installer', `win64=${pathToFileURL(win.path).href}`,
      '--installer', `linux64=${pathToFileURL(linux.path).href}`,
      '--recommended',
      '--release-notes', RELEASE_NOTES,
    );
    expect(r.stderr).toContain('created version 3.8.1');
    const key = field(r.stdout, 'installationApiKey');
    expect(key).toMatch(/^ds_ins_[A-Za-z0-9_-]{32}$/);
    s.installationKey = key!;
    s.secrets.push(s.installationKey);

    const version = await okJson('version', 'get', '3.8.1');
    expect(version).toMatchObject({ id: '3.8.1', recommended: true, mandatory: false, allowed: true, releaseNotes: RELEASE_NOTES });
    expect(version.installationApiKey).toBeUndefined(); // shown once
    const byOs = Object.fromEntries(version.installers.map((i: Json) => [i.os, i]));
    expect(byOs).toEqual({
      WIN64: { os: 'WIN64', uri: pathToFileURL(win.path).href, sha256: win.sha256, size: win.size },
      LINUX64: { os: 'LINUX64', uri: pathToFileURL(linux.path).href, sha256: linux.sha256, size: linux.size },
    });
    expect(version.installationKeys).toHaveLength(1);
    expect(version.installationKeys[0]).toMatchObject({ status: 'active', prefix: expect.stringMatching(/^ds_ins_/) });

    const jwks = (await api('/.well-known/jwks.json')).body;
    const res = await api('/tokens/installation', { apikey: s.installationKey });
    expect(res.status).toBe(200);
    expect(verifyJwt(res.body.data, jwks).payload).toMatchObject({ sub: '3.8.1', scope: 'device:register' });

    const status = await api('/system/status');
    expect(status.body.data.latestVersion).toBe('3.8.1');
  });

  it('ds version apply changes only what differs, keeps installers it is not given, and sends If-Match', async () => {
    const linux = pathToFileURL(s.installers.linux64.path).href;
    const before = await okJson('version', 'get', '3.8.1');
    const changed = await ok('version', 'apply', '3.8.1', '--mandatory', '--installer', `linux64=${linux}`);
    expect(changed.stdout).toBe('~ mandatory: false → true\n');
    expect(changed.stderr).toBe('updated version 3.8.1\n');
    const again = await ok('version', 'apply', '3.8.1', '--mandatory', '--installer', `linux64=${linux}`);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe('version 3.8.1 is up to date: nothing to change\n');
    const back = await ok('version', 'apply', '3.8.1', '--no-mandatory');
    expect(back.stdout).toBe('~ mandatory: true → false\n');
    const after = await okJson('version', 'get', '3.8.1');
    expect(after.installers).toEqual(before.installers); // win64 kept, checksums as recorded

    // The admin API's optimistic concurrency, as a pipeline meets it: a stale ETag is 412 and changes nothing.
    const read = await fetch(`${s.url}/v3_5/admin/versions/3.8.1`, { headers: sessionHeaders() });
    const etag = read.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    const put = (body: Json) =>
      fetch(`${s.url}/v3_5/admin/versions/3.8.1`, {
        method: 'PUT',
        headers: { ...sessionHeaders(), 'content-type': 'application/json', 'if-match': etag },
        body: JSON.stringify(body),
      });
    const first = await put({ releaseNotes: RELEASE_NOTES });
    expect(first.status).toBe(200);
    const second = await put({ releaseNotes: 'overwrites the first' });
    expect(second.status).toBe(412);
    expect(((await second.json()) as Json).code).toBe('PRECONDITION_FAILED');
    expect((await okJson('version', 'get', '3.8.1')).releaseNotes).toBe(RELEASE_NOTES);
  });

  it('ds version create refuses an installer outside the installer root, naming it', async () => {
    const r = await ds('version', 'create', '3.9.0', '--installer', 'linux64=file:///etc/passwd');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: INVALID_INSTALLER_URI: installers\[0\]\.uri: /);
    expect(r.stderr).toContain('/etc/passwd');
    expect(r.stderr).toContain('outside the installer root');
    const missing = await ds('version', 'get', '3.9.0');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('NOT_FOUND');
  });

  it('ds version config set / get shows own and effective config and its digest', async () => {
    const set = await ok('version', 'config', 'set', '3.8.1', '--cors', 'https://*.acme.com', '--sync-interval', '1800');
    expect(set.stderr).toContain('updated the context config of 3.8.1');
    const view = await okJson('version', 'config', 'get', '3.8.1');
    expect(view.own).toEqual({ corsAllowlist: ['https://*.acme.com'], syncIntervalSeconds: 1800 });
    expect(view.effective).toMatchObject({ corsAllowlist: ['https://*.acme.com'], syncIntervalSeconds: 1800, syncFailureLimit: expect.any(Number) });
    expect(view.digest).toBe(createHash('sha256').update(canonicalJson(view.effective)).digest('base64url'));
    const version = await okJson('version', 'get', '3.8.1');
    expect(version.contextConfig).toEqual(view);

    const badCors = await ds('version', 'config', 'set', '3.8.1', '--cors', 'not an origin');
    expect(badCors.code).toBe(1);
    expect(badCors.stderr).toContain('VALIDATION_ERROR');
    expect((await okJson('version', 'config', 'get', '3.8.1')).digest).toBe(view.digest);
  });

  it('ds version keystore set stores the SSL keystore config', async () => {
    const r = await ok('version', 'keystore', 'set', '3.8.1', '--uri', 'https://keys.acme.com/t1c/keystore.p12', '--sha256', KEYSTORE_SHA256.toUpperCase());
    expect(r.stderr).toContain('updated the SSL keystore config of 3.8.1');
    const version = await okJson('version', 'get', '3.8.1');
    expect(version.sslKeystoreConfig.own).toEqual({ uri: 'https://keys.acme.com/t1c/keystore.p12', sha256: KEYSTORE_SHA256 });
    expect(version.sslKeystoreConfig.digest).toEqual(expect.any(String));
    const short = await ds('version', 'keystore', 'set', '3.8.1', '--uri', 'https://keys.acme.com/k.p12', '--sha256', 'abc');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('--sha256');
  });

  it('ds label rotate-key --grace keeps the old key working next to the new one', async () => {
    const refused = await ds('label', 'rotate-key', 'acme-web', '--grace', '1h');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('pass --yes');

    const r = await ok('label', 'rotate-key', 'acme-web', '--grace', '1h', '--yes');
    const key = field(r.stdout, 'apiKey');
    expect(key).toMatch(/^ds_lbl_[A-Za-z0-9_-]{32}$/);
    expect(key).not.toBe(s.labelKey);
    s.rotatedLabelKey = key!;
    s.secrets.push(s.rotatedLabelKey);
    expect((await applicationToken(s.labelKey)).status).toBe(200);
    expect((await applicationToken(s.rotatedLabelKey)).status).toBe(200);

    const label = await okJson('label', 'get', 'acme-web');
    expect(label.keys.map((k: Json) => k.status).sort()).toEqual(['active', 'grace']);
    const grace = label.keys.find((k: Json) => k.status === 'grace');
    const left = Date.parse(grace.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(3500_000);
    expect(left).toBeLessThanOrEqual(3600_000);
  });

  it('an API token with versions:read works through DS_URL / DS_TOKEN and nothing more', async () => {
    const unitless = await ds('token', 'create', '--name', 'ci', '--scope', 'versions:read', '--expires', '90');
    expect(unitless.code).toBe(1);
    expect(unitless.stderr).toContain('a lifetime needs a unit: 90d (days)');
    const r = await ok('token', 'create', '--name', 'ci', '--scope', 'versions:read');
    // No --expires: DS's maximum lifetime (90 days by default), said on stderr.
    const expires = field(r.stdout, 'expires')!;
    expect(r.stderr).toContain(`the token expires at ${expires} (in 90d)`);
    const token = field(r.stdout, 'token');
    expect(token).toMatch(/^ds_adm_[A-Za-z0-9_-]{32}$/);
    s.adminToken = token!;
    s.secrets.push(s.adminToken);

    // A fresh config folder: the token and URL come from the environment alone.
    const ciConfig = join(s.tmp, 'config-ci');
    const ciEnv = cleanEnv(s.home, { XDG_CONFIG_HOME: ciConfig, DS_URL: s.url, DS_TOKEN: s.adminToken });
    const list = await runDs(['version', 'list', '--json'], { env: ciEnv });
    expect(list.code, list.stderr).toBe(0);
    const apiVersions = await api('/admin/versions', sessionHeaders());
    expect(JSON.parse(list.stdout)).toEqual(apiVersions.body.data);
    expect(JSON.parse(list.stdout).map((v: Json) => v.id)).toEqual(['3.8.1']);

    const whoami = await runDs(['whoami', '--json'], { env: ciEnv });
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ username: 'admin', credential: 'api-token', tokenName: 'ci', scopes: ['versions:read'] });

    const orgs = await runDs(['org', 'list'], { env: ciEnv });
    expect(orgs.code).toBe(1);
    expect(orgs.stdout).toBe('');
    expect(orgs.stderr).toContain('INSUFFICIENT_SCOPE');
    expect(existsSync(ciConfig)).toBe(false); // nothing was written
  });

  it('lists organizations, labels and versions as plain lines (piped), as JSON and as CSV', async () => {
    const cases = [
      { command: 'org', path: '/admin/organizations', headers: ['name', 'description', 'labels', 'created', 'updated'], names: ['acme', 'globex'] },
      { command: 'label', path: '/admin/labels', headers: ['name', 'organization', 'description', 'keys', 'created'], names: ['acme-web'] },
      { command: 'version', path: '/admin/versions', headers: ['id', 'recommended', 'mandatory', 'allowed', 'installers', 'published'], names: ['3.8.1'] },
    ];
    for (const { command, path, headers, names } of cases) {
      const fromApi = (await api(path, sessionHeaders())).body.data as Json[];
      expect(fromApi.length).toBe(names.length);

      const table = tableRows((await ok(command, 'list')).stdout);
      expect(table[0]).toEqual(headers);
      expect(table.slice(1).map((row) => row[0]).sort()).toEqual([...names].sort());

      const json = JSON.parse((await ok(command, 'list', '--json')).stdout);
      expect(json).toEqual(fromApi);

      expectCsvMatches((await ok(command, 'list', '--csv')).stdout, json);
    }
    // Table cells of one row: the label's two keys, the version's installers.
    const labelRow = tableRows((await ok('label', 'list')).stdout)[1]!;
    expect(labelRow.slice(0, 3)).toEqual(['acme-web', 'acme', '']);
    expect(labelRow[3]!.split(', ').sort()).toEqual(['1 active', '1 grace']);
    const versionRow = tableRows((await ok('version', 'list')).stdout)[1]!;
    expect(versionRow.slice(0, 4)).toEqual(['3.8.1', 'yes', 'no', 'yes']);
    expect(versionRow[4]!.split(', ').sort()).toEqual(['linux64', 'win64']);
  });

  it('ds system info --json counts what the session created', async () => {
    const info = await okJson('system', 'info');
    expect(info.database.kind).toBe(dialect);
    expect(info.counts).toMatchObject({ organizations: 2, labels: 1, versions: 1, users: 1, devices: { total: 0 } });
  });

  // One step for both dialects: what `ds db backup` does depends on the database kind.
  it(`ds db backup ${dialect === 'sqlite' ? 'copies the live SQLite database' : 'points to pg_dump; the rows are in the test schema'}`, async () => {
    if (dialect === 'sqlite') {
      const target = join(s.tmp, 'backup', 'ds-copy.db');
      const r = await runDs(['db', 'backup', target, '--json'], { env: localEnv() });
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(result).toEqual({ path: target, bytes: statSync(target).size });
      const Database = requireFromServer('better-sqlite3');
      const copy = new Database(target, { readonly: true, fileMustExist: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(copy.prepare('select name from organizations order by name').all()).toEqual([{ name: 'acme' }, { name: 'globex' }]);
        expect(copy.prepare('select name from labels').all()).toEqual([{ name: 'acme-web' }]);
      } finally {
        copy.close();
      }
      return;
    }
    const r = await runDs(['db', 'backup', join(s.tmp, 'copy.db')], { env: localEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pg_dump');
    const pg = requireFromServer('pg');
    const client = new pg.Client({ connectionString: s.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query('select name from organizations order by name');
      expect(rows).toEqual([{ name: 'acme' }, { name: 'globex' }]);
    } finally {
      await client.end();
    }
  });

  it('ds org delete refuses an organization with labels unless --force, then says what it removed', async () => {
    const unconfirmed = await ds('org', 'delete', 'globex');
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toContain('pass --yes');

    const refused = await ds('org', 'delete', 'acme', '--yes');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('HAS_DEPENDANTS');
    expect(refused.stderr).toContain('ds org delete acme --force');
    await ok('org', 'get', 'acme');

    const forced = await ok('org', 'delete', 'acme', '--force', '--yes');
    expect(forced.stdout).toBe('deleted organization acme (also removed 1 label)\n');
    expect((await ds('org', 'get', 'acme')).code).toBe(1);
    expect((await ds('label', 'get', 'acme-web')).code).toBe(1);
    expect((await applicationToken(s.rotatedLabelKey)).status).toBe(401);
    expect((await okJson('org', 'list')).map((o: Json) => o.name)).toEqual(['globex']);
  });

  it('ds logout ends the session; ds whoami then exits 4', async () => {
    const token = readProfile().profiles.default.token as string;
    const r = await ok('logout');
    expect(r.stderr).toContain(`logged out of ${s.url}`);
    expect(readProfile().profiles.default.token).toBeUndefined();
    expect(statSync(profilePath()).mode & 0o777).toBe(0o600);
    expect((await api('/admin/auth/whoami', { authorization: `Bearer ${token}` })).status).toBe(401);

    const whoami = await ds('whoami');
    expect(whoami.code).toBe(4);
    expect(whoami.stderr).toContain('not logged in');
  });

  it('SIGTERM stops the server cleanly with exit code 0', async () => {
    const server = s.server!;
    server.child.kill('SIGTERM');
    // Waits for the exit itself (a DS that never stops fails on the test's timeout), not for a
    // number of seconds that a busy machine could exceed.
    expect(await server.exited, server.stderr()).toEqual({ code: 0, signal: null });
    expect(server.stderr()).toContain('SIGTERM: stopping DS');
    const messages = jsonLines(server.stderr()).map((line) => line.msg);
    expect(messages).toContain('shutting down');
    // Nothing was in flight: DS closed at once, without waiting out its grace period for requests
    // (it says so when it has to cut connections after it).
    expect(messages).not.toContain('in-flight requests did not finish in time; closing their connections');
    expect(messages.at(-1)).toBe('stopped');
    expect(jsonLines(server.stderr())).toContainEqual(expect.objectContaining({ msg: 'request', path: '/v3_5/tokens/application', status: 200 }));
  });

  it('no password, key or token reached the server log or the output of ds init', () => {
    expect(s.secrets).toHaveLength(dialect === 'postgres' ? 8 : 6);
    const outputs = { 'ds serve': s.server!.stdout() + s.server!.stderr(), 'ds init': s.outputs.join('\n') };
    for (const [what, text] of Object.entries(outputs)) {
      for (const secret of s.secrets) expect(text, `${what} printed a secret`).not.toContain(secret);
    }
  });
});
