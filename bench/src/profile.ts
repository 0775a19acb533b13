// Summaries of V8 CPU profiles (node --cpu-prof): self time per function, per sync.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time of one function (summed over every process profiled). */
export interface ProfileEntry {
  name: string;
  where: string;
  ms: number;
}

/** Where a function is, shortened to the package and file (`jose/…/decrypt.js:12`, `server/devices/…`). */
function location(url: string, line: number): string {
  if (!url) return '';
  const clean = url.replace(/^file:\/\//, '');
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(clean);
  const node = /node_modules\/(.*)$/.exec(clean);
  const ours = /\/packages\/([^/]+)\/dist\/(.*)$/.exec(clean);
  const short = pnpm?.[1] ?? node?.[1] ?? (ours ? `${ours[1]}/${ours[2]}` : clean.replace(/^node:/, 'node:'));
  return `${short}:${line + 1}`;
}

/**
 * Self time per function over every `.cpuprofile` in `dir`, and the total sampled time (ms), of
 * the samples taken within `window` (µs of the monotonic clock, as `process.hrtime` and V8's
 * profiles count it): the load, without start-up and setup.
 */
export function summarizeProfiles(dir: string, window: [number, number] = [0, Infinity]): { totalMs: number; entries: ProfileEntry[] } {
  const self = new Map<string, ProfileEntry>();
  let totalMs = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    let at = profile.startTime;
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      const ms = (profile.timeDeltas[i] ?? 0) / 1000;
      at += profile.timeDeltas[i] ?? 0;
      if (!node || at < window[0] || at > window[1]) return;
      const name = node.callFrame.functionName || '(anonymous)';
      // (idle) is the process waiting: not CPU time.
      if (name === '(idle)') return;
      totalMs += ms;
      const where = location(node.callFrame.url, node.callFrame.lineNumber);
      const key = `${name}\u0000${where}`;
      const entry = self.get(key) ?? { name, where, ms: 0 };
      entry.ms += ms;
      self.set(key, entry);
    });
  }
  return { totalMs, entries: [...self.values()].sort((a, b) => b.ms - a.ms) };
}

/** Self time grouped by where it is spent: the crypto library, the database driver, HTTP, DS, … */
export function byArea(entries: ProfileEntry[]): Map<string, number> {
  const area = (e: ProfileEntry): string => {
    const w = e.where;
    if (e.name === '(garbage collector)') return 'garbage collection';
    if (e.name === '(program)') return 'V8/native (program)';
    if (/^jose\//.test(w)) return 'jose (JOSE framing, WebCrypto calls)';
    if (/^node:internal\/crypto|webcrypto/.test(w) || /^(sign|verify|digest|deriveBits|encrypt|decrypt|importKey|exportKey|generateKey)/.test(e.name) && /crypto/.test(w)) return 'node crypto';
    if (/^(better-sqlite3|kysely|pg|pg-protocol|pg-pool)\//.test(w)) return 'database driver';
    if (/^(hono|@hono)\//.test(w) || /^node:(_http|http|net|internal\/http|internal\/stream|stream|internal\/streams)/.test(w) || /^node:_http/.test(w)) return 'HTTP';
    if (/^zod\//.test(w)) return 'validation (zod)';
    if (/^(server|shared)\//.test(w)) return 'DS code';
    if (/^node:/.test(w)) return 'other Node internals';
    if (!w) return 'native';
    return 'other packages';
  };
  const out = new Map<string, number>();
  for (const e of entries) out.set(area(e), (out.get(area(e)) ?? 0) + e.ms);
  return new Map([...out].sort((a, b) => b[1] - a[1]));
}
