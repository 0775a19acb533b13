import { readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../test/harness.js';
import { ConfigStore, DEFAULT_URL, configPath, loginProfile, normalizeUrl, resolve, type ConfigFile } from './config.js';

afterEach(removeTempDirs);

describe('configPath', () => {
  it('uses XDG_CONFIG_HOME when set', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/u')).toBe('/x/cfg/ds/config.json');
  });
  it('falls back to ~/.config when XDG_CONFIG_HOME is unset, empty or relative', () => {
    expect(configPath({}, '/home/u')).toBe('/home/u/.config/ds/config.json');
    expect(configPath({ XDG_CONFIG_HOME: '' }, '/home/u')).toBe('/home/u/.config/ds/config.json');
    expect(configPath({ XDG_CONFIG_HOME: 'rel' }, '/home/u')).toBe('/home/u/.config/ds/config.json');
  });
});

describe('resolve', () => {
  const file: ConfigFile = {
    current: 'main',
    profiles: {
      main: { url: 'http://profile-main', token: 'tok-main' },
      other: { url: 'http://profile-other', token: 'tok-other' },
    },
  };

  it('takes flags over env over the profile file', () => {
    const env = { DS_URL: 'http://env', DS_TOKEN: 'tok-env', DS_PROFILE: 'other' };
    expect(resolve({ url: 'http://flag', token: 'tok-flag', profile: 'main' }, env, file)).toMatchObject({
      profile: 'main',
      url: 'http://flag',
      urlSource: 'flag',
      token: 'tok-flag',
      tokenSource: 'flag',
    });
    expect(resolve({}, env, file)).toMatchObject({ profile: 'other', url: 'http://env', urlSource: 'env', token: 'tok-env', tokenSource: 'env' });
  });

  it('reads the profile named by DS_PROFILE, else the current one', () => {
    expect(resolve({}, { DS_PROFILE: 'other' }, file)).toMatchObject({ url: 'http://profile-other', token: 'tok-other', tokenSource: 'profile' });
    expect(resolve({}, {}, file)).toMatchObject({ profile: 'main', url: 'http://profile-main', token: 'tok-main' });
  });

  it('treats empty values as unset and defaults the URL', () => {
    expect(resolve({}, { DS_URL: '', DS_TOKEN: '' }, { profiles: {} })).toEqual({
      profile: 'default',
      url: DEFAULT_URL,
      urlSource: 'default',
      token: undefined,
      tokenSource: undefined,
    });
  });
});

describe('ConfigStore', () => {
  it('writes the file with mode 0600, creating the folder', async () => {
    const path = join(await tempDir(), 'nested', 'ds', 'config.json');
    const store = new ConfigStore(path);
    await store.updateProfile('default', () => ({ url: 'http://x', token: 'secret' }));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ current: 'default', profiles: { default: { url: 'http://x', token: 'secret' } } });
  });

  it('tightens an existing world-readable file when it writes', async () => {
    const dir = await tempDir();
    const path = join(dir, 'config.json');
    await mkdir(dir, { recursive: true });
    await writeFile(path, JSON.stringify({ current: 'a', profiles: { a: { url: 'http://a' } } }), { mode: 0o644 });
    const store = new ConfigStore(path);
    await store.updateProfile('b', (p) => ({ ...p, token: 't' }));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ current: 'a', profiles: { a: { url: 'http://a' }, b: { token: 't' } } });
  });

  it('reads a missing file as empty and reports a broken one', async () => {
    const dir = await tempDir();
    expect(await new ConfigStore(join(dir, 'none.json')).read()).toEqual({ profiles: {} });
    await writeFile(join(dir, 'bad.json'), '{nope');
    await expect(new ConfigStore(join(dir, 'bad.json')).read()).rejects.toThrow(/not valid JSON/);
  });
});

describe('normalizeUrl', () => {
  it.each([
    ['http://ds.example', 'http://ds.example'],
    ['HTTP://DS.Example:80/', 'http://ds.example'],
    ['https://ds.example:443', 'https://ds.example'],
    ['http://ds.example:3000///', 'http://ds.example:3000'],
    ['https://proxy.example/ds/', 'https://proxy.example/ds'],
    ['http://[::1]:3000', 'http://[::1]:3000'],
  ])('%s is %s', (text, url) => {
    expect(normalizeUrl(text)).toBe(url);
  });

  it.each(['http://u:p@ds.example', 'http://ds.example/#x', 'http://ds.example?', 'file:///etc/passwd', 'not a url'])('refuses %s', (text) => {
    expect(() => normalizeUrl(text, '--url')).toThrow(/^--url /);
  });
});

describe('resolve binds stored tokens to their URL', () => {
  const file: ConfigFile = {
    current: 'prod',
    profiles: {
      prod: { url: 'https://ds.example', token: 'tok-prod' },
      staging: { url: 'https://staging.example', token: 'tok-staging' },
      twin: { url: 'https://twin.example', token: 'tok-twin-1' },
      twin2: { url: 'https://twin.example', token: 'tok-twin-2' },
    },
  };

  it.each<[string, Parameters<typeof resolve>[0], NodeJS.ProcessEnv, Partial<ReturnType<typeof resolve>>]>([
    ['the current profile at its URL', {}, {}, { profile: 'prod', url: 'https://ds.example', token: 'tok-prod' }],
    ['the profile logged in to the URL named', { url: 'https://staging.example/' }, {}, { profile: 'staging', token: 'tok-staging', tokenSource: 'profile' }],
    ['no token for a URL no profile is for', { url: 'https://else.example' }, {}, { profile: 'prod', token: undefined, withheld: { profile: 'prod', boundTo: 'https://ds.example' } }],
    ['no token when the profile named is for another URL', { profile: 'prod', url: 'https://staging.example' }, {}, { profile: 'prod', token: undefined }],
    ['no token when several profiles are for the URL', {}, { DS_URL: 'https://twin.example' }, { token: undefined, withheld: { ambiguous: ['twin', 'twin2'] } }],
    ['the named one of several', { profile: 'twin2' }, { DS_URL: 'https://twin.example' }, { profile: 'twin2', token: 'tok-twin-2' }],
    ['an explicit token anywhere', { url: 'https://else.example' }, { DS_TOKEN: 'tok-env' }, { url: 'https://else.example', token: 'tok-env', tokenSource: 'env' }],
  ])('%s', (_what, globals, env, expected) => {
    expect(resolve(globals, env, file)).toMatchObject(expected);
  });

  it('ds login picks the named profile, else the current one for this DS, else the one for this DS, else a new one named after the host', () => {
    expect(loginProfile({ profile: 'x' }, {}, file, 'https://else.example')).toBe('x');
    expect(loginProfile({}, { DS_PROFILE: 'y' }, file, 'https://else.example')).toBe('y');
    expect(loginProfile({}, {}, file, 'https://ds.example')).toBe('prod');
    expect(loginProfile({}, {}, file, 'https://staging.example')).toBe('staging');
    expect(loginProfile({}, {}, file, 'http://127.0.0.1:3000')).toBe('127.0.0.1:3000');
    expect(loginProfile({}, {}, { profiles: { 'new.example': { url: 'https://x.example' } }, current: 'new.example' }, 'https://new.example')).toBe('new.example-2');
    expect(loginProfile({}, {}, { profiles: {} }, 'https://first.example')).toBe('default');
  });
});
