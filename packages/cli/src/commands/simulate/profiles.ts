import type { DeviceKeyType } from '@ds/shared';

// What simulated T1C installations look like: a realistic spread of systems, browsers, card
// modules and use cases. Every choice is drawn from a seeded generator, one per device, so a run
// with --seed records the same transactions whatever order the devices happen to run in.

/** A generator of numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: small, fast and good enough for picking among choices. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The generator of device `index` in a run with `seed`: independent of the other devices. */
export function deviceRandom(seed: number, index: number): Random {
  // splitmix32-style mixing, so neighbouring indexes do not give related streams.
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return seededRandom((h ^ (h >>> 16)) >>> 0);
}

export function int(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

export function weighted<T>(random: Random, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0);
  let at = random() * total;
  for (const [item, weight] of items) {
    at -= weight;
    if (at < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** `count` distinct items, in a random order. */
export function sample<T>(random: Random, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < count && pool.length > 0) out.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
  return out;
}

// ---------------------------------------------------------------- systems

type Family = 'windows' | 'mac' | 'linux';

interface SystemProfile {
  os: { name: string; version: string; architecture: string };
  family: Family;
}

/** Mostly 64-bit Windows, then Apple silicon and Intel Macs, some Linux, a few 32-bit systems. */
const SYSTEMS: (readonly [SystemProfile, number])[] = [
  [{ os: { name: 'Windows', version: '11', architecture: 'x64' }, family: 'windows' }, 44],
  [{ os: { name: 'Windows', version: '10', architecture: 'x64' }, family: 'windows' }, 22],
  [{ os: { name: 'Windows', version: '10', architecture: 'x86' }, family: 'windows' }, 3],
  [{ os: { name: 'macOS', version: '15.5', architecture: 'arm64' }, family: 'mac' }, 12],
  [{ os: { name: 'macOS', version: '14.7', architecture: 'arm64' }, family: 'mac' }, 4],
  [{ os: { name: 'macOS', version: '13.7', architecture: 'x64' }, family: 'mac' }, 5],
  [{ os: { name: 'Linux', version: 'Ubuntu 24.04', architecture: 'x64' }, family: 'linux' }, 7],
  [{ os: { name: 'Linux', version: 'Debian 12', architecture: 'x64' }, family: 'linux' }, 2],
  [{ os: { name: 'Linux', version: 'Ubuntu 18.04', architecture: 'x86' }, family: 'linux' }, 1],
];

/** Real browser User-Agent strings per system; the old ones are rarer. */
const USER_AGENTS: Record<Family, (readonly [string, number])[]> = {
  windows: [
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36', 30],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0', 22],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0', 10],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 5],
    ['Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36', 2],
    ['Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko', 1],
  ],
  mac: [
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15', 25],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36', 25],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:140.0) Gecko/20100101 Firefox/140.0', 6],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0', 4],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6.1 Safari/605.1.15', 2],
  ],
  linux: [
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36', 20],
    ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', 15],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0', 4],
    ['Mozilla/5.0 (X11; Linux i686; rv:115.0) Gecko/20100101 Firefox/115.0', 1],
  ],
};

const KEY_TYPES: (readonly [DeviceKeyType, number])[] = [
  ['rsa', 45],
  ['ec', 45],
  ['ec-p384', 10],
];

// ---------------------------------------------------------------- usage

/** T1C modules and their use cases, most frequent first. */
export const MODULES: (readonly [string, readonly string[], number])[] = [
  ['beid', ['read-data', 'authenticate', 'sign', 'verify-pin', 'read-certificates'], 40],
  ['pkcs11', ['sign', 'authenticate', 'read-certificates', 'verify-pin'], 15],
  ['emv', ['read-data', 'verify-pin', 'authenticate'], 12],
  ['file-exchange', ['download', 'upload', 'list-files'], 10],
  ['luxeid', ['read-data', 'authenticate', 'sign', 'verify-pin'], 8],
  ['remote-loading', ['open-session', 'apdu', 'close-session'], 6],
];

export const STATUSES = [
  ['ACTIVE', 90],
  ['UPDATABLE', 5],
  ['ERROR', 3],
  ['INACTIVE', 2],
] as const;

export type KeyTypeChoice = DeviceKeyType | 'mixed';

/** One simulated installation: its system, key type, name, and the web apps and browsers that use it. */
export interface DeviceProfile {
  os: SystemProfile['os'];
  keyType: DeviceKeyType;
  hostname: string;
  labels: string[];
  userAgents: string[];
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function hostname(random: Random, family: Family): string {
  const chars = (n: number, alphabet: string) => Array.from({ length: n }, () => pick(random, [...alphabet])).join('');
  if (family === 'windows') return `${pick(random, ['DESKTOP', 'LAPTOP', 'PC'])}-${chars(7, ALNUM)}`;
  if (family === 'mac') return `${pick(random, ['MacBook-Pro', 'MacBook-Air', 'iMac', 'Mac-mini'])}-${int(random, 1, 99)}`;
  return `${pick(random, ['ubuntu', 'debian', 'ws', 'lnx'])}-${chars(4, '0123456789abcdef')}`;
}

export function deviceProfile(random: Random, keyType: KeyTypeChoice, labels: readonly string[]): DeviceProfile {
  const system = weighted(random, SYSTEMS);
  const drawnKeyType = weighted(random, KEY_TYPES);
  const agents = USER_AGENTS[system.family];
  const browsers = int(random, 1, 3);
  const userAgents: string[] = [];
  for (let i = 0; i < browsers; i++) {
    const agent = weighted(random, agents);
    if (!userAgents.includes(agent)) userAgents.push(agent);
  }
  return {
    os: system.os,
    keyType: keyType === 'mixed' ? drawnKeyType : keyType,
    hostname: hostname(random, system.family),
    labels: sample(random, labels, int(random, 1, Math.min(3, labels.length))),
    userAgents,
  };
}

/**
 * The statuses with ERROR at `errorRate` (0 to 1) and the others in their usual proportions.
 * One draw either way, so a changed rate changes no other choice of a seeded run.
 */
function statusWeights(errorRate: number | undefined): readonly (readonly [(typeof STATUSES)[number][0], number])[] {
  if (errorRate === undefined) return STATUSES;
  const others = STATUSES.filter(([status]) => status !== 'ERROR');
  const total = others.reduce((sum, [, weight]) => sum + weight, 0);
  return [...others.map(([status, weight]) => [status, ((1 - errorRate) * weight) / total] as const), ['ERROR', errorRate] as const];
}

/**
 * The transactions of one stretch of use: 1-6 entries with counts from 1 to 50, mostly small; and
 * the status reported with them (ERROR in `errorRate` of them, default 3 %).
 */
export function activity(random: Random, profile: DeviceProfile, errorRate?: number) {
  const entries = int(random, 1, 6);
  const out: { label: string; module: string; useCase: string; count: number; userAgent: string }[] = [];
  for (let i = 0; i < entries; i++) {
    const label = pick(random, profile.labels);
    const [module, useCases] = weighted(random, MODULES.map(([name, cases, weight]) => [[name, cases] as const, weight] as const));
    const useCase = weighted(random, useCases.map((name, at) => [name, useCases.length - at] as const));
    const count = 1 + Math.floor(random() ** 2 * 50);
    out.push({ label, module, useCase, count, userAgent: pick(random, profile.userAgents) });
  }
  const status = weighted(random, statusWeights(errorRate));
  return { transactions: out, status };
}
