/**
 * The batching consumer of high-volume queues (src/jobs/consumer.ts) on the real pg-boss of a
 * running server: slots, a job that hangs, a job that throws, and shutdown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobConsumer } from '../../src/jobs/consumer.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

let queues = 0;
/** A queue of its own per test: retried once, at once. */
async function newQueue(): Promise<string> {
  const name = `consumer-test-${++queues}`;
  await server.app.services.queue.boss.createQueue(name, { name, retryLimit: 1, retryDelay: 0, expireInSeconds: 60 });
  return name;
}

async function sendJobs(name: string, keys: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const key of keys) ids.push((await server.app.services.queue.boss.send(name, { key }))!);
  return ids;
}

const stateOf = async (name: string, id: string) => (await server.app.services.queue.boss.getJobById(name, id))?.state;

/** A promise and the function that settles it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('JobConsumer', () => {
  it('runs at most `concurrency` jobs at once, and a job that hangs holds only its own slot', async () => {
    const name = await newQueue();
    const hang = gate();
    const done: string[] = [];
    let running = 0;
    let most = 0;
    const consumer: JobConsumer<{ key: string }> = server.app.services.queue.consume<{ key: string }>(name, 3, async (job) => {
      running++;
      most = Math.max(most, running);
      try {
        if (job.data.key === 'hangs') await hang.opened;
        else await new Promise((resolve) => setTimeout(resolve, 20));
        done.push(job.data.key);
      } finally {
        running--;
      }
    });
    const ids = await sendJobs(name, ['hangs', ...Array.from({ length: 12 }, (_, i) => `quick-${i}`)]);
    server.app.services.queue.wake(name);
    // every quick job ends while the hanging one still holds its slot
    await eventually(async () => (done.length === 12 ? true : undefined), 20_000, 'the quick jobs to finish');
    expect(done).not.toContain('hangs');
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
    hang.open();
    await eventually(async () => (done.includes('hangs') ? true : undefined), 10_000, 'the hanging job to finish');
    for (const id of ids)
      await eventually(async () => ((await stateOf(name, id)) === 'completed' ? true : undefined), 10_000, `job ${id} completed`);
    await consumer.stop(5_000);
  });

  it('lets a job release its slot while it finishes: the next jobs start, it is completed only when it returns, and at most `concurrency` are released', async () => {
    const name = await newQueue();
    const finish = gate();
    const started: string[] = [];
    let held = 0;
    let mostHeld = 0;
    const consumer = server.app.services.queue.consume<{ key: string }>(name, 2, async (job, control) => {
      started.push(job.data.key);
      held++;
      mostHeld = Math.max(mostHeld, held);
      // the slot is free at once; the job itself ends only when the gate opens
      control.releaseSlot();
      control.releaseSlot(); // twice is once
      await finish.opened;
      held--;
    });
    const ids = await sendJobs(name, ['a', 'b', 'c', 'd', 'e', 'f']);
    server.app.services.queue.wake(name);
    // two slots, each released: two more jobs start, and no more (two released is the bound)
    await eventually(async () => (started.length === 4 ? true : undefined), 10_000, 'four jobs to start');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(started).toHaveLength(4);
    expect(mostHeld).toBe(4);
    // none of them is completed while it runs
    for (const id of ids) expect(await stateOf(name, id)).not.toBe('completed');
    finish.open();
    for (const id of ids)
      await eventually(async () => ((await stateOf(name, id)) === 'completed' ? true : undefined), 10_000, `job ${id} completed`);
    expect(started.sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    await consumer.stop(5_000);
  });

  it('fails a job whose handler throws back to the queue, which runs it again', async () => {
    const name = await newQueue();
    const runs: number[] = [];
    const consumer = server.app.services.queue.consume<{ key: string }>(name, 4, async () => {
      runs.push(Date.now());
      if (runs.length === 1) throw new Error('first run fails');
    });
    const [id] = await sendJobs(name, ['flaky']);
    server.app.services.queue.wake(name);
    await eventually(async () => ((await stateOf(name, id!)) === 'completed' ? true : undefined), 20_000, 'the retried job to complete');
    expect(runs).toHaveLength(2);
    expect(server.logs.join('')).toContain('job failed; the queue retries it');
    await consumer.stop(5_000);
  });

  it('stop() waits for running jobs up to its timeout, then hands the rest back for a retry at once', async () => {
    const name = await newQueue();
    const hang = gate();
    const started: string[] = [];
    const consumer = server.app.services.queue.consume<{ key: string }>(name, 4, async (job) => {
      started.push(job.data.key);
      if (job.data.key === 'hangs') await hang.opened;
    });
    const [hangs, quick] = await sendJobs(name, ['hangs', 'quick']);
    server.app.services.queue.wake(name);
    await eventually(async () => (started.length === 2 ? true : undefined), 10_000, 'both jobs to start');
    const before = Date.now();
    await consumer.stop(300);
    expect(Date.now() - before).toBeGreaterThanOrEqual(250);
    expect(await stateOf(name, quick!)).toBe('completed');
    // failed back with a retry left: pg-boss offers it again
    expect(await stateOf(name, hangs!)).toBe('retry');
    hang.open();
    // a job that ends after stop() gave up on it changes nothing
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await stateOf(name, hangs!)).toBe('retry');
    // another consumer takes it
    const again: string[] = [];
    const next = server.app.services.queue.consume<{ key: string }>(name, 1, async (job) => void again.push(job.data.key));
    server.app.services.queue.wake(name);
    await eventually(
      async () => ((await stateOf(name, hangs!)) === 'completed' ? true : undefined),
      10_000,
      'the handed-back job to complete',
    );
    expect(again).toEqual(['hangs']);
    await next.stop(5_000);
  });
});
