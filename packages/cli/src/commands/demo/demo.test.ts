import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AdminClient, API } from '@ds/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { removeTempDirs, runDs, tempDir } from '../../test/harness.js';
import { box } from './demo.js';

afterEach(removeTempDirs);

/** Runs `ds demo` on a real DS (port 0, a SQLite file), with stderr readable while it runs. */
function startDemo(dir: string, env: NodeJS.ProcessEnv = {}, options: { logFlags?: string[]; stderrTerminal?: boolean } = {}) {
  let stderr = '';
  let fire: ((signal: NodeJS.Signals) => void) | undefined;
  const logFlags = options.logFlags ?? ['--log-level', 'error'];
  const done = runDs(['demo', '--port', '0', '--database', join(dir, 'ds.db'), '--installer-root', join(dir, 'installers'), ...logFlags], {
    env: { DS_TOKEN: undefined, ...env },
    overrides: {
      stderrTerminal: options.stderrTerminal ?? false,
      fetch: globalThis.fetch,
      stderr: { write: (text: string) => (stderr += text) },
      onSignal: (handler) => {
        fire = handler;
        return () => {
          fire = undefined;
        };
      },
    },
  });
  return {
    done,
    stderr: () => stderr,
    /** Resolves once the welcome box is printed (or the command ended). */
    async ready() {
      let ended = false;
      void done.then(() => (ended = true));
      for (let i = 0; i < 600 && !stderr.includes('└') && !ended; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      if (!stderr.includes('└')) throw new Error(`no welcome box:\n${stderr}`);
    },
    stop(signal: NodeJS.Signals = 'SIGINT') {
      fire!(signal);
      return done;
    },
  };
}

const field = (text: string, pattern: RegExp) => {
  const match = pattern.exec(text);
  if (!match) throw new Error(`${pattern} not in:\n${text}`);
  return match[1]!;
};

describe('ds demo', () => {
  it('serves DS with an organization, labels, versions with installers and simulated devices, then stops cleanly', async () => {
    const dir = await tempDir();
    const demo = startDemo(dir);
    await demo.ready();
    const text = demo.stderr();
    const url = field(text, /DS is listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(text).toContain(`│ DS demo: ${url} `);
    expect(text).toContain(`ds login --url ${url}`);
    expect(text).toContain(`│ Dashboard:  ${url}/dashboard  (the same user and password)`);
    const password = field(text, /username admin, password (\S+) {2}\(shown once\)/);
    const labelKey = field(text, /Label API key of demo-web: {2}(ds_lbl_\S+)/);
    const installationKey = field(text, /Installation key of 3\.8\.1: {2}(ds_ins_\S+)/);
    expect(text).toContain('│   ds device list ');
    expect(text).toContain(`│   ds simulate --devices 50 --verify --installation-key ${installationKey} `);
    expect(text).toContain(`│   curl -H 'apikey: ${labelKey}' ${url}/v3_5/tokens/application `);
    expect(text).toContain('demo: simulated 24 installations: 72 syncs');

    // The DS it serves has what the box promises.
    const anonymous = new AdminClient({ baseUrl: url });
    const admin = anonymous.withToken((await anonymous.login('admin', password)).token);
    expect((await admin.getOrganization('demo')).name).toBe('demo');
    const labels = await admin.all((page) => admin.listLabels({ ...page, organization: 'demo' }));
    expect(labels.map((l) => l.name).sort()).toEqual(['demo-portal', 'demo-web']);
    const older = await admin.getVersion('3.7.0');
    const current = await admin.getVersion('3.8.1');
    expect(older).toMatchObject({ allowed: true, recommended: false });
    expect(current).toMatchObject({ allowed: true, recommended: true });
    expect(current.installers.map((i) => i.os).sort()).toEqual(['LINUX64', 'MACOS', 'MACOSARM', 'WIN64']);
    const devices = await admin.all((page) => admin.listDevices(page));
    expect(devices).toHaveLength(24);
    expect(devices.filter((d) => d.version === '3.7.0')).toHaveLength(3);
    // 3.8.2 is being rolled out: its first wave (25 %) is in progress, and the 3.8.1 devices inside
    // it were offered it and installed it (the others stay on 3.8.1).
    expect(text).toContain('demo: started a rollout of 3.8.2 in waves of 25, 50, 100 %');
    expect(text).toContain('│   ds rollout status 3.8.2 ');
    expect(await admin.getVersion('3.8.2')).toMatchObject({ allowed: true, recommended: false });
    const rollout = await admin.call(API.getRollout, { params: { id: '3.8.2' } });
    expect(rollout).toMatchObject({ state: 'active', percent: 25, waves: [25, 50, 100] });
    const onNew = devices.filter((d) => d.version === '3.8.2').length;
    expect(devices.filter((d) => d.version === '3.8.1')).toHaveLength(21 - onNew);
    expect(rollout.gate.updated).toBe(onNew);
    // Offered: those, and the 3.7.0 devices inside the wave (the demo keeps them on 3.7.0).
    expect(rollout.gate.offered).toBeGreaterThanOrEqual(onNew);
    // Usage reaches back three months; the transactions report of those months has all of it.
    const sent = Number(field(text, /demo: simulated 24 installations: 72 syncs, (\d+) transactions/));
    const from = field(text, /ds report transactions --from (\d{4}-\d{2}) --by month,label/);
    const rows = await admin.transactionsReport({ from, by: ['month'] });
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.reduce((sum, r) => sum + r.transactions, 0)).toBe(sent);

    const token = await fetch(`${url}/v3_5/tokens/application`, { headers: { apikey: labelKey } });
    expect(token.status).toBe(200);
    expect(((await token.json()) as { data: string }).data.split('.')).toHaveLength(3);
    const path = join(dir, 'installers', 'demo', '3.8.1', 'Trust1Connector-3.8.1-x64.msi');
    const file = await readFile(path);
    expect(file.length).toBeGreaterThanOrEqual(2048);
    expect(current.installers.find((i) => i.os === 'WIN64')).toMatchObject({
      uri: pathToFileURL(path).href,
      sha256: createHash('sha256').update(file).digest('hex'),
      size: file.length,
    });
    expect(await readFile(join(dir, 'installers', 'demo', 'README.txt'), 'utf8')).toContain('ds demo');

    const result = await demo.stop('SIGTERM');
    expect(result.code).toBe(0);
    expect(demo.stderr()).toContain('SIGTERM: stopping DS');
    expect(result.stdout).toBe('');

    // Started again: the password is not known any more, so it only serves.
    const again = startDemo(dir);
    await again.ready();
    expect(again.stderr()).toContain('no demo data is made, DS just serves');
    expect(again.stderr()).not.toContain(password);
    expect((await again.stop()).code).toBe(0);

    // With the password it logs in, finds the demo data and leaves it alone.
    const third = startDemo(dir, { DS_ADMIN_PASSWORD: password });
    await third.ready();
    expect(third.stderr()).toContain('organization "demo" exists: keeping the data as it is');
    expect((await third.stop()).code).toBe(0);
    const url3 = field(third.stderr(), /DS is listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(url3).toMatch(/^http/);
  });

  it('says so when DS_ADMIN_PASSWORD does not log in', async () => {
    const dir = await tempDir();
    const first = startDemo(dir, { DS_ADMIN_PASSWORD: 'the-first-password-123' });
    await first.ready();
    // The password came from the environment: the box does not repeat it.
    expect(first.stderr()).not.toContain('the-first-password-123');
    expect(first.stderr()).toContain('Installation key of 3.8.1:');
    await first.stop();
    const second = startDemo(dir, { DS_ADMIN_PASSWORD: 'another-password-456' });
    await second.ready();
    expect(second.stderr()).toContain('DS_ADMIN_PASSWORD is not the password of user admin');
    expect((await second.stop()).code).toBe(0);
  });
});

describe('ds demo on a terminal', () => {
  it('keeps the banner with the one-time password on screen: no request lines after it, warnings as one short line', async () => {
    // DS logs on the process's stderr (not ds's own stream): watch it.
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const dir = await tempDir();
      const demo = startDemo(dir, {}, { logFlags: [], stderrTerminal: true });
      await demo.ready();
      const url = field(demo.stderr(), /DS is listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const password = field(demo.stderr(), /username admin, password (\S+) {2}\(shown once\)/);
      const before = written.length;
      for (let i = 0; i < 5; i++) expect((await fetch(`${url}/v3_5/system/status`)).status).toBe(200);
      const login = await fetch(`${url}/v3_5/admin/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'not-it-at-all' }) });
      expect(login.status).toBe(401);
      expect((await demo.stop()).code).toBe(0);
      const logLines = written.join('').split('\n').filter(Boolean);
      // Making the demo data (dozens of requests) logged nothing, nor did anything after the banner but the warning.
      expect(logLines.filter((line) => line.startsWith('{'))).toEqual([]);
      expect(logLines.slice(0, before).join('\n')).not.toMatch(/request/);
      expect(written.slice(before).join('').split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d warn {2}password check failed username=admin address=\S+$/)]);
      expect(demo.stderr()).toContain(password);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('box', () => {
  it('pads every line to the longest', () => {
    expect(box(['ab', 'abcd'])).toBe('┌──────┐\n│ ab   │\n│ abcd │\n└──────┘');
  });
});
