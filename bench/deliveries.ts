/**
 * `npm run bench -- --only deliveries`: signed webhook deliveries per second to a local receiver,
 * as a ratio to a plain `fetch` POST loop at the same concurrency measured in the same run, and the
 * SQL statements resolveRoute costs with 1 and with 100 rules (it must not grow). Deliveries are
 * timed from a full queue (events recorded first, with the worker stopped). Settings and results:
 * docs/performance.md.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { forTenant } from '../src/db/tenant.ts';
import { createLogger } from '../src/log.ts';
import { resolveRoute } from '../src/routing/service.ts';
import { DELIVERY_CONCURRENCY, deliveryWorker } from '../src/webhooks/deliver.ts';
import { DELIVER_QUEUE } from '../src/webhooks/queue.ts';
import { createWebhook } from '../src/webhooks/service.ts';
import { benchDatabase } from './cluster.ts';
import { startProfile } from './profiler.ts';

const N = Number(process.env.BENCH_DELIVERIES ?? 2000);
const WARMUP = 300;
const CONCURRENCY = DELIVERY_CONCURRENCY; // the delivery jobs one process runs at once

let received = 0;
let onReceived: (() => void) | undefined;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200).end();
    received++;
    onReceived?.();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const port = (receiver.address() as AddressInfo).port;
const url = `http://127.0.0.1:${port}/hooks`;
const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: { message: 'x'.repeat(200) } });

async function plainLoop(): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await res.arrayBuffer();
      }
    }),
  );
  return N / ((performance.now() - started) / 1000);
}

async function deliveries(): Promise<{
  rate: number;
  recordRate: number;
  outboxStatements: number;
  database: string;
  routeStatements: number[];
  perDelivery: number;
}> {
  const config = loadConfig({
    ...process.env,
    ...(database ? { DATABASE_URL: database.url } : {}),
    PORT: '0',
    AUTH_JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256-000000',
    ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    WEBHOOK_ALLOW_HOSTS: `127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    // the delivery worker is started below, once the queue holds every job
    WORKER: 'false',
  });
  // the server's warnings, kept to explain a stall
  const warnings: string[] = [];
  const sink = new Writable({
    write: (chunk, _e, done) => {
      warnings.push(String(chunk).slice(0, 500));
      if (warnings.length > 20) warnings.shift();
      done();
    },
  });
  let statements = 0;
  const app = await createApp(config, {
    logger: createLogger('warn', sink),
    inMemory: !config.databaseUrl,
    pollingIntervalSeconds: 0.5,
    onQuery: (sql) => {
      // not transaction control, nor a driver adapter's `-- Implicit "COMMIT" query via underlying driver`
      if (!/^(?:--\s*Implicit\s*")?(BEGIN|COMMIT|ROLLBACK)\b/i.test(sql.trim())) statements++;
    },
  });
  const tenantId = `bench-${Date.now()}`;
  const viewer = { tenantId, actorId: 'bench', appId: null, scopes: new Set(), via: 'jwt' } as never;
  const scope = { viewer, db: forTenant(app.services.prisma, tenantId), services: app.services };
  await createWebhook(scope as never, { name: 'bench', url, eventTypes: ['webhook.test'] });
  /** Records `count` events, 50 per transaction: each fans out to one delivery and its job. */
  async function recordEvents(count: number) {
    for (let i = 0; i < count; i += 50) {
      await app.services.queue.transaction(scope.db, async (tx) => {
        for (let j = i; j < Math.min(count, i + 50); j++) {
          await app.services.outbox.record(
            tx,
            { tenantId, actorId: 'bench', appId: null },
            {
              type: 'webhook.test',
              subjectId: 'bench',
              data: { message: 'x'.repeat(200) },
            },
          );
        }
      });
    }
  }
  /** Runs the worker as app.ts starts it until `count` deliveries arrived, then stops it. */
  async function deliverAll(count: number) {
    received = 0;
    const done = new Promise<void>((resolve) => (onReceived = () => received >= count && resolve()));
    const consumer = app.services.queue.consume(DELIVER_QUEUE, DELIVERY_CONCURRENCY, deliveryWorker(app.services));
    // a bench that stops making progress fails, saying where it stood
    let seen = -1;
    const watchdog = setInterval(() => {
      if (received === seen) {
        console.error(`no delivery arrived for 30 s: ${received} of ${count}; the server's last warnings:\n${warnings.join('')}`);
        process.exit(1);
      }
      seen = received;
    }, 30_000);
    await done.finally(() => clearInterval(watchdog));
    await consumer.stop(10_000); // the last attempts' records
  }

  // warm-up, not measured: the code paths compiled, the query plans cached, sockets open
  await recordEvents(WARMUP);
  await deliverAll(WARMUP);

  const startStatements = statements;
  const enqueueStarted = performance.now();
  await recordEvents(N);
  const recordRate = N / ((performance.now() - enqueueStarted) / 1000);
  const outboxStatements = (statements - startStatements) / N;
  // the queue now holds all N jobs
  const started = performance.now();
  const deliveredBefore = statements;
  const profile = process.env.BENCH_PROFILE ? await startProfile() : undefined;
  await deliverAll(N);
  const rate = N / ((performance.now() - started) / 1000);
  await profile?.stop(path.join(process.env.BENCH_PROFILE!, 'deliveries.cpuprofile'));
  const perDelivery = (statements - deliveredBefore) / N;

  // resolveRoute: statements with 1 rule and with 100 rules
  const integration = await scope.db.integration.create({
    data: { tenantId, provider: 'twilio', status: 'ACTIVE', enabledCapabilities: ['send_sms'], inboundToken: `bench-${tenantId}` },
  });
  const routeStatements: number[] = [];
  for (const rules of [1, 100]) {
    const existing = await scope.db.routingRule.count({ where: { capability: 'send_sms' } });
    for (let i = existing; i < rules; i++) {
      await scope.db.routingRule.create({ data: { tenantId, capability: 'send_sms', integrationId: integration.id, priority: 100 + i } });
    }
    const before = statements;
    const chosen = await resolveRoute(scope, 'send_sms');
    if (!chosen) throw new Error('resolveRoute found nothing');
    routeStatements.push(statements - before);
  }
  await app.close();
  return { rate, recordRate, outboxStatements, database: app.database.kind, routeStatements, perDelivery };
}

