/**
 * Start-up mistakes as an operator meets them, in the real `npm start` process: every bad setting
 * one line before anything is opened, an unreachable PostgreSQL retried and then given up, a
 * refused login not retried, a SIGTERM during those retries obeyed at once, one process per
 * embedded DATA_DIR (a dead holder's lock taken over), and the log format (pretty or JSON, secrets
 * redacted in both).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/db/data-dir-lock.ts';
import { createLogger } from '../../src/log.ts';
import { freePort, type ServerProcess, startServerProcess } from '../helpers/process.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const KEY = Buffer.alloc(32, 9).toString('base64');
const JWT_SECRET = 'startup-errors-jwt-secret-0123456789abcdef';
const PASSWORD = 'HUNTER2-db-password';
/** A stack trace's frame line, as Node prints it. */
const STACK_FRAME = /^\s+at .+[(:]\d+/m;

interface Exit {
  code: number | null;
  output: string;
}

let scratch: string;

/** Runs `file` (the server by default) with only `env`, to its exit; killed after 60 s so a hang fails instead of stalling. */
function run(env: Record<string, string>, file = 'src/server.ts'): Promise<Exit> & { child: ChildProcess } {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<Exit>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, output });
    }),
  );
  return Object.assign(done, { child });
}

const lines = (output: string) => output.split('\n').filter((line) => line.trim());

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'icp-startup-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('configuration mistakes', () => {
  it('a short ENCRYPTION_KEY: one line naming it, exit 2, before the data directory is touched', async () => {
    const dataDir = path.join(scratch, 'short-key');
    const { code, output } = await run({ ENCRYPTION_KEY: 'shortSECRET', DATA_DIR: dataDir, PORT: String(await freePort()) });
    expect(code).toBe(2);
    expect(lines(output)).toEqual([
      'invalid configuration:',
      expect.stringMatching(/^ {2}ENCRYPTION_KEY: expected 32 bytes in base64 .*got \d+ bytes$/),
    ]);
    expect(output).not.toContain('shortSECRET');
    expect(output).not.toMatch(STACK_FRAME);
    expect(output).not.toMatch(/migration/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('several bad settings: one line each, every one named, no secret value', async () => {
    const { code, output } = await run({
      PORT: 'eighty',
      HOST: 'http://0.0.0.0',
      LOG_FORMAT: 'yaml',
      ENCRYPTION_KEYS: `a:${KEY},b:not-a-KEY-value`,
      DATABASE_URL: `postgres://app:${PASSWORD}@db.invalid:5432/icp`,
      AUTH_JWT_SECRET: 'tooShortJwtSECRET',
      WEBHOOK_RETRY_SCHEDULE: '5s,later',
      GRAPHQL_INTROSPECTION: 'maybe',
      DATA_DIR: path.join(scratch, 'several'),
    });
    expect(code).toBe(2);
    const problems = lines(output).slice(1);
    expect(problems.map((line) => line.trim().split(':')[0]).sort()).toEqual(
      [
        'AUTH_JWT_SECRET',
        'ENCRYPTION_KEYS entry 2',
        'GRAPHQL_INTROSPECTION',
        'HOST',
        'LOG_FORMAT',
        'PORT',
        'WEBHOOK_RETRY_SCHEDULE',
      ].sort(),
    );
    for (const secret of ['not-a-KEY-value', 'tooShortJwtSECRET', PASSWORD]) expect(output).not.toContain(secret);
    expect(output).not.toMatch(STACK_FRAME);
  });

  it('DATABASE_URL without a key or a JWT secret: said at once, without trying to connect', async () => {
    const { code, output } = await run({ DATABASE_URL: `postgres://nobody:${PASSWORD}@127.0.0.1:1/x`, PORT: String(await freePort()) });
    expect(code).toBe(2);
    expect(
      lines(output)
        .slice(1)
        .map((line) => line.trim().split(':')[0]),
    ).toEqual(['ENCRYPTION_KEY', 'AUTH_JWT_SECRET or AUTH_JWKS_URL']);
    expect(output).not.toMatch(/unreachable|Code: `N\/A`/);
    expect(output).not.toContain(PASSWORD);
  });
});

describe('a PostgreSQL server that cannot be used', () => {
  const serverEnv = async (databaseUrl: string, connectSeconds: string) => ({
    DATABASE_URL: databaseUrl,
    DATABASE_CONNECT_TIMEOUT_SECONDS: connectSeconds,
    ENCRYPTION_KEY: KEY,
    AUTH_JWT_SECRET: JWT_SECRET,
    PORT: String(await freePort()),
  });

  it('unreachable: a line per retry naming host:port, then a clear last line and a non-zero exit', async () => {
    const closed = await freePort(); // bound and released: nothing listens there
    const { code, output } = await run(await serverEnv(`postgres://app:${PASSWORD}@127.0.0.1:${closed}/icp`, '3'));
    expect(code).toBe(1);
    const logged = lines(output).map((line) => JSON.parse(line) as { level: string; msg: string; err?: { message: string } });
    const retries = logged.filter((entry) => entry.level === 'warn');
    expect(retries.length).toBeGreaterThanOrEqual(2);
    for (const entry of retries) {
      expect(entry.msg).toMatch(
        new RegExp(`^DATABASE_URL: PostgreSQL at 127\\.0\\.0\\.1:${closed} is unreachable \\(ECONNREFUSED\\); retrying in `),
      );
    }
    const last = logged.at(-1)!;
    expect(last.level).toBe('fatal');
    expect(last.err?.message).toMatch(
      new RegExp(`^DATABASE_URL: PostgreSQL at 127\\.0\\.0\\.1:${closed} is unreachable \\(ECONNREFUSED\\) after \\d+ attempts`),
    );
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toMatch(/\\n\s+at /); // no stack in the JSON line either
  });

  it('SIGTERM while it retries stops the process at once, exit 0 (src/process.ts, stopWhileStarting)', async () => {
    const closed = await freePort();
    // 60 s of retries: only the signal can end this run within the bound below
    const server = run(await serverEnv(`postgres://app:${PASSWORD}@127.0.0.1:${closed}/icp`, '60'));
    const firstRetry = new Promise<void>((resolve) => {
      // a line may arrive split across chunks
      let seen = '';
      server.child.stdout!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('is unreachable (ECONNREFUSED); retrying in')) resolve();
      });
    });
    await Promise.race([firstRetry, server.then(({ output }) => Promise.reject(new Error(`exited before retrying: ${output}`)))]);
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const { code, output } = await server;
    expect(Date.now() - signalled).toBeLessThan(5_000);
    expect(code).toBe(0);
    const last = JSON.parse(lines(output).at(-1)!) as { level: string; msg: string; signal: string };
    expect(last).toMatchObject({ level: 'info', signal: 'SIGTERM', msg: 'stopped while starting (nothing was served yet)' });
    expect(output).not.toMatch(/"level":"fatal"|could not start/);
    expect(output).not.toContain(PASSWORD);
  });

  describe('a server that answers with an error', () => {
    let fake: Server;
    let port: number;
    let connections = 0;
    let answer = { code: '28P01', message: 'password authentication failed for user "app"' };

    beforeAll(async () => {
      // just enough of the PostgreSQL protocol: whatever the client sends first, an ErrorResponse
      fake = createServer((socket) => {
        connections++;
        socket.once('data', () => {
          const fields = Buffer.from(`SFATAL\0VFATAL\0C${answer.code}\0M${answer.message}\0\0`);
          const length = Buffer.alloc(4);
          length.writeInt32BE(fields.length + 4);
          socket.end(Buffer.concat([Buffer.from('E'), length, fields]));
        });
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      port = (fake.address() as { port: number }).port;
    });

    afterAll(async () => {
      await new Promise((resolve) => fake?.close(resolve));
    });

    it.each([
      ['28P01', 'password authentication failed for user "app"', /refused the login: .*\(28P01\); check the user name and password/],
      ['3D000', 'database "icp" does not exist', /database "icp" does not exist on PostgreSQL at .* \(3D000\); create it/],
    ])('%s is not retried: one attempt, one clear line, exit 1', async (code, message, expected) => {
      answer = { code, message };
      connections = 0;
      const result = await run(await serverEnv(`postgres://app:${PASSWORD}@127.0.0.1:${port}/icp`, '60'));
      expect(result.code).toBe(1);
      expect(connections).toBe(1);
      expect(result.output).not.toMatch(/retrying/);
      const last = JSON.parse(lines(result.output).at(-1)!) as { err: { message: string } };
      expect(last.err.message).toMatch(/^DATABASE_URL: /);
      expect(last.err.message).toMatch(expected);
      expect(result.output).not.toContain(PASSWORD);
    });
  });
});

