/**
 * The embedded database's first start and pending migrations run in a child process, not in the
 * server (src/db/migrate-apart.ts): the real `npm start` process on a new DATA_DIR, at a restart,
 * and with a migration pending that cannot apply (the server then stops with a clear line).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type ServerProcess, startServerProcess } from '../helpers/process.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const APART = 'migrating the embedded database in a child process';
/** What only the migration script logs (the server's own migration logs "applied database migrations"). */
const SCRIPT_DONE = '"msg":"migrations applied"';

let dataDir: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'icp-first-start-'));
});

afterEach(async () => {
  // a failed test leaves no process holding the data directory for the next
  await server?.stop('SIGKILL');
  server = undefined;
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const json = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

async function tenantQuery(url: string): Promise<unknown> {
  const secret = new TextEncoder().encode((await readFile(path.join(dataDir, 'jwt-secret'), 'utf8')).trim());
  const token = await new SignJWT({ tenant_id: 'first-start', scopes: ['integrations:read'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('tester')
    .setExpirationTime('5m')
    .sign(secret);
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ integrations(first: 5) { totalCount } }' }),
  });
  return res.json();
}

describe('an embedded DATA_DIR', () => {
  it('new: created and migrated by a child process, then served', async () => {
    server = await startServerProcess({ DATA_DIR: dataDir, LOG_FORMAT: 'json' }, await freePort());
    const lines = json(server.output());
    const apart = lines.findIndex((l) => l.msg === APART);
    expect(lines[apart]).toMatchObject({ reason: 'a new data directory', dataDir });
    // the child's own line, after the parent's
    expect(server.output().indexOf(SCRIPT_DONE)).toBeGreaterThan(server.output().indexOf(APART));
    // the migrated schema serves a tenant's read (the last migration's function included)
    expect(await tenantQuery(server.url)).toEqual({ data: { integrations: { totalCount: 0 } } });
    expect(await server.stop('SIGTERM')).toBe(0);
  }, 120_000);

  it('up to date at a restart: no child, one query says so', async () => {
    server = await startServerProcess({ DATA_DIR: dataDir, LOG_FORMAT: 'json' }, await freePort());
    expect(server.output()).not.toContain(APART);
    expect(server.output()).not.toContain(SCRIPT_DONE);
    expect(await tenantQuery(server.url)).toEqual({ data: { integrations: { totalCount: 0 } } });
    expect(await server.stop('SIGTERM')).toBe(0);
  }, 120_000);

  it('with a pending migration: closed, migrated by the child, and a failed migration stops the start with one clear line', async () => {
    // the first migration marked as not applied: applying it again fails, its tables exist
    const pglite = new PGlite({ dataDir });
    const [first] = (await pglite.query<{ name: string }>('SELECT min(migration_name) AS name FROM _prisma_migrations')).rows;
    await pglite.query('DELETE FROM _prisma_migrations WHERE migration_name = $1', [first!.name]);
    await pglite.close();

    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(code).toBe(1);
    expect(json(output).find((l) => l.msg === APART)).toMatchObject({ reason: '1 pending migration(s)' });
    const last = json(output).at(-1)!;
    expect(last.level).toBe('fatal');
    expect(JSON.stringify(last)).toMatch(
      /the embedded database's migration \(src\/scripts\/migrate\.ts\) failed with 1: its log lines are above/,
    );
    // the data directory's lock went with both processes: the next start may take it
    const holder = await readFile(path.join(dataDir, 'icp.lock'), 'utf8').catch(() => undefined);
    expect(holder).toBeUndefined();
  }, 120_000);
});
