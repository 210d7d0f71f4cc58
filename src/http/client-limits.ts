/**
 * Limits on what a client can make the service do before anyone is authenticated: failed
 * authentications per address (AUTH_FAILURE_LIMIT_PER_MINUTE), `/hooks/…` requests per address and
 * per integration token (HOOKS_LIMIT_PER_MINUTE), open subscription streams per address and per
 * tenant (SSE_STREAM_LIMIT_*). Fixed one-minute windows in this process's memory; 0 turns one off.
 * Why each is shaped as it is: docs/security-model.md ("Abuse").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { ClientLimitsConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { clientAddress } from './client-address.ts';

/** How long a client told "too many streams" is asked to wait: a stream slot has no window. */
const STREAM_RETRY_AFTER_SECONDS = 10;

export class LimitExceeded {
  constructor(
    readonly message: string,
    /** Whole seconds, at least 1: the Retry-After header. */
    readonly retryAfterSeconds: number,
  ) {}
}

/** A fixed-window counter per key; undefined when `points` is 0 (off). */
function perMinute(points: number, keyPrefix: string) {
  if (!points) return undefined;
  const limiter = new RateLimiterMemory({ points, duration: 60, keyPrefix });
  /** Counts one for `key`; the seconds until the window ends when that went over, else undefined. */
  return async (key: string): Promise<number | undefined> => {
    try {
      await limiter.consume(key);
      return undefined;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    }
  };
}

/** Open streams per key, at most `max` each; acquire() gives a release function, or undefined when full. */
function slots(max: number) {
  const open = new Map<string, number>();
  return (key: string): (() => void) | undefined => {
    const n = open.get(key) ?? 0;
    if (max && n >= max) return undefined;
    open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (open.get(key) ?? 1) - 1;
      if (left) open.set(key, left);
      else open.delete(key);
    };
  };
}

export interface ClientLimits {
  /** Synchronous: refused when `address` is past its failed-authentication limit. */
  authBlocked(address: string): LimitExceeded | undefined;
  /** Counts a failed authentication; refused when it took `address` past the limit. */
  authFailed(address: string): Promise<LimitExceeded | undefined>;
  /** Counts a request to `/hooks/<provider>/<token>`; refused when the address or the token is past the limit. */
  hook(address: string, token: string): Promise<LimitExceeded | undefined>;
  /** Takes a stream slot of the address (or of the tenant); a release function, or refused. */
  openStream(of: 'address' | 'tenant', key: string): (() => void) | LimitExceeded;
}

export function createClientLimits(config: ClientLimitsConfig): ClientLimits {
  const authFailures = perMinute(config.authFailuresPerMinute, 'auth-failures');
  /** Address → when its block ends (ms): the check every request pays is this lookup. */
  const blocked = new LRUCache<string, number>({ max: 100_000 });
  const hooksByAddress = perMinute(config.hooksPerMinute, 'hooks-address');
  const hooksByToken = perMinute(config.hooksPerMinute, 'hooks-token');
  const streams = { address: slots(config.sseStreamsPerIp), tenant: slots(config.sseStreamsPerTenant) };

  const tooManyFailures = (seconds: number) =>
    new LimitExceeded(`too many failed authentications from this address: retry in ${seconds} s`, seconds);

  return {
    authBlocked(address) {
      if (!authFailures || !blocked.size) return undefined;
      const until = blocked.get(address);
      if (until === undefined) return undefined;
      const ms = until - Date.now();
      if (ms <= 0) {
        blocked.delete(address);
        return undefined;
      }
      return tooManyFailures(Math.ceil(ms / 1000));
    },

    async authFailed(address) {
      const wait = await authFailures?.(address);
      if (wait === undefined) return undefined;
      blocked.set(address, Date.now() + wait * 1000);
      return tooManyFailures(wait);
    },

    async hook(address, token) {
      const wait = (await hooksByAddress?.(address)) ?? (await hooksByToken?.(token));
      return wait === undefined ? undefined : new LimitExceeded(`too many callbacks: retry in ${wait} s`, wait);
    },

    openStream(of, key) {
      const release = streams[of](key);
      if (release) return release;
      const limit = of === 'address' ? config.sseStreamsPerIp : config.sseStreamsPerTenant;
      return new LimitExceeded(
        `at most ${limit} subscription streams may be open per ${of === 'address' ? 'client address' : 'tenant'}`,
        STREAM_RETRY_AFTER_SECONDS,
      );
    },
  };
}

