import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** `3600`, `90s`, `30m`, `1h`, `7d`, `2w` (or combined, `1d12h`) → seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const parts = [...trimmed.matchAll(/(\d+)\s*([smhdw])/gi)];
  const rebuilt = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || rebuilt.replace(/\s/g, '') !== trimmed.replace(/\s/g, '')) {
    throw new InvalidArgumentError('expected seconds or a duration such as 90s, 30m, 1h, 7d, 2w');
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!.toLowerCase()]!, 0);
}

/** A non-negative integer option. */
export function parseCount(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError('expected a whole number');
  return Number(text.trim());
}

/** A positive integer option (at least 1). */
export function parsePositive(text: string): number {
  const value = parseCount(text);
  if (value < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return value;
}

/** Accumulates a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Accumulates a repeatable option whose values may also be comma separated. */
export function collectList(value: string, previous: string[] | undefined): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return [...(previous ?? []), ...items];
}

/** `key=value` → `[key, value]` (the value may contain `=`). */
export function splitPair(text: string, what: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected ${what}`);
  return [text.slice(0, at).trim(), text.slice(at + 1)];
}
