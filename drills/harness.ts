/**
 * What every fault drill shares: the report it returns (figures, failed checks), a way to start
 * the real server process with known secrets, and a small GraphQL client that times each request
 * and never throws on a bad answer (a drill classifies answers, it does not assume them).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../test/helpers/app.ts';

export interface DrillReport {
  name: string;
  /** Set when the drill could not run here (e.g. no PostgreSQL binaries); not a failure. */
  skipped?: string;
  /** What was measured, in the order it should be printed. */
  figures: Record<string, string | number>;
  /** Every check that did not hold, said precisely. Empty: PASS. */
  failures: string[];
  /** Anything worth reading next to the figures (server log excerpts on failure). */
  notes: string[];
  durationMs: number;
}

export type Drill<O = Record<string, never>> = (options?: Partial<O>) => Promise<DrillReport>;

/** Collects figures and failed checks while a drill runs. */
export class Recorder {
  readonly figures: Record<string, string | number> = {};
  readonly failures: string[] = [];
  readonly notes: string[] = [];
  private readonly started = performance.now();

  constructor(readonly name: string) {}

  figure(key: string, value: string | number): void {
    this.figures[key] = value;
  }

  check(ok: boolean, failure: string): boolean {
    if (!ok) this.failures.push(failure);
    return ok;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  report(skipped?: string): DrillReport {
    return {
      name: this.name,
      skipped,
      figures: this.figures,
      failures: this.failures,
      notes: this.notes,
      durationMs: Math.round(performance.now() - this.started),
    };
  }
}

/** The secrets drill servers run with, so a drill can sign tokens and recognise leaks. */
export const DRILL_SECRETS = { AUTH_JWT_SECRET: TEST_JWT_SECRET, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };

export function signToken(tenantId: string, secret = TEST_JWT_SECRET): Promise<string> {
  return new SignJWT({ tenant_id: tenantId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(`drill-${tenantId}`)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(secret));
}

export interface Answer {
  /** HTTP status; 0 when there was no answer (connection refused or reset, or the deadline). */
  status: number;
  body?: any;
  raw: string;
  ms: number;
  /** Why there was no answer. */
  error?: string;
}

/** POSTs a GraphQL request; never throws. */
export async function gql(
  url: string,
  token: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
  timeoutMs = 30_000,
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return send(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) }, timeoutMs);
}

/** One HTTP request, timed, classified instead of thrown. */
export async function send(url: string, init: RequestInit, timeoutMs = 30_000): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const raw = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, raw, ms: performance.now() - started };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { status: 0, raw: '', ms: performance.now() - started, error: cause ?? (err as Error).name };
  }
}

/** Polls until `check` gives a value, or returns undefined at the deadline. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const round = (n: number, digits = 0) => Number(n.toFixed(digits));

/** The last lines of a server's output, for a failure report. */
export function tail(output: string, lines = 25): string {
  return output.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Runs `n` async tasks with at most `concurrency` at once. */
export async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}