describe('one process per embedded DATA_DIR', () => {
  let dataDir: string;
  let first: ServerProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(scratch, 'shared-'));
    first = await startServerProcess({ DATA_DIR: dataDir }, await freePort());
  });

  afterAll(async () => {
    await first?.stop('SIGKILL');
  });

  it('a second server on it is refused, naming the holder, and the first keeps serving', async () => {
    const holder = JSON.parse(await readFile(path.join(dataDir, LOCK_FILE), 'utf8')) as { pid: number };
    expect(holder.pid).toBe(first!.child.pid);
    const second = await run({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    expect(second.code).toBe(1);
    expect(second.output).toContain(`DATA_DIR ${dataDir} is in use by process ${first!.child.pid} (node src/server.ts, since `);
    expect(second.output).not.toMatch(STACK_FRAME);
    expect((await fetch(`${first!.url}/readyz`)).status).toBe(200);
  });

  it('so is keys:rotate, before it migrates or rotates anything', async () => {
    const rotate = await run({ DATA_DIR: dataDir }, 'src/scripts/rotate-keys.ts');
    expect(rotate.code).toBe(1);
    expect(rotate.output).toContain(`is in use by process ${first!.child.pid}`);
    expect(rotate.output).not.toMatch(/rotating data keys/);
    expect((await fetch(`${first!.url}/readyz`)).status).toBe(200);
  });

  it('a lock left by a killed process is taken over; a stopped one leaves none', async () => {
    await first!.stop('SIGKILL');
    const left = JSON.parse(await readFile(path.join(dataDir, LOCK_FILE), 'utf8')) as { pid: number };
    expect(left.pid).toBe(first!.child.pid); // SIGKILL runs no exit handler: the lock stays, its process gone
    first = await startServerProcess({ DATA_DIR: dataDir }, await freePort());
    const taken = JSON.parse(await readFile(path.join(dataDir, LOCK_FILE), 'utf8')) as { pid: number };
    expect(taken.pid).toBe(first.child.pid);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
    first = undefined;
  });

  it('a lock file naming a pid that no longer runs is taken over', async () => {
    const dead = run({ DATA_DIR: path.join(scratch, 'never-used'), PORT: 'x' }); // exits at once (PORT), leaving its pid free
    await dead;
    const stale = { pid: dead.child.pid, hostname: 'elsewhere', command: 'npm start', since: '2026-01-01T00:00:00.000Z', token: 'old' };
    await writeFile(path.join(dataDir, LOCK_FILE), JSON.stringify(stale));
    first = await startServerProcess({ DATA_DIR: dataDir }, await freePort());
    const holder = JSON.parse(await readFile(path.join(dataDir, LOCK_FILE), 'utf8')) as { pid: number };
    expect(holder.pid).toBe(first.child.pid);
  });
});

