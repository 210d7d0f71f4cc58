/**
 * The fault drills of `npm run drill` (drills/) at a scale the suite can afford: the fuzz
 * drill with 1,000 requests and a fixed seed, the hanging-receiver drill small, and the
 * database-outage drill in the PostgreSQL pass only (TEST_DATABASE_URL set: the binaries are
 * there), as a known failure until the server survives it. The crash drill, whose in-flight
 * verifications wait for their job's expiry (over a minute), runs only as `npm run drill --
 * crash`; test/integration/webhooks-crash.test.ts covers deliveries.
 */
import { expect, it } from 'vitest';
import { databaseOutageDrill } from '../../drills/database-outage.ts';
import { fuzzDrill } from '../../drills/fuzz.ts';
import { hangingReceiverDrill } from '../../drills/hanging-receiver.ts';
import type { DrillReport } from '../../drills/harness.ts';

/** Fails with the drill's own report, figures and server log excerpts included. */
function expectPass(report: DrillReport) {
  const text = [...report.failures, JSON.stringify(report.figures, null, 2), ...report.notes].join('\n');
  expect(report.failures, text).toEqual([]);
}

it('fuzz: 1,000 schema-generated requests, no 5xx, no canary, every error coded', async () => {
  const report = await fuzzDrill({ runs: 1000, seed: 20260523 });
  expectPass(report);
}, 60_000);

it('hanging receiver: healthy deliveries keep flowing, hung attempts time out and are retried later', async () => {
  const report = await hangingReceiverDrill({ healthy: 30, hung: 8, timeoutMs: 1000 });
  expectPass(report);
}, 60_000);

// PostgreSQL's binaries are there in the PostgreSQL pass (the drill runs a cluster of its own).
it.runIf(process.env.TEST_DATABASE_URL)(
  'database outage: clean failures while PostgreSQL is down, full recovery after',
  async () => {
    const report = await databaseOutageDrill({ outageMs: 10_000, concurrency: 4 });
    expect(report.skipped).toBeUndefined();
    expectPass(report);
  },
  90_000,
);
