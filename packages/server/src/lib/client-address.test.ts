import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { requestOrigin, TrustedProxies } from './client-address.js';

describe('the client address', () => {
  const proxies = new TrustedProxies('10.0.0.0/8, 127.0.0.1, fd00::/8');

  it.each([
    ['no trusted proxy: the peer, whatever the header says', '', '192.0.2.7', '203.0.113.9', '192.0.2.7'],
    ['a peer that is not a trusted proxy: the peer', '10.0.0.0/8', '192.0.2.7', '203.0.113.9', '192.0.2.7'],
    ['a trusted peer: the client it names', '10.0.0.0/8', '10.1.2.3', '203.0.113.9', '203.0.113.9'],
    ['two trusted hops: the first address no trusted proxy wrote', '10.0.0.0/8, 127.0.0.1', '127.0.0.1', '203.0.113.9, 10.4.4.4', '203.0.113.9'],
    ['a client forging entries to the left: the address the proxy saw', '10.0.0.0/8', '10.1.2.3', '127.0.0.1, 198.51.100.1, 203.0.113.9', '203.0.113.9'],
    ['garbage in the header is skipped', '10.0.0.0/8', '10.1.2.3', 'nonsense, 203.0.113.9', '203.0.113.9'],
    ['a trusted peer without the header: the peer', '10.0.0.0/8', '10.1.2.3', undefined, '10.1.2.3'],
    ['an IPv4 peer on a dual-stack socket', '10.0.0.0/8', '::ffff:10.1.2.3', '203.0.113.9', '203.0.113.9'],
    ['IPv6 ranges', 'fd00::/8', 'fd12::1', '2001:db8::5', '2001:db8::5'],
  ])('%s', (_case, setting, peer, forwardedFor, expected) => {
    expect(requestOrigin(peer, { forwardedFor }, new TrustedProxies(setting)).address).toBe(expected);
  });

  it('believes X-Forwarded-Proto only from a trusted proxy', () => {
    expect(requestOrigin('10.1.2.3', { forwardedProto: 'https' }, proxies).https).toBe(true);
    expect(requestOrigin('192.0.2.7', { forwardedProto: 'https' }, proxies).https).toBeUndefined();
  });

  it('refuses a setting that is not addresses and ranges, naming the entry', () => {
    expect(() => loadConfig({ DS_TRUSTED_PROXIES: '10.0.0.0/8, proxy.internal' })).toThrow(/DS_TRUSTED_PROXIES: proxy.internal is not an IP address or CIDR range/);
    expect(() => loadConfig({ DS_TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/prefix length/);
  });
});
