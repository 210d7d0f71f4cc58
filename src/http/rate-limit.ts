/**
 * RATE_LIMIT_RPM: requests per minute per tenant and per API key, counted in the database
 * (rate-limiter-flexible's Prisma store), so every instance shares the same counts. Over the
 * limit a request gets HTTP 429 with Retry-After.
 */
import { GraphQLError } from 'graphql';
import { RateLimiterPrisma, RateLimiterRes } from 'rate-limiter-flexible';
import type { Viewer } from '../auth/viewer.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';

export type RateLimit = (viewer: Viewer) => Promise<void>;

export function createRateLimit(prisma: PrismaClient, requestsPerMinute: number | undefined): RateLimit {
  if (!requestsPerMinute) return async () => {};
  const limiter = new RateLimiterPrisma({
    storeClient: prisma,
    tableName: 'rateLimit',
    keyPrefix: 'rpm',
    points: requestsPerMinute,
    duration: 60,
    clearExpiredByTimeout: false,
  });
  return async (viewer) => {
    const keys = [`tenant:${viewer.tenantId}`, ...(viewer.apiKeyId ? [`apikey:${viewer.apiKeyId}`] : [])];
    try {
      for (const key of keys) await limiter.consume(key);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw new GraphQLError(`rate limit of ${requestsPerMinute} requests per minute exceeded: retry in ${retryAfter} s`, {
        extensions: { code: 'RATE_LIMITED', http: { status: 429, headers: { 'retry-after': String(retryAfter) } } },
      });
    }
  };
}
