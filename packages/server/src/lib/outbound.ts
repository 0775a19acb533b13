import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch, type Response } from 'undici';

// Which addresses DS may connect to on behalf of what operators saved (installer origins; webhooks
// next), and a fetch that keeps to it.
//
// The rule is enforced on the connection actually made, not on a look-up beforehand: the sockets of
// `outboundFetch` resolve names through `checkedLookup`, which checks every address the name has
// and hands the socket only checked ones, so a name that resolves to a public address when it is
// checked and to 127.0.0.1 a moment later (DNS rebinding) still cannot reach loopback. Literal
// addresses never reach a look-up (Node connects to them directly), so each URL's host is judged
// before the request, and every redirect hop is followed by hand and judged the same way.
//
// undici (the npm package of the client Node's own fetch is built on) because its Agent takes the
// socket's `lookup`; Node's bundled copy cannot be imported.

/** Why an address is no destination for DS, in words an operator reads in a message. */
export type AddressClass =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared (CGNAT)'
  | 'link-local'
  | 'unique-local'
  | 'site-local'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'benchmarking'
  | 'IETF protocol assignments';

const PHRASE: Record<AddressClass, string> = {
  unspecified: 'the unspecified address',
  loopback: 'a loopback address',
  private: 'a private address',
  'shared (CGNAT)': 'a shared (CGNAT) address',
  'link-local': 'a link-local address',
  'unique-local': 'a unique-local address',
  'site-local': 'a site-local address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  benchmarking: 'a benchmarking address',
  'IETF protocol assignments': 'an IETF protocol assignments address',
};

