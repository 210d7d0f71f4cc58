/**
 * A throwaway PostgreSQL cluster on 127.0.0.1 for `npm run bench -- --postgres`, made as
 * `test/postgres/run.ts` makes its own (initdb in a temporary directory, run as the `postgres`
 * user when we are root) and removed by `stop()`; and a fresh database and service role on any
 * server, so a bench never writes into a database it did not create.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install -y postgresql');
  return path.join(root, newest, 'bin');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export interface Cluster {
  /** The `postgres` database of the cluster, as its superuser. */
  url: string;
  version: string;
  stop(): void;
}

export async function startCluster(): Promise<Cluster> {
  const bin = binDir();
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'icp-bench-pg-'));
  chmodSync(dir, 0o700);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  // PostgreSQL refuses to run as root: run it as the `postgres` system user the package creates.
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { stdio: 'ignore', cwd: dir })
      : execFileSync(path.join(bin, cmd), args, { stdio: 'ignore' });
  const data = path.join(dir, 'data');
  const port = await freePort();
  let started = false;
  const stop = () => {
    if (started) {
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } catch {
        // already stopped
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    // fsync off as in the test cluster: this measures the service, not this machine's disk
    run('pg_ctl', [
      '-D', data, '-w', '-l', path.join(dir, 'server.log'),
      '-o', `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=100`,
      'start',
    ]);
    started = true;
  } catch (err) {
    stop();
    throw err;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, version: path.basename(path.dirname(bin)), stop };
}

/**
 * Where a bench on the server `databaseUrl` names writes: a new database owned by a new
 * service role (the service refuses a superuser: row-level security would not apply to it),
 * both dropped by `drop()`. When the URL's role may not create roles and databases, the bench
 * uses the URL's own database as it is (its tenants are named per run).
 */
export async function benchDatabase(databaseUrl: string): Promise<{ url: string; created: boolean; drop(): Promise<void> }> {
  const suffix = randomBytes(6).toString('hex');
  const name = `icp_bench_${suffix}`;
  const role = `icp_bench_${suffix}`;
  const password = randomBytes(16).toString('hex');
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${password}'`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    await admin.end();
    if (code !== '42501') throw err; // insufficient_privilege: not an administrator's URL
    return { url: databaseUrl, created: false, drop: async () => {} };
  }
  try {
    // a role that is not a superuser may only give a database to a role it is a member of
    await admin.query(`GRANT ${role} TO CURRENT_USER`);
    await admin.query(`CREATE DATABASE ${name} OWNER ${role}`);
  } catch (err) {
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin.end();
    throw err;
  }
  await admin.end();
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  url.username = role;
  url.password = password;
  return {
    url: url.toString(),
    created: true,
    drop: async () => {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${role}`);
      } finally {
        await c.end();
      }
    },
  };
}