const database = process.env.DATABASE_URL ? await benchDatabase(process.env.DATABASE_URL) : undefined;
await plainLoop(); // warm-up
const plainFirst = await plainLoop();
const delivered = await deliveries().finally(() => database?.drop());
const plainLast = await plainLoop();
const plain = (plainFirst + plainLast) / 2;
receiver.close();
const fmt = (n: number) => n.toFixed(0).padStart(7);
console.log(`webhook deliveries, ${N} events, concurrency ${CONCURRENCY}, database ${delivered.database}`);
console.log(`  plain fetch POST loop  ${fmt(plain)} req/s  (before ${plainFirst.toFixed(0)}, after ${plainLast.toFixed(0)})`);
console.log(`  signed deliveries      ${fmt(delivered.rate)} deliveries/s  (queued → received, each recorded with its attempt)`);
console.log(`  ratio                  ${(delivered.rate / plain).toFixed(2)}`);
console.log(`  Prisma SQL statements per delivery: ${delivered.perDelivery.toFixed(2)} (pg-boss's fetch and completion not counted)`);
console.log(
  `  events recorded        ${fmt(delivered.recordRate)} events/s  (50 per transaction, each fanned out to its delivery and job: ${delivered.outboxStatements.toFixed(1)} statements)`,
);
console.log(`resolveRoute SQL statements: ${delivered.routeStatements[0]} with 1 rule, ${delivered.routeStatements[1]} with 100 rules`);
process.exit(0);
