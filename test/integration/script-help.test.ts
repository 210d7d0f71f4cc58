/**
 * Every command of package.json answers `--help` (its usage on stdout, exit 0) before it acts,
 * and refuses an unknown option or a bad value with one line and its usage (exit 2, no stack
 * trace). Each runs as npm runs it, in a child process whose DATA_DIR and TMPDIR are fresh: a
 * command that acted would create the one or write into the other (a database, a cluster).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const scripts: Record<string, string> = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts;

/** The project's own programs (`tsx <file>` or `node <file>`), as argv for this Node; third-party tools are left out. */
const COMMANDS = Object.entries(scripts).flatMap(([name, script]) => {
  // `exec node --import ./src/scripts/with-tsx.mjs <file>` is `tsx <file>` run as one process
  // (docs/deployment.md, signals), refusing in one line where tsx is not installed
  const line = script.replace(/^exec node --import (?:tsx|\.\/src\/scripts\/with-tsx\.mjs) /, 'tsx ');
  const [runner, file, ...args] = line.split(' ');
  if (name === 'postinstall' || !file || !['tsx', 'node'].includes(runner!)) return [];
  return [{ name, argv: [...(runner === 'tsx' ? ['--import', 'tsx'] : []), file, ...args] }];
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What the command left in its TMPDIR besides tsx's compile cache, and whether DATA_DIR exists. */
  traces: string[];
}

const scratch: string[] = [];

/** Runs `argv` from the project root with a fresh DATA_DIR and TMPDIR; killed after 20 s (a command that started working). */
async function run(argv: string[]): Promise<Run> {
  const temp = await mkdtemp(path.join(tmpdir(), 'icp-help-'));
  scratch.push(temp);
  // tsx's compile cache (os.tmpdir()/tsx-<uid>) shared, or every run compiles the whole service again
  const cache = `tsx-${userInfo().uid}`;
  await mkdir(path.join(tmpdir(), cache), { recursive: true });
  await symlink(path.join(tmpdir(), cache), path.join(temp, cache));
  const dataDir = path.join(temp, 'data');
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, TMPDIR: temp };
  for (const name of ['DATABASE_URL', 'DATABASE_MIGRATION_URL', 'TEST_DATABASE_URL', 'SCHEMA_BASE_REF']) delete env[name];
  const child = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  const traces = (await readdir(temp)).filter((entry) => !entry.startsWith('tsx-') && entry !== 'data');
  if (existsSync(dataDir)) traces.push(`DATA_DIR ${dataDir}`);
  return { code, stdout, stderr, traces };
}

/** How the usage names the command. */
const invocation = (name: string) => (name === 'start' ? 'npm start' : `npm run ${name}`);

/** What the working tree holds that a command might write: schema.graphql and the migrations. */
function treeState() {
  const schemaFile = path.join(ROOT, 'schema.graphql');
  return {
    schema: readFileSync(schemaFile, 'utf8'),
    schemaWritten: statSync(schemaFile).mtimeMs,
    migrations: readdirSync(path.join(ROOT, 'prisma/migrations')).sort(),
  };
}

let before: ReturnType<typeof treeState>;
beforeAll(() => {
  before = treeState();
});
afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

it('covers every command of package.json that runs the project’s own code', () => {
  expect(COMMANDS.map((c) => c.name).sort()).toEqual(
    [
      'bench',
      'build:console',
      'db:diff',
      'db:migrate',
      'drill',
      'generate',
      'keys:rotate',
      'schema:check',
      'schema:guard',
      'schema:print',
      'start',
      'test:postgres',
      'token',
      'worker',
    ].sort(),
  );
});

