/**
 * Row-security transactions of raw statements (src/db/raw-transaction.ts), on the embedded database
 * and, under `npm run test:postgres`, on a server: one tenant per transaction however many run at
 * once, nothing left on a connection, rollback when the work throws or a statement fails, the
 * statements reported, and recovery when the server closes the connections under a transaction.
 * The values and types of the rows they return: test/integration/update-statements.test.ts.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/errors.ts';
import { poolTransactions, type RawTx } from '../../src/db/raw-transaction.ts';
import { forTenant } from '../../src/db/tenant.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';

const TENANTS = ['raw-a', 'raw-b', 'raw-c'];
let server: TestServer;
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer({ WORKER: 'false' });
  for (const [n, tenant] of TENANTS.entries()) {
    const row = await forTenant(server.app.database.prisma, tenant).integration.create({
      data: { tenantId: tenant, provider: 'openai', inboundToken: `raw-transaction-${n}`, metadata: { n } },
    });
    ids[tenant] = row.id;
  }
}, 60_000);

afterAll(() => server?.close());

const run = <T>(tenant: string, fn: (tx: RawTx) => Promise<T>) => server.app.services.transactions.run(tenant, fn);
const visible = (tx: RawTx) => tx.$queryRawUnsafe<{ tenantId: string }[]>('SELECT "tenantId" FROM "Integration"');
const metadata = async (tenant: string) =>
  (await forTenant(server.app.database.prisma, tenant).integration.findUniqueOrThrow({ where: { id: ids[tenant]! } })).metadata;

it('shows one tenant’s rows in each of many transactions at once, and leaves no tenant on a connection', async () => {
  const tenants = Array.from({ length: 45 }, (_, i) => TENANTS[i % 3]!);
  const seen = await Promise.all(tenants.map((tenant) => run(tenant, visible)));
  seen.forEach((rows, i) => {
    expect(rows).toEqual([{ tenantId: tenants[i] }]);
  });
  // the setting was local to each transaction: statements after it name no tenant and see no row
  const after = await Promise.all(
    Array.from({ length: 12 }, () =>
      server.app.services.reader.read<{ t: string | null }>(`SELECT current_setting('app.tenant_id', true) AS t`, []),
    ),
  );
  for (const [row] of after) expect(row!.t ?? '').toBe('');
  expect(await server.app.services.reader.read('SELECT id FROM "Integration"', [])).toEqual([]);
});

it('commits what the work wrote, reports each statement, and writes other tenants’ rows never', async () => {
  const before = server.queries.length;
  const changed = await run('raw-a', async (tx) => {
    const own = await tx.$executeRawUnsafe(`UPDATE "Integration" SET "metadata" = $1::jsonb WHERE "id" = $2`, '{"n":"a"}', ids['raw-a']);
    const foreign = await tx.$executeRawUnsafe(`UPDATE "Integration" SET "metadata" = '{}'::jsonb WHERE "id" = $1`, ids['raw-b']);
    return [own, foreign];
  });
  const statements = server.queries.slice(before);
  expect(changed).toEqual([1, 0]);
  expect(await metadata('raw-a')).toEqual({ n: 'a' });
  expect(await metadata('raw-b')).toEqual({ n: 1 });
  expect(statements[0]).toMatch(/^BEGIN/);
  expect(statements[1]).toMatch(/^SELECT set_config\(/);
  expect(statements.filter((s) => s.startsWith('UPDATE'))).toHaveLength(2);
  expect(statements.at(-1)).toBe('COMMIT');
});

it('rolls back when the work throws, or a statement fails, and the next transactions run', async () => {
  await expect(
    run('raw-c', async (tx) => {
      await tx.$executeRawUnsafe(`UPDATE "Integration" SET "metadata" = '{"n":"lost"}'::jsonb WHERE "id" = $1`, ids['raw-c']);
      throw new Error('the work failed');
    }),
  ).rejects.toThrow('the work failed');
  expect(await metadata('raw-c')).toEqual({ n: 2 });

  const before = server.queries.length;
  await expect(
    run('raw-c', async (tx) => {
      await tx.$executeRawUnsafe(`UPDATE "Integration" SET "metadata" = '{"n":"lost"}'::jsonb WHERE "id" = $1`, ids['raw-c']);
      await tx.$queryRawUnsafe('SELECT 1 / 0');
    }),
  ).rejects.toMatchObject({ code: '22012' });
  expect(server.queries.slice(before).at(-1)).toBe('ROLLBACK');
  expect(await metadata('raw-c')).toEqual({ n: 2 });
  // every connection the failures touched serves again, each with its own tenant
  const seen = await Promise.all(TENANTS.flatMap((tenant) => Array.from({ length: 8 }, () => run(tenant, visible))));
  for (const rows of seen) expect(rows).toHaveLength(1);
});

it.runIf(process.env.TEST_DATABASE_URL)(
  'fails the transaction whose connection the server closes, and the next ones run (PostgreSQL)',
  async () => {
    const admin = new pg.Client({ connectionString: server.databaseUrl });
    await admin.connect();
    try {
      // its failure is taken at once, before the kill below rejects it
      const sleeping = run('raw-a', (tx) => tx.$queryRawUnsafe(`SELECT pg_sleep(30), 'raw-transaction-sleeper' AS marker`)).then(
        () => undefined,
        (err: unknown) => err,
      );
      const killed = await eventually(
        async () => {
          const { rows } = await admin.query(
            `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query LIKE '%raw-transaction-sleeper%' AND pid <> pg_backend_pid()`,
          );
          return rows.length ? rows : undefined;
        },
        10_000,
        'the sleeping transaction to start',
      );
      expect(killed).toEqual([{ ok: true }]);
      // rejected, not an uncaught error event (the process would have ended), and as the database being away
      expect(await sleeping).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(await sleeping)).toBe(true);
      // ended while idle between two statements: the next one fails the same way
      const between = await run('raw-b', async (tx) => {
        const [own] = await tx.$queryRawUnsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
        await admin.query('SELECT pg_terminate_backend($1)', [own!.pid]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return tx.$queryRawUnsafe('SELECT 1');
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(between).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(between)).toBe(true);
    } finally {
      await admin.end();
    }
    await eventually(
      async () => {
        const seen = await Promise.allSettled(TENANTS.map((tenant) => run(tenant, visible)));
        return seen.every((s, i) => s.status === 'fulfilled' && s.value[0]?.tenantId === TENANTS[i]) ? true : undefined;
      },
      10_000,
      'transactions to run again',
    );
  },
);

it('sends a first statement’s values inlined as literals and later ones as parameters, and both arrive as sent', async () => {
  const values = [`it's`, 'back\\slash \\\\ two', '$1 and $2', `E'x'`, 'ünïcödé ✓', '', 42, -1.5, true, null];
  const sql = `SELECT ${values.map((_, i) => `$${i + 1}::text AS "v${i}"`).join(', ')}`;
  const before = server.queries.length;
  const [first, second] = await run('raw-a', async (tx) => [
    (await tx.$queryRawUnsafe<Record<string, string | null>[]>(sql, ...values))[0]!,
    (await tx.$queryRawUnsafe<Record<string, string | null>[]>(sql, ...values))[0]!,
  ]);
  const expected = Object.fromEntries(values.map((v, i) => [`v${i}`, v === null ? null : String(v)]));
  expect(first).toEqual(expected);
  expect(second).toEqual(expected);
  // reported one statement at a time, whichever message carried them
  expect(server.queries.slice(before).map((s) => s.split(/[ ;]/)[0])).toEqual(['BEGIN', 'SELECT', 'SELECT', 'SELECT', 'COMMIT']);
});

it('returns int8 as BigInt and timestamp as the UTC instant, as Prisma maps raw rows', async () => {
  const [row] = await run('raw-a', (tx) =>
    tx.$queryRawUnsafe<{ small: unknown; big: unknown; at: unknown }[]>(
      `SELECT 5::int8 AS small, 9007199254740993::int8 AS big, '2026-03-29 01:30:00.123'::timestamp(3) AS at`,
    ),
  );
  expect(row).toEqual({ small: 5n, big: 9007199254740993n, at: new Date('2026-03-29T01:30:00.123Z') });
});

it.runIf(process.env.TEST_DATABASE_URL)('opens no transaction for work that sends no statement (PostgreSQL)', async () => {
  const before = server.queries.length;
  expect(await run('raw-a', async () => 'nothing sent')).toBe('nothing sent');
  await expect(
    run('raw-a', async () => {
      throw new Error('failed before any statement');
    }),
  ).rejects.toThrow('failed before any statement');
  expect(server.queries.slice(before)).toEqual([]);
});

it.runIf(process.env.TEST_DATABASE_URL)(
  'bounds a transaction at 20 s and the wait for a connection, which fails as a full pool (PostgreSQL)',
  async () => {
    const [limits] = await run('raw-a', (tx) =>
      tx.$queryRawUnsafe<{ statement: string; idle: string }[]>(
        `SELECT current_setting('statement_timeout') AS statement, current_setting('idle_in_transaction_session_timeout') AS idle`,
      ),
    );
    expect(limits).toEqual({ statement: '20s', idle: '20s' });
    // local to the transaction: the connection's next user has the server's defaults
    const after = await server.app.services.reader.read<{ statement: string }>(
      `SELECT current_setting('statement_timeout') AS statement`,
      [],
    );
    expect(after).toEqual([{ statement: '0' }]);

    // a pool of one whose connection is taken: the transaction gives up waiting, as unavailable (503)
    const pool = new pg.Pool({ connectionString: server.databaseUrl, max: 1 });
    try {
      const held = await pool.connect();
      const waiting = poolTransactions(pool, undefined, 200).run('raw-a', visible);
      const failure = await waiting.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toMatchObject({ code: 'P2024', message: 'no database connection free within 0.2 s' });
      expect(isDatabaseUnavailable(failure)).toBe(true);
      held.release();
      // the client that arrived late went back to the pool: the next transaction gets it
      expect(await poolTransactions(pool, undefined, 5_000).run('raw-a', visible)).toEqual([{ tenantId: 'raw-a' }]);
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
    }
  },
);
