/**
 * Start-up against a PostgreSQL server that may not be up yet (containers start in any order):
 * one connection attempt, then retries with exponential backoff (1 s doubling to 30 s) for up to
 * DATABASE_CONNECT_TIMEOUT_SECONDS, a line per retry. What no wait can fix (a wrong password, a
 * missing database) fails at once. Every message names the variable and host:port, never the URL.
 */
import pg from 'pg';
import { type Logger, OperatorError, redactValues } from '../log.ts';

export class DatabaseConnectError extends OperatorError {}

export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
/** One attempt's own limit, so a host that drops packets is retried rather than waited on. */
const ATTEMPT_TIMEOUT_MS = 10_000;

/** Network failures and a server that is starting or full: worth waiting for. */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'timeout',
  'closed',
  '57P03', // cannot_connect_now: starting up or shutting down
  '53300', // too_many_connections
]);

/** The delay before retry `n` (0-based): 1 s, 2 s, 4 s … at most 30 s. */
export function retryDelayMs(n: number): number {
  return Math.min(FIRST_DELAY_MS * 2 ** n, MAX_DELAY_MS);
}

/** The driver's error code: an errno name, a SQLSTATE, or `timeout`/`closed` for pg's own messages. */
export function connectErrorCode(err: unknown): string {
  const e = err as { code?: unknown; errors?: { code?: unknown }[]; message?: string };
  const code = e.code ?? e.errors?.find((inner) => inner.code)?.code;
  if (typeof code === 'string') return code;
  if (/timeout/i.test(e.message ?? '')) return 'timeout';
  if (/terminated|closed/i.test(e.message ?? '')) return 'closed';
  return 'unknown';
}

export function isTransient(code: string): boolean {
  return TRANSIENT.has(code);
}

/** `host:port` of a connection string, as an operator would look for it. */
export function serverAddress(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    const host = url.hostname || url.searchParams.get('host') || 'localhost';
    return `${host}:${url.port || '5432'}`;
  } catch {
    return 'the server';
  }
}

function secretsOf(connectionString: string): string[] {
  try {
    const url = new URL(connectionString);
    return [url.password, decodeURIComponent(url.password), connectionString];
  } catch {
    return [connectionString];
  }
}

/** The failure that no retry fixes, said plainly. */
function refusal(label: string, target: string, code: string, message: string): string {
  if (code === '28P01' || code === '28000') {
    return `${label}: PostgreSQL at ${target} refused the login: ${message} (${code}); check the user name and password in ${label}`;
  }
  if (code === '3D000') return `${label}: ${message} on PostgreSQL at ${target} (3D000); create it, or fix the database name in ${label}`;
  return `${label}: could not connect to PostgreSQL at ${target}: ${message} (${code})`;
}

async function attempt(connectionString: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {}); // a failure after connect() settled: nothing waits on it
  try {
    await client.connect();
  } finally {
    await client.end().catch(() => {});
  }
}

export interface WaitOptions {
  logger?: Logger;
  /** How long to keep retrying, ms; 0: one attempt. */
  connectTimeoutMs?: number;
}

/** Resolves once a connection to `connectionString` succeeds; throws a DatabaseConnectError otherwise. */
export async function waitForServer(connectionString: string, label: string, options: WaitOptions = {}): Promise<void> {
  const budget = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const target = serverAddress(connectionString);
  const started = Date.now();
  const deadline = started + budget;
  for (let n = 0; ; n++) {
    try {
      await attempt(connectionString, Math.min(ATTEMPT_TIMEOUT_MS, Math.max(1000, deadline - Date.now())));
      if (n > 0) options.logger?.info({ database: target }, `${label}: PostgreSQL at ${target} is reachable`);
      return;
    } catch (err) {
      const code = connectErrorCode(err);
      const message = redactValues(String((err as Error).message ?? err), secretsOf(connectionString));
      if (!isTransient(code)) throw new DatabaseConnectError(refusal(label, target, code, message));
      const delay = Math.min(retryDelayMs(n), deadline - Date.now());
      if (delay <= 0) {
        const seconds = Math.round((Date.now() - started) / 1000);
        throw new DatabaseConnectError(
          `${label}: PostgreSQL at ${target} is unreachable (${code}) after ${n + 1} attempt${n ? 's' : ''} over ${seconds}s; check that the server runs and accepts connections there (DATABASE_CONNECT_TIMEOUT_SECONDS sets how long to retry)`,
        );
      }
      options.logger?.warn(
        { database: target, code, attempt: n + 1, retryInMs: delay },
        `${label}: PostgreSQL at ${target} is unreachable (${code}); retrying in ${(delay / 1000).toFixed(delay % 1000 ? 1 : 0)}s`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