/** What a command's help must mention besides --help: its options, main variables, where the rest goes. */
const IN_HELP: Record<string, string[]> = {
  start: ['PORT', 'DATABASE_URL', 'DATA_DIR', 'AUTH_JWT_SECRET', 'ENCRYPTION_KEYS', 'WORKER', 'LOG_LEVEL'],
  worker: ['DATABASE_URL', 'DATA_DIR', 'ENCRYPTION_KEYS', 'LOG_LEVEL'],
  'db:migrate': ['DATABASE_URL', 'DATA_DIR'],
  'keys:rotate': ['ENCRYPTION_KEYS', 'DATABASE_URL', 'DATA_DIR'],
  'db:diff': ['<name>', '--check'],
  'schema:print': ['--check'],
  'schema:check': ['--check'],
  'schema:guard': ['SCHEMA_BASE_REF'],
  token: ['--tenant', '--sub', '--scope', '--app', '--ttl', 'AUTH_JWT_SECRET'],
  'test:postgres': ['other argument goes to vitest'],
  bench: ['--only', '--postgres', 'DATABASE_URL'],
  drill: ['crash, database-outage, hanging-receiver or fuzz', '--runs', '--seed'],
};

describe.concurrent('--help', () => {
  for (const { name, argv } of COMMANDS) {
    it(`${name}: prints its usage and exits 0 without acting`, async () => {
      const result = await run([...argv, '--help']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^usage: /);
      expect(result.stdout).toContain(invocation(name));
      for (const text of ['--help', ...(IN_HELP[name] ?? [])]) expect(result.stdout).toContain(text);
      expect(result.traces).toEqual([]);
    });
  }

  it('-h is --help', async () => {
    const result = await run(['--import', 'tsx', 'src/scripts/token.ts', '-h']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run token /);
  });
});

/** Exit 2, the problem as the first line of stderr, then the usage; no stack frame, nothing on stdout. */
function expectRefused(result: Run, name: string, problem: string | RegExp) {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  const [first, blank, usage] = result.stderr.split('\n');
  expect(first).toMatch(problem);
  expect(blank).toBe('');
  expect(usage).toMatch(/^usage: /);
  expect(result.stderr).toContain(invocation(name));
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.traces).toEqual([]);
}

describe.concurrent('an unknown option', () => {
  // test:postgres hands every argument but --help to vitest
  for (const { name, argv } of COMMANDS.filter((c) => c.name !== 'test:postgres')) {
    it(`${name}: one line and the usage on stderr, exit 2`, async () => {
      expectRefused(await run([...argv, '--no-such-option']), name, /^unknown option '--no-such-option'$/);
    });
  }
});

describe.concurrent('a bad value', () => {
  const CASES: { name: string; args: string[]; problem: RegExp }[] = [
    { name: 'token', args: ['--tenant', 'acme', '--ttl', 'soon'], problem: /^--ttl: a positive whole number/ },
    { name: 'token', args: [], problem: /^--tenant is required$/ },
    { name: 'token', args: ['--tenant'], problem: /^option '--tenant <value>' argument missing$/ },
    {
      name: 'bench',
      args: ['--only', 'everything'],
      problem: /^--only: one of requests, deliveries, operations, soak, convert, got "everything"$/,
    },
    { name: 'bench', args: ['--postgres=yes'], problem: /^option '--postgres' does not take an argument$/ },
    { name: 'drill', args: ['--runs=many'], problem: /^--runs: a positive whole number, got "many"$/ },
    { name: 'drill', args: ['earthquake'], problem: /^unknown drill: earthquake/ },
    { name: 'db:diff', args: [], problem: /^a migration name or --check is required$/ },
    { name: 'db:diff', args: ['add_x', '--check'], problem: /^either <name> or --check, not both$/ },
    { name: 'schema:guard', args: ['stray'], problem: /^unexpected argument 'stray'$/ },
  ];
  for (const { name, args, problem } of CASES) {
    it(`${name} ${args.join(' ') || '(no arguments)'}: refused before acting`, async () => {
      const command = COMMANDS.find((c) => c.name === name)!;
      expectRefused(await run([...command.argv, ...args]), name, problem);
    });
  }
});

it('left schema.graphql and prisma/migrations as they were', () => {
  expect(treeState()).toEqual(before);
});
