import { createHash } from 'node:crypto';
import { UAParser } from 'ua-parser-js';
import type { DeviceUserAgentTable } from '../db/types.js';

/** A User-Agent as a device's row keeps it. */
export type ParsedUserAgent = Omit<DeviceUserAgentTable, 'deviceId' | 'firstSeenAt' | 'lastSeenAt'>;

/** Raw User-Agent strings are kept up to this length (longer ones are cut). */
export const USER_AGENT_MAX_LENGTH = 512;
/** Distinct User-Agents kept per device (the most recently seen). */
export const USER_AGENTS_PER_DEVICE = 20;

const cache = new Map<string, ParsedUserAgent>();

/** Parses with ua-parser-js; results are cached since devices report the same few strings. */
export function parseUserAgent(raw: string): ParsedUserAgent {
  const hit = cache.get(raw);
  if (hit) return hit;
  const userAgent = raw.slice(0, USER_AGENT_MAX_LENGTH);
  const result = new UAParser(userAgent).getResult();
  const parsed: ParsedUserAgent = {
    uaHash: createHash('sha256').update(userAgent).digest('base64url').slice(0, 22),
    userAgent,
    browserName: result.browser.name ?? null,
    browserMajor: result.browser.major ?? null,
    osName: result.os.name ?? null,
    osVersion: result.os.version ?? null,
  };
  if (cache.size >= 5000) cache.clear();
  cache.set(raw, parsed);
  return parsed;
}
