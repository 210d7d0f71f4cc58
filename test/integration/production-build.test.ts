/**
 * The production start (docs/deployment.md): `npm run build` compiles to JavaScript that plain
 * `node` runs from the layout the Dockerfile's runtime stage has (package.json, prisma/, dist/,
 * node_modules), importing production dependencies only; the compiled server and worker drain on
 * SIGTERM; a SIGTERM sent to the `npm start` process reaches the server, which drains and exits;
 * and without tsx (a production install) `npm start` says what to run instead of crashing.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, it } from 'vitest';
import { eventually } from '../helpers/app.ts';
import { freePort } from '../helpers/process.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const dirs: string[] = [];
const started: ChildProcess[] = [];

async function tempDir(prefix: string) {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** The build script itself, into a directory of its own so a developer's dist/ is left alone. */
async function buildRuntimeLayout(): Promise<string> {
  const dir = await tempDir('icp-build-');
  // --noCheck: the same emit without the type check, which `npm test` runs already (typecheck)
  await run('npm', ['run', 'build', '--', '--outDir', path.join(dir, 'dist'), '--noCheck'], { cwd: ROOT });
  await copyFile(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  await symlink(path.join(ROOT, 'prisma'), path.join(dir, 'prisma'));
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}
let layout: Promise<string>;
beforeAll(() => {
  layout = buildRuntimeLayout();
  layout.catch(() => {}); // awaited by the tests that use it
});

afterAll(async () => {
  for (const child of started) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    for (const { pid } of descendants(child.pid!)) process.kill(pid, 'SIGKILL'); // npm's server too
    child.kill('SIGKILL');
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  output(): string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

function start(command: string, args: string[], cwd: string, env: Record<string, string>): Running {
  let output = '';
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), HOST: '127.0.0.1', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output, exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]> };
}

async function ready(running: Running, port: number) {
  await eventually(
    async () => {
      if (running.child.exitCode !== null) throw new Error(`exited: ${running.output()}`);
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return res.status === 200 ? true : undefined;
    },
    120_000,
    'the server to be ready',
  );
}

async function jsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.js')).map((e) => path.join(e.parentPath, e.name));
}

/** Every process below `pid`, with its command line (Linux /proc). */
function descendants(pid: number): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  const walk = (parent: number) => {
    for (const task of readdirSafe(`/proc/${parent}/task`)) {
      for (const child of readSafe(`/proc/${parent}/task/${task}/children`).split(' ').filter(Boolean).map(Number)) {
        found.push({ pid: child, command: readSafe(`/proc/${child}/cmdline`).replaceAll('\0', ' ').trim() });
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}
function readSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // the process ended meanwhile
  }
}
function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
/** Still running: the same command line (not a later process given the same pid), not a zombie. */
function alive(p: { pid: number; command: string }): boolean {
  const stat = readSafe(`/proc/${p.pid}/stat`);
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return stat !== '' && state !== 'Z' && readSafe(`/proc/${p.pid}/cmdline`).replaceAll('\0', ' ').trim() === p.command;
}

it.concurrent('compiles every entry point to JavaScript that imports production dependencies only', async ({ expect }) => {
  const app = await layout;
  const dist = path.join(app, 'dist');
  for (const entry of [
    'server.js',
    'worker.js',
    'scripts/migrate.js',
    'scripts/token.js',
    'scripts/rotate-keys.js',
    'generated/prisma/client.js',
  ]) {
    expect(existsSync(path.join(dist, entry)), entry).toBe(true);
  }
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const builtins = new Set(builtinModules);
  const outside = new Set<string>();
  for (const file of await jsFiles(dist)) {
    const text = await readFile(file, 'utf8');
    for (const [, specifier] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)) {
      if (specifier!.startsWith('.')) {
        expect(specifier, `${path.relative(dist, file)} imports a .ts file`).not.toMatch(/\.ts$/);
        continue;
      }
      if (specifier!.startsWith('node:') || builtins.has(specifier!)) continue;
      const name = specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!;
      if (!(name in pkg.dependencies)) outside.add(`${name} (${path.relative(dist, file)})`);
    }
  }
  expect([...outside]).toEqual([]);
}, 120_000);

