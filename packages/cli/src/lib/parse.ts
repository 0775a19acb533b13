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

/**
 * A lifetime with its unit: `90d`, `12h`, `30m`, `3600s`, `2w` (or combined, `1d12h`) → seconds.
 * A bare number is refused: `--expires 90` read as 90 seconds made tokens that died at once, while
 * whoever typed it meant 90 days.
 */
export function parseLifetime(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    throw new InvalidArgumentError(`a lifetime needs a unit: ${trimmed}d (days), ${trimmed}h (hours), ${trimmed}m (minutes) or ${trimmed}s (seconds)`);
  }
  try {
    return parseDuration(trimmed);
  } catch {
    throw new InvalidArgumentError('expected a lifetime with a unit such as 90d, 12h, 30m, 3600s or 2w');
  }
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

/** `--since`: an ISO-8601 time (or day), or a duration back from now such as `24h` or `7d`. */
export type Since = { at: string } | { ago: number };

export function parseSince(text: string): Since {
  const trimmed = text.trim();
  // A bare number is a duration in seconds, as everywhere else; a time has a '-' or a 'T'.
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const time = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00:00Z` : trimmed);
    if (Number.isNaN(time)) throw new InvalidArgumentError('expected an ISO-8601 time such as 2026-01-31T00:00:00Z, or a duration such as 24h or 7d');
    return { at: new Date(time).toISOString() };
  }
  try {
    return { ago: parseDuration(trimmed) };
  } catch {
    throw new InvalidArgumentError('expected an ISO-8601 time such as 2026-01-31T00:00:00Z, or a duration such as 24h or 7d');
  }
}

/** The UTC time a `--since` value means, `now` being the context's clock. */
export function sinceTime(since: Since, now: Date): string {
  return 'at' in since ? since.at : new Date(now.getTime() - since.ago * 1000).toISOString();
}
