/**
 * `npm run test:postgres [-- vitest args]`: runs the test suite against a throwaway PostgreSQL
 * cluster on 127.0.0.1 (initdb in a temporary directory, stopped and removed afterwards). Needs
 * PostgreSQL's server binaries (Debian: apt-get install postgresql); .ci/run installs them.
 * Each test server creates its own database in the cluster (test/helpers/app.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) {
    console.error('PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install -y postgresql');
    process.exit(2);
  }
  return path.join(root, newest, 'bin');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const bin = binDir();
const asRoot = userInfo().uid === 0;
// PostgreSQL refuses to run as root: run it as the `postgres` system user the package creates.
const run = (cmd: string, args: string[]) =>
  asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { stdio: 'inherit', cwd: dir })
    : execFileSync(path.join(bin, cmd), args, { stdio: 'inherit' });

const dir = mkdtempSync(path.join(tmpdir(), 'icp-pg-'));
chmodSync(dir, 0o700);
if (asRoot) {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dir, uid, gid);
}
const port = await freePort();
const data = path.join(dir, 'data');
let status = 1;
try {
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  run('pg_ctl', [
    '-D', data, '-w', '-l', path.join(dir, 'server.log'),
    '-o', `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=300`,
    'start',
  ]);
  const result = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TEST_DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` },
  });
  status = result.status ?? 1;
} finally {
  try {
    run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
