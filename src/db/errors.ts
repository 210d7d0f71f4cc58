/** Prisma error codes the services turn into typed results. */
import { Prisma } from '../generated/prisma/client.ts';

/**
 * A unique index refused the write: Prisma's P2002, or a raw transaction's statement failing with
 * SQLSTATE 23505 (pg and PGlite alike) on `index` when given, so that another index's violation
 * is not taken for the one the caller means.
 */
export function isUniqueViolation(err: unknown, index?: string): boolean {
  if (err instanceof Prisma.PrismaClientKnownRequestError) return err.code === 'P2002';
  const { code, constraint } = err instanceof Error ? (err as { code?: unknown; constraint?: unknown }) : {};
  return code === '23505' && (index === undefined || constraint === index);
}

/** An update's `where` matched no row (P2025): with a version in it, someone changed the row first. */
export function isRecordMissing(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025';
}

/** Prisma's codes for a database it cannot reach, that closed the connection, or a full pool. */
const UNAVAILABLE_CODES = new Set([
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  // Node's, from a raw pg connection (src/db/row-reader.ts): Prisma maps these to P1001
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);
/** PostgreSQL's and Node's: connection failures, shutdown and restart (class 08, 57P01-57P03). */
const UNAVAILABLE_TEXT =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection terminated|terminating connection|the database system is (shutting down|starting up|in recovery)|Can't reach database|Server has closed the connection|connection (is )?closed|not queryable|\b(08\d{3}|57P0[123])\b/i;

/**
 * The database is away (restarting, failing over, unreachable) rather than the request being
 * wrong: what a client should retry. Looks through causes, as drivers wrap each other's errors.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || /^(08\d{3}|57P0[123])$/.test(code))) return true;
    if (typeof message === 'string' && UNAVAILABLE_TEXT.test(message)) return true;
    // a connection to every address of a host failed (Node's happy eyeballs): one error per address
    if (e instanceof AggregateError && e.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
  }
  return false;
}
