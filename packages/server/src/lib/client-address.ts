import { BlockList, isIP } from 'node:net';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../context.js';

/**
 * The proxies whose `X-Forwarded-For` DS believes (DS_TRUSTED_PROXIES: addresses and CIDR ranges,
 * comma-separated). Anyone can send the header; only a proxy DS trusts may say who its client was.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  /** Throws an Error naming the entry that is neither an address nor a range. */
  constructor(setting: string) {
    const entries = setting.split(',').map((e) => e.trim()).filter(Boolean);
    for (const entry of entries) {
      const [address = '', bits] = entry.split('/');
      const family = isIP(address);
      if (family === 0) throw new Error(`${entry} is not an IP address or CIDR range`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(address, type);
      else {
        const prefix = Number(bits);
        if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) throw new Error(`${entry}: the prefix length must be 0 to ${family === 4 ? 32 : 128}`);
        this.list.addSubnet(address, prefix, type);
      }
    }
    this.empty = entries.length === 0;
  }

  has(address: string): boolean {
    const plain = unmapped(address);
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** `::ffff:192.0.2.1` (how Node shows IPv4 peers on a dual-stack socket) as `192.0.2.1`. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/**
 * Who sent a request: the peer of the connection, or, when the peer is a trusted proxy, the
 * rightmost address of `X-Forwarded-For` that is not itself a trusted proxy (the entries to its
 * left were written by the client and prove nothing). Also whether the client used https, from
 * `X-Forwarded-Proto` of a trusted proxy.
 */
export function requestOrigin(peer: string | undefined, headers: { forwardedFor?: string | undefined; forwardedProto?: string | undefined }, proxies: TrustedProxies) {
  const direct = peer ? unmapped(peer) : 'unknown';
  if (!peer || proxies.empty || !proxies.has(peer)) return { address: direct, https: undefined };
  const hops = (headers.forwardedFor ?? '').split(',').map((h) => unmapped(h.trim())).filter((h) => isIP(h) !== 0);
  let address = direct;
  for (let i = hops.length - 1; i >= 0; i--) {
    address = hops[i]!;
    if (!proxies.has(address)) break;
  }
  const proto = headers.forwardedProto?.split(',')[0]?.trim().toLowerCase();
  return { address, https: proto === 'https' ? true : proto === 'http' ? false : undefined };
}

/** Sets `c.var.clientAddress` (and `c.var.forwardedHttps`) once per request. */
export function clientAddressMiddleware(proxies: TrustedProxies) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
    const origin = requestOrigin(incoming?.socket?.remoteAddress, { forwardedFor: c.req.header('x-forwarded-for'), forwardedProto: c.req.header('x-forwarded-proto') }, proxies);
    c.set('clientAddress', origin.address);
    c.set('forwardedHttps', origin.https);
    await next();
  });
}

/** The client's address, for rate limits, lockouts and logs. */
export function clientAddress(c: Context): string {
  return (c.var as { clientAddress?: string }).clientAddress ?? 'unknown';
}
