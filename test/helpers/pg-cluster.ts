/**
 * A throwaway PostgreSQL cluster on 127.0.0.1: initdb in a temporary directory (trust
 * authentication, fsync off: it measures and tests the service, not this machine's disk), run as
 * the `postgres` system user when we are root (PostgreSQL refuses root), stopped and started again
 * on the same port and data when a drill asks, and removed by `destroy()`. The test suite's
 * PostgreSQL pass (test/postgres/run.ts), `npm run bench -- --postgres` and the outage drill all
 * use this one.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.ts';

/** The newest PostgreSQL server binaries, or undefined when none are installed. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? path.join(root, newest, 'bin') : undefined;
}

export interface Cluster {
  /** The `postgres` database, as the bootstrap superuser. */
  adminUrl: string;
  /** The server's major version. */
  version: string;
  /** `pg_ctl stop -m fast`: connections are terminated, new ones refused. */
  stopServer(): void;
  startServer(): void;
  /** Stops the server (if running) and removes the cluster. */
  destroy(): void;
}

/**
 * For a script's in-process test servers (the benches that take `--postgres`): a throwaway cluster
 * whose `postgres` database startTestServer makes its databases on (TEST_DATABASE_URL).
 */
export async function startClusterForTestServers(prefix: string): Promise<Cluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install -y postgresql');
  const cluster = await startCluster(bin, { prefix });
  process.env.TEST_DATABASE_URL = cluster.adminUrl;
  return cluster;
}

export interface ClusterOptions {
  /** Temporary directory name prefix. */
  prefix?: string;
  maxConnections?: number;
  /** Show initdb's and pg_ctl's output (the suite's runner does). */
  verbose?: boolean;
}

export async function startCluster(bin: string, options: ClusterOptions = {}): Promise<Cluster> {
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(path.join(tmpdir(), options.prefix ?? 'icp-pg-'));
  chmodSync(dir, 0o700);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const stdio = options.verbose ? 'inherit' : 'ignore';
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { stdio, cwd: dir })
      : execFileSync(path.join(bin, cmd), args, { stdio });
  const data = path.join(dir, 'data');
  const port = await freePort();
  let running = false;
  const startServer = () => {
    run('pg_ctl', [
      '-D',
      data,
      '-w',
      '-l',
      path.join(dir, 'server.log'),
      '-o',
      `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=${options.maxConnections ?? 100}`,
      'start',
    ]);
    running = true;
  };
  const stopServer = () => {
    run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    running = false;
  };
  const destroy = () => {
    try {
      if (running) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
    running = false;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    startServer();
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    version: path.basename(path.dirname(bin)),
    stopServer,
    startServer,
    destroy,
  };
}

/** A new database owned by a new login role without superuser or BYPASSRLS; the URL connects as it. */
export async function createServiceDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${name} LOGIN NOSUPERUSER NOBYPASSRLS`);
    await admin.query(`CREATE DATABASE ${name} OWNER ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  url.username = name;
  return url.toString();
}