/** An address and its family, as the resolver answers. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

// ------------------------------------------------------------------------------------ addresses

function ipv4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address (`isIP` said it is one; a zone such as `%eth0` is dropped). */
function ipv6Bytes(text: string): number[] {
  let s = text.split('%', 1)[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = ipv4Bytes(dotted[1]!);
    s = `${s.slice(0, dotted.index)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

interface Block {
  bytes: number[];
  bits: number;
  class: AddressClass;
}

function block(cidr: string, cls: AddressClass): Block {
  const [address, bits] = cidr.split('/') as [string, string];
  return { bytes: isIP(address) === 4 ? ipv4Bytes(address) : ipv6Bytes(address), bits: Number(bits), class: cls };
}

function inBlock(bytes: number[], b: Block): boolean {
  for (let bit = 0; bit < b.bits; bit += 8) {
    const take = Math.min(8, b.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[bit / 8]! & mask) !== (b.bytes[bit / 8]! & mask)) return false;
  }
  return true;
}

// The most specific block first: the first match names the class.
const IPV4_BLOCKS = [
  block('255.255.255.255/32', 'broadcast'),
  block('0.0.0.0/8', 'unspecified'),
  block('10.0.0.0/8', 'private'),
  block('100.64.0.0/10', 'shared (CGNAT)'),
  block('127.0.0.0/8', 'loopback'),
  block('169.254.0.0/16', 'link-local'),
  block('172.16.0.0/12', 'private'),
  block('192.0.0.0/24', 'IETF protocol assignments'),
  block('192.168.0.0/16', 'private'),
  block('198.18.0.0/15', 'benchmarking'),
  block('224.0.0.0/4', 'multicast'),
  block('240.0.0.0/4', 'reserved'),
];

const IPV6_BLOCKS = [
  block('::/128', 'unspecified'),
  block('::1/128', 'loopback'),
  // IPv4-compatible addresses (deprecated since 2006): nothing public is served from them.
  block('::/96', 'reserved'),
  // The local-use NAT64 prefix (RFC 8215) translates to whatever IPv4 network the site has.
  block('64:ff9b:1::/48', 'private'),
  block('fc00::/7', 'unique-local'),
  block('fe80::/10', 'link-local'),
  block('fec0::/10', 'site-local'),
  block('ff00::/8', 'multicast'),
];

/** IPv6 prefixes that carry an IPv4 address in their last 32 bits, judged by that address. */
const EMBEDDING_IPV4 = [block('::ffff:0:0/96', 'reserved'), block('64:ff9b::/96', 'reserved')];

/**
 * The class of an IP address DS must not connect to (loopback, private, link-local, unique-local,
 * CGNAT, multicast, ...), or null for a public address. IPv4-mapped (`::ffff:a.b.c.d`) and NAT64
 * (`64:ff9b::a.b.c.d`) addresses are judged by the IPv4 address they carry. Throws on a string that
 * is not an IP address.
 */
export function addressClass(address: string): AddressClass | null {
  const family = isIP(address);
  if (family === 4) return IPV4_BLOCKS.find((b) => inBlock(ipv4Bytes(address), b))?.class ?? null;
  if (family !== 6) throw new TypeError(`${address} is not an IP address`);
  const bytes = ipv6Bytes(address);
  if (EMBEDDING_IPV4.some((b) => inBlock(bytes, b))) return addressClass(bytes.slice(12).join('.'));
  return IPV6_BLOCKS.find((b) => inBlock(bytes, b))?.class ?? null;
}

// ------------------------------------------------------------------------------------ the policy

/** Which addresses an outbound request may reach, and how names are resolved. */
export interface OutboundPolicy {
  /** Why DS must not connect to `address`, or null when it may. */
  refusal(address: string): AddressClass | null;
  /** Every address of a host name, as a socket would resolve it. */
  resolve(hostname: string): Promise<ResolvedAddress[]>;
}

/**
 * The system resolver (getaddrinfo: /etc/hosts, then DNS; what a socket would use). Policies call
 * it at each look-up, so a test can replace `resolve` (vi.spyOn) to make a name resolve anywhere.
 */
export const systemResolver = {
  resolve(hostname: string): Promise<ResolvedAddress[]> {
    return dnsLookup(hostname, { all: true, verbatim: true });
  },
};

const viaSystemResolver = (hostname: string) => systemResolver.resolve(hostname);
const PUBLIC_ONLY: OutboundPolicy = { refusal: addressClass, resolve: viaSystemResolver };
const ANY_ADDRESS: OutboundPolicy = { refusal: () => null, resolve: viaSystemResolver };

/**
 * DS's rule for every outbound request: no loopback, private, link-local, unique-local (or other
 * non-public, see `addressClass`) address, unless `allowPrivate` (DS_ALLOW_PRIVATE_ORIGINS, for
 * on-premises mirrors). One policy object per setting, so connections are pooled across requests.
 */
export function outboundPolicy(options: { allowPrivate: boolean }): OutboundPolicy {
  return options.allowPrivate ? ANY_ADDRESS : PUBLIC_ONLY;
}

/** What the setting that allows refused addresses is called, for messages to operators. */
export const ALLOW_HINT = 'DS_ALLOW_PRIVATE_ORIGINS=true allows it, for on-premises mirrors';

/** An outbound request DS would not make: its `message` says why, for operators (never for downloaders). */
export class OutboundRefusedError extends Error {
  override readonly name = 'OutboundRefusedError';
  readonly code = 'ERR_OUTBOUND_REFUSED';
  constructor(
    message: string,
    /** The class of the refused address, when an address was the reason. */
    readonly addressClass?: AddressClass,
  ) {
    super(message);
  }
}

/** The IP address a URL host (`127.0.0.1`, `[::1]`) is, or null for a name. */
function literalAddress(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) ? bare : null;
}

/** `localhost` and `*.localhost` are loopback whatever DNS says (RFC 6761 §6.3), as browsers treat them. */
const LOCALHOST_NAME = /(^|\.)localhost\.?$/i;
const LOCALHOST: ResolvedAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/** Refuses `hostname` when the policy refuses any of its addresses. */
function judge(hostname: string, addresses: ResolvedAddress[], policy: OutboundPolicy): void {
  for (const { address } of addresses) {
    const refused = policy.refusal(address);
    if (refused) {
      const literal = literalAddress(hostname) !== null;
      throw new OutboundRefusedError(literal ? `${address} is ${PHRASE[refused]}` : `${hostname} resolves to ${address}, ${PHRASE[refused]}`, refused);
    }
  }
}

/** The addresses of a host that need no look-up: a literal address, or a localhost name. */
function knownAddresses(hostname: string): ResolvedAddress[] | null {
  const literal = literalAddress(hostname);
  if (literal) return [{ address: literal, family: isIP(literal) }];
  return LOCALHOST_NAME.test(hostname) ? LOCALHOST : null;
}

/**
 * Resolves a URL host to its addresses and checks every one: a name with any refused address is
 * refused (a name that also points inside is not trusted with its public addresses). Throws
 * OutboundRefusedError, or the resolver's error (ENOTFOUND and the like).
 */
export async function resolveChecked(hostname: string, policy: OutboundPolicy): Promise<ResolvedAddress[]> {
  const addresses = knownAddresses(hostname) ?? (await policy.resolve(hostname));
  judge(hostname, addresses, policy);
  if (addresses.length === 0) throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
  return addresses;
}

/**
 * Refuses a URL DS does not fetch: another scheme, or a literal address or localhost name the
 * policy refuses. Other names are judged by the connection's look-up. Needs no DNS, so it also
 * suits where DS only points at a URL (a redirect answer).
 */
export function checkUrlHost(url: URL, policy: OutboundPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundRefusedError(`${url.protocol} URLs are not fetched, only http: and https:`);
  const known = knownAddresses(url.hostname);
  if (known) judge(url.hostname, known, policy);
}

/** What checking a URL before saving it found. */
export type UrlCheck =
  | { resolved: true; addresses: ResolvedAddress[] }
  /** The name does not resolve now (not yet created, DNS down): nothing to refuse yet. */
  | { resolved: false; problem: string };

/**
 * Checks an http(s) URL when it is saved: a literal host is judged as it is; a name is resolved,
 * waiting at most `timeoutMs`, and every address judged. Throws OutboundRefusedError when the
 * policy refuses it; a name that does not resolve answers `resolved: false` (the caller decides;
 * every connection is checked again anyway).
 */
export async function checkOutboundUrl(url: string | URL, policy: OutboundPolicy, options: { timeoutMs?: number } = {}): Promise<UrlCheck> {
  const parsed = new URL(url);
  checkUrlHost(parsed, policy);
  const timeoutMs = options.timeoutMs ?? 3000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEOUT' })), timeoutMs);
    timer.unref();
  });
  try {
    return { resolved: true, addresses: await Promise.race([resolveChecked(parsed.hostname, policy), timeout]) };
  } catch (error) {
    if (error instanceof OutboundRefusedError) throw error;
    const code = (error as { code?: string }).code;
    return { resolved: false, problem: `${parsed.hostname} does not resolve (${code ?? (error as Error).message})` };
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------------------------ sockets

/**
 * A socket `lookup` that resolves through the policy, refuses the connection when any address is
 * refused, and otherwise hands the socket checked addresses only.
 */
export function checkedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, policy).then(
      (addresses) => {
        const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : undefined;
        const usable = family ? addresses.filter((a) => a.family === family) : addresses;
        const first = usable[0];
        if (!first) callback(Object.assign(new Error(`${hostname} has no IPv${family} address`), { code: 'ENOTFOUND' }), '', 0);
        else if (options.all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

const agents = new WeakMap<OutboundPolicy, Agent>();

/** One connection pool per policy, its sockets resolving through `checkedLookup`. */
function agentFor(policy: OutboundPolicy): Agent {
  let agent = agents.get(policy);
  if (!agent) {
    agent = new Agent({ connect: { lookup: checkedLookup(policy) } });
    agents.set(policy, agent);
  }
  return agent;
}

// ------------------------------------------------------------------------------------ fetch

/** What `outboundFetch` answers: undici's Response (Node's fetch Response, from the npm package). */
export type OutboundResponse = Response;

export interface OutboundInit {
  method?: string;
  headers?: Record<string, string>;
  /** A body that can be sent again (a 307/308 redirect repeats it). */
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** Redirects to follow, each hop judged like the first; 0 answers the 3xx itself. Default 5. */
  maxRedirects?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Credentials meant for one origin, dropped when a redirect leaves it (as fetch does). */
const ORIGIN_BOUND = ['authorization', 'cookie', 'proxy-authorization'];

/** The first OutboundRefusedError in an error's causes (undici wraps what a lookup failed with). */
function refusalIn(error: unknown): OutboundRefusedError | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OutboundRefusedError) return e;
  }
  return undefined;
}

/**
 * fetch for outbound requests under a policy: every hop's URL and every connection's addresses are
 * checked, redirects are followed by hand (at most `maxRedirects`, headers such as Range and
 * If-Range kept, origin-bound credentials dropped when the origin changes). Throws
 * OutboundRefusedError when the policy refuses a hop, an Error with code ERR_TOO_MANY_REDIRECTS
 * past the limit, and what fetch throws otherwise (`fetch failed`, AbortError).
 */
export async function outboundFetch(url: string | URL, policy: OutboundPolicy, init: OutboundInit = {}): Promise<Response> {
  const maxRedirects = init.maxRedirects ?? 5;
  let current = new URL(url);
  let method = (init.method ?? 'GET').toUpperCase();
  let headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  for (let hop = 0; ; hop++) {
    checkUrlHost(current, policy);
    let response: Response;
    try {
      response = await undiciFetch(current, { method, headers, body: body ?? null, redirect: 'manual', signal: init.signal ?? null, dispatcher: agentFor(policy) });
    } catch (error) {
      throw refusalIn(error) ?? error;
    }
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || location === null || maxRedirects === 0) return response;
    await response.body?.cancel().catch(() => {});
    if (hop >= maxRedirects) throw Object.assign(new Error(`more than ${maxRedirects} redirects`), { code: 'ERR_TOO_MANY_REDIRECTS' });
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw Object.assign(new Error(`a redirect to an invalid URL`), { code: 'ERR_INVALID_REDIRECT' });
    }
    // As fetch does (its "HTTP-redirect fetch"): 303 turns anything but HEAD into GET, 301/302 turn POST into GET.
    if ((response.status === 303 && method !== 'HEAD' && method !== 'GET') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !/^content-/i.test(name)));
    }
    if (next.origin !== current.origin) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !ORIGIN_BOUND.includes(name.toLowerCase())));
    current = next;
  }
}
