/**
 * SSRF guard for outbound webhook URLs: every address the host resolves to must be globally
 * routable unicast (ipaddr.js's special ranges, RFC 6890), and those addresses are returned so the
 * sender connects to exactly them (no DNS rebinding in between). Also refused: IPv4 embedded in
 * IPv6 in any form, IPv6 outside 2000::/3, URLs over 2048 characters, port 0; WEBHOOK_ALLOW_HOSTS
 * exempts hosts. Reasons: docs/security-model.md ("Outbound requests").
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;
export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };
export type UrlCheck = { ok: true; url: URL; addresses: ResolvedAddress[] } | { ok: false; reason: string };

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const INVALID = 'not a valid IP address';

/** ipaddr.js range name → how a reason shown to the API user names it. */
const RANGE_TEXT: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private address',
  reserved: 'a reserved address',
  uniqueLocal: 'a unique local address',
  rfc6145: 'an IPv4-translated address',
  rfc6052: 'a NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
  deprecatedSiteLocal: 'a site-local address',
  benchmarking: 'a benchmarking address',
};

/** Why `ip` may not be reached ("a private address"), or null when it may. */
function refusal(ip: string): string | null {
  // node:net's parser is the one connect() uses, so lenient spellings ipaddr.js would accept
  // ("127.1", "0x7f000001") cannot be classified as one address and connected as another.
  if (isIP(ip) === 0) return INVALID;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(ip);
  } catch {
    return INVALID; // e.g. a zone id node:net accepts and ipaddr.js does not
  }
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) {
      const v4 = v6.toIPv4Address().toString();
      const inner = refusal(v4);
      return `an IPv4-mapped address of ${v4}${inner ? `, ${inner}` : ''}`;
    }
  }
  const range = addr.range();
  if (range !== 'unicast') return RANGE_TEXT[range] ?? `a special-purpose address (${range})`;
  if (addr.kind() === 'ipv6' && !addr.match(GLOBAL_UNICAST_V6)) return 'not a global unicast address';
  return null;
}

/** Only globally routable unicast addresses are allowed; anything unparsable is refused. */
export function classifyAddress(ip: string): AddressVerdict {
  const why = refusal(ip);
  return why === null ? { allowed: true } : { allowed: false, reason: `${ip} is ${why}` };
}

/**
 * WEBHOOK_ALLOW_HOSTS (keys `host` or `host:port`, host as `URL.hostname` spells it; parsed in
 * src/config-values.ts): an entry with a port exempts exactly that host and port, one without
 * exempts the host on the scheme's default port only (80 for http, 443 for https).
 */
function isExempt(url: URL, allowHosts: ReadonlySet<string>): boolean {
  // WHATWG URL drops a port equal to the scheme's default, so an empty port means the default.
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowHosts.has(`${url.hostname}:${port}`) || (url.port === '' && allowHosts.has(url.hostname));
}

/** How long a webhook host may take to resolve; a stuck resolver must not hold a worker. */
const LOOKUP_TIMEOUT_MS = 5000;

async function lookupAll(host: string): Promise<ResolvedAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('lookup timed out'), { code: 'ETIMEOUT' })), LOOKUP_TIMEOUT_MS);
  });
  try {
    const found = await Promise.race([dns.lookup(host, { all: true, verbatim: true }), timeout]);
    return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
  } finally {
    clearTimeout(timer);
  }
}

const refuse = (reason: string): UrlCheck => ({ ok: false, reason });

/** Longer URLs are refused by common servers and proxies, and would be stored and sent with every attempt. */
export const MAX_URL_LENGTH = 2048;

/**
 * Checks a webhook URL and returns the addresses the sender must connect to. Reasons are short
 * and safe to show the API user. Exempt targets (see isExempt) are resolved but not
 * classified.
 */
export async function checkWebhookUrl(raw: string, allowHosts: ReadonlySet<string>, resolve: Resolver = lookupAll): Promise<UrlCheck> {
  const tooLong = refuse(`URL must be at most ${MAX_URL_LENGTH} characters`);
  if (raw.length > MAX_URL_LENGTH) return tooLong;
  let url: URL;
  try {
    // Also normalises decimal, octal and hex IPv4 hosts (2130706433, 0x7f.1) to dotted form.
    url = new URL(raw);
  } catch {
    return refuse('URL is not valid');
  }
  // percent-encoding (of non-ASCII characters, spaces…) can lengthen what is sent
  if (url.href.length > MAX_URL_LENGTH) return tooLong;
  // WHATWG refuses ports over 65535 but takes 0, which no receiver listens on
  if (url.port === '0') return refuse('URL port must be from 1 to 65535');
  // WHATWG gives every http(s) URL a non-empty host (`http://` does not parse), so no host check.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refuse('URL must use http or https');
  if (url.username || url.password) return refuse('URL must not contain a username or password');
  const exempt = isExempt(url, allowHosts);

  const literal = ipLiteral(url.hostname);
  if (literal) {
    const verdict: AddressVerdict = exempt ? { allowed: true } : classifyAddress(literal.address);
    return verdict.allowed ? { ok: true, url, addresses: [literal] } : refuse(verdict.reason);
  }

  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(url.hostname);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    return refuse(`${url.hostname} could not be resolved${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  if (addresses.length === 0) return refuse(`${url.hostname} does not resolve to any address`);
  if (!exempt) {
    for (const { address } of addresses) {
      const why = refusal(address);
      if (why) return refuse(`${url.hostname} resolves to ${address}, ${why}`);
    }
  }
  return { ok: true, url, addresses };
}

function ipLiteral(hostname: string): ResolvedAddress | null {
  if (hostname.startsWith('[')) return { address: hostname.slice(1, -1), family: 6 };
  return isIP(hostname) === 4 ? { address: hostname, family: 4 } : null;
}