it.concurrent('node dist/server.js serves GraphQL and drains on SIGTERM with exit code 0; node dist/scripts/token.js signs for it', async ({
  expect,
}) => {
  const app = await layout; // package.json, dist/, prisma and node_modules: the image's /app
  const dataDir = await tempDir('icp-build-data-');
  const port = await freePort();
  const server = start(process.execPath, ['dist/server.js'], app, { PORT: String(port), DATA_DIR: dataDir });
  await ready(server, port);
  // the new data directory was created and migrated by a child running dist/scripts/migrate.js
  expect(server.output()).toMatch(/"reason":"a new data directory".*"msg":"migrating the embedded database in a child process"/);
  expect(server.output()).toContain('"msg":"migrations applied"');
  const { stdout: token } = await run(process.execPath, ['dist/scripts/token.js', '--tenant', 'built'], {
    cwd: app,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
  });
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token.trim()}` },
    body: JSON.stringify({ query: '{ __typename viewer { tenantId } }' }),
  });
  expect(await res.json()).toEqual({ data: { __typename: 'Query', viewer: { tenantId: 'built' } } });

  server.child.kill('SIGTERM');
  expect(await server.exited).toEqual([0, null]);
  expect(server.output()).toMatch(/"signal":"SIGTERM".*"msg":"shutting down"/);
}, 180_000);

it.concurrent('node dist/worker.js starts on its own DATA_DIR and drains on SIGTERM with exit code 0', async ({ expect }) => {
  const app = await layout;
  // its own data directory: the embedded database takes one process per DATA_DIR (src/db/data-dir-lock.ts)
  const worker = start(process.execPath, ['dist/worker.js'], app, { DATA_DIR: await tempDir('icp-build-worker-') });
  await eventually(
    async () => {
      if (worker.child.exitCode !== null) throw new Error(`exited: ${worker.output()}`);
      return worker.output().includes('"msg":"worker started: verifying integrations and delivering webhooks"') ? true : undefined;
    },
    120_000,
    'the worker to start',
  );
  worker.child.kill('SIGTERM');
  const bound = new Promise((resolve) => setTimeout(resolve, 30_000, 'still running 30 s after SIGTERM'));
  expect(await Promise.race([worker.exited, bound])).toEqual([0, null]);
  expect(worker.output()).toMatch(/"signal":"SIGTERM".*"msg":"shutting down"/);
}, 180_000);

it.concurrent('without tsx (npm ci --omit=dev), the TypeScript entry points say what to run instead: one line, exit 2', async ({
  expect,
}) => {
  // the launcher's copy in a directory with no node_modules above it: `tsx` really does not resolve
  const bare = await tempDir('icp-no-tsx-');
  expect(existsSync(path.join(path.dirname(bare), 'node_modules'))).toBe(false);
  await copyFile(path.join(ROOT, 'src/scripts/with-tsx.mjs'), path.join(bare, 'with-tsx.mjs'));
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', path.join(bare, 'with-tsx.mjs'), 'src/server.ts'],
      { cwd: ROOT },
      (err, out, errOut) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout: out, stderr: errOut }),
    );
    started.push(child);
  });
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr.split('\n').filter(Boolean)).toEqual([
    'tsx is not installed: it is a development tool that runs the TypeScript sources; for development run `npm install`, in production run `node dist/server.js` from a build (`npm run build` on a full install, or the Docker image)',
  ]);
});

it.concurrent('npm start: a SIGTERM to the npm process drains the server, and no process of its tree is left', async ({ expect }) => {
  const port = await freePort();
  const npm = start('npm', ['start'], ROOT, { PORT: String(port), DATA_DIR: await tempDir('icp-npm-start-') });
  await ready(npm, port);
  const tree = descendants(npm.child.pid!);
  // one process runs the server, npm's own child: no shell or tsx launcher between them
  expect(tree.filter((p) => p.command.includes('src/server.ts'))).toHaveLength(1);

  npm.child.kill('SIGTERM');
  expect(await npm.exited).toEqual([0, null]);
  expect(npm.output()).toMatch(/"signal":"SIGTERM".*"msg":"shutting down"/);
  // npm exits after its script's process; a shell that died of the signal would leave tsx and node
  // running, orphaned. tsx's esbuild service, when one was started, ends once its parent is gone.
  expect(tree.filter((p) => p.command.includes('src/server.ts') && alive(p))).toEqual([]);
  await eventually(async () => (tree.some(alive) ? undefined : true), 10_000, 'every process of the tree to end');
}, 180_000);
