/**
 * Who is on the other end of a request, for the per-client limits (client-limits.ts) and
 * `/metrics`: the socket's peer, or with TRUST_PROXY_HOPS the address the outermost trusted proxy
 * saw (read from the right of X-Forwarded-For). IPv4-mapped addresses count as IPv4, other IPv6
 * ones by their /64, what one subscriber holds. A request with a forwarding header is never
 * "local": a proxy on this machine makes every client look like loopback.
 */

import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const;

/** The address as limits count it: IPv4 as is, IPv6 as its /64. */
export function addressKey(address: string): string {
  if (isIP(address) === 4) return address;
  if (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) return address.slice(7);
  try {
    const parsed = ipaddr.parse(address);
    if (parsed.kind() === 'ipv4') return parsed.toString();
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
    return `${v6.parts
      .slice(0, 4)
      .map((p) => p.toString(16))
      .join(':')}::/64`;
  } catch {
    return address; // not an address (a Unix socket): counted as the string it is
  }
}

/** An X-Forwarded-For entry without the port some proxies add (`203.0.113.7:5123`, `[2001:db8::1]:5123`). */
function withoutPort(entry: string | undefined): string | undefined {
  if (!entry) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed) return bracketed[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  return v4 ? v4[1] : entry;
}

/** The client's address key for `req` (see the module comment for proxies). */
export function clientAddress(req: IncomingMessage, trustedProxyHops: number): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustedProxyHops > 0) {
    const header = req.headers['x-forwarded-for'];
    const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    // each proxy appends the peer it saw: the outermost trusted proxy's entry is `hops` from the right
    const seen = withoutPort(entries[entries.length - trustedProxyHops]);
    if (seen && isIP(seen)) return addressKey(seen);
  }
  return addressKey(peer);
}

export function isLoopback(address: string | undefined): boolean {
  if (!address || !ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'loopback';
}

/** Whether HOST binds the server to loopback only (127.0.0.0/8, ::1, or localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase() === 'localhost' || isLoopback(bare);
}

/** A client on this machine that no proxy forwarded. */
export function isLocalClient(req: IncomingMessage): boolean {
  return isLoopback(req.socket.remoteAddress) && FORWARDING_HEADERS.every((name) => req.headers[name] === undefined);
}