describe('log format', () => {
  const unreachable = async (format?: string) =>
    run({
      ...(format ? { LOG_FORMAT: format } : {}),
      DATABASE_URL: `postgres://app@127.0.0.1:${await freePort()}/icp`,
      DATABASE_CONNECT_TIMEOUT_SECONDS: '0',
      ENCRYPTION_KEY: KEY,
      AUTH_JWT_SECRET: JWT_SECRET,
      PORT: String(await freePort()),
    });

  it('JSON lines when stdout is not a terminal; LOG_FORMAT=pretty forces readable lines', async () => {
    const json = await unreachable();
    expect(json.code).toBe(1);
    for (const line of lines(json.output)) expect(() => JSON.parse(line), line).not.toThrow();

    const pretty = await unreachable('pretty');
    expect(pretty.code).toBe(1);
    expect(pretty.output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: starting: readiness at \/readyz$/m);
    expect(pretty.output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] FATAL: could not start$/m);
    expect(pretty.output).toMatch(
      /"message": "DATABASE_URL: PostgreSQL at 127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\) after 1 attempt over/,
    );
    expect(lines(pretty.output).some((line) => line.startsWith('{'))).toBe(false);
  });

  it('redaction applies in both formats', () => {
    for (const format of ['json', 'pretty'] as const) {
      let written = '';
      const sink = new Writable({
        write(chunk, _encoding, done) {
          written += String(chunk);
          done();
        },
      });
      const logger = createLogger('info', sink, format);
      logger.info({ req: { headers: { authorization: 'Bearer CANARY-token' } }, credentials: { apiKey: 'CANARY-key' } }, 'request');
      expect(written, format).toContain('[redacted]');
      expect(written, format).not.toContain('CANARY');
      expect(written.trimStart().startsWith('{'), format).toBe(format === 'json');
    }
  });
});