/** RATE_LIMITED, as RATE_LIMIT_RPM's refusals are: HTTP 429 with Retry-After, and the wait in the error. */
export function rateLimitedError(refusal: LimitExceeded): GraphQLError {
  return new GraphQLError(refusal.message, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfterSeconds: refusal.retryAfterSeconds,
      http: { status: 429, headers: { 'retry-after': String(refusal.retryAfterSeconds) } },
    },
  });
}

/** The 429 for a `/hooks` request, refused before anything is looked up: `{ error, code, retryAfterSeconds }`. */
function sendRefusal(res: ServerResponse, refusal: LimitExceeded) {
  const body = { error: refusal.message, code: 'RATE_LIMITED', retryAfterSeconds: refusal.retryAfterSeconds };
  res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(refusal.retryAfterSeconds) });
  res.end(JSON.stringify(body));
}

/** What ends a stream: an SSE response, or a WebSocket subscription (src/http/websocket.ts); its slot is given back then. */
export interface StreamEnd {
  once(event: 'close', listener: () => void): unknown;
}

/** The limits at the points of the request's life where they apply (src/http/routes.ts, src/graphql/yoga.ts). */
export interface ClientGuard {
  /** A failed authentication: the error to answer with, `unauthenticated` or 429 once past the limit. */
  authenticationFailed(req: IncomingMessage, unauthenticated: GraphQLError): Promise<GraphQLError>;
  /** When a subscription starts: a stream slot of its address and of its tenant, given back when `end` closes; else the 429 error. */
  admitStream(req: IncomingMessage, end: StreamEnd, tenantId: string): GraphQLError | undefined;
  /** Before `/hooks/<provider>/<token>` looks anything up: true when it was answered 429. */
  refusedHook(req: IncomingMessage, res: ServerResponse, token: string): Promise<boolean>;
}

export function createClientGuard(config: ClientLimitsConfig, trustedProxyHops: number, logger: Logger): ClientGuard {
  const limits = createClientLimits(config);
  let warnedOfProxy = trustedProxyHops > 0;
  const address = (req: IncomingMessage) => {
    if (!warnedOfProxy && req.headers['x-forwarded-for'] !== undefined) {
      warnedOfProxy = true;
      logger.warn(
        'a request came through a proxy (X-Forwarded-For) while TRUST_PROXY_HOPS is 0: every client behind it shares its per-address limits',
      );
    }
    return clientAddress(req, trustedProxyHops);
  };

  return {
    async authenticationFailed(req, unauthenticated) {
      const from = address(req);
      // past the limit, failures are refused without counting further
      const blocked = limits.authBlocked(from);
      if (blocked) return rateLimitedError(blocked);
      const refusal = await limits.authFailed(from);
      if (!refusal) return unauthenticated;
      logger.warn(
        { client: from, retryAfterSeconds: refusal.retryAfterSeconds },
        'client over the failed-authentication limit: its failures are refused until the minute is over',
      );
      return rateLimitedError(refusal);
    },

    admitStream(req, end, tenantId) {
      const byAddress = limits.openStream('address', address(req));
      if (byAddress instanceof LimitExceeded) return rateLimitedError(byAddress);
      const byTenant = limits.openStream('tenant', tenantId);
      if (byTenant instanceof LimitExceeded) {
        byAddress();
        return rateLimitedError(byTenant);
      }
      end.once('close', () => {
        byAddress();
        byTenant();
      });
      return undefined;
    },

    async refusedHook(req, res, token) {
      const refusal = await limits.hook(address(req), token);
      if (!refusal) return false;
      sendRefusal(res, refusal);
      return true;
    },
  };
}
