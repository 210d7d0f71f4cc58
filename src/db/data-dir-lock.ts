/**
 * One process at a time on an embedded DATA_DIR: PGlite has no lock of its own, and two processes
 * writing one data directory corrupt it. A lock file made with O_EXCL names its holder; a lock
 * whose process is gone (killed, crashed) is taken over. Released on close and on any exit that
 * runs 'exit' handlers.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { OperatorError } from '../log.ts';

export const LOCK_FILE = 'icp.lock';

/** What the lock file holds: who took it, and enough to tell a live holder from a reused pid. */
export interface LockHolder {
  pid: number;
  /** The process's start time as the kernel counts it (Linux), to tell a reused pid from the holder. */
  startTicks?: string;
  hostname: string;
  command: string;
  since: string;
  token: string;
}

export class DataDirLockedError extends OperatorError {}

export interface DataDirLock {
  file: string;
  release(): void;
}

/** Locks held by this process: file → token. */
const held = new Map<string, string>();

/** Fields 3 onwards of /proc/<pid>/stat; undefined off Linux or when the process is gone. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The kernel's start time of `pid` (field 22). */
function startTicks(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) && holder.pid > 0 ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `holder` still runs (on this machine: pids of others cannot be checked). */
function isAlive(holder: LockHolder, file: string): boolean {
  // our own pid: held by us, or left by an earlier process that had it (pid 1 in every container)
  if (holder.pid === process.pid) return held.get(file) === holder.token;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = procStat(holder.pid);
  if (stat?.[0] === 'Z') return false; // exited, not yet reaped by its parent
  const ticks = stat?.[19];
  // another process under the same pid since
  return !(holder.startTicks && ticks && ticks !== holder.startTicks);
}

function describe(holder: LockHolder): string {
  const host = holder.hostname === hostname() ? '' : ` on ${holder.hostname}`;
  return `process ${holder.pid}${host} (${holder.command}, since ${holder.since})`;
}

/** How the operator started this process: `npm run keys:rotate` rather than a file name, when npm ran it. */
function currentCommand(): string {
  const script = process.env.npm_lifecycle_event;
  if (script) return script === 'start' ? 'npm start' : `npm run ${script}`;
  return `node ${path.relative(process.cwd(), process.argv[1] ?? '') || '-'}`;
}

/** Writes our lock file in one step: a complete file under a temporary name, hard-linked into place. */
function tryCreate(file: string, holder: LockHolder): boolean {
  const temp = `${file}.${process.pid}.${holder.token}`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temp);
  }
}

/**
 * Moves a stale lock aside, unless another process took it over in between: the file moved is
 * checked, and put back when it is not the stale one.
 */
function removeStale(file: string, stale: LockHolder): void {
  const aside = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (readHolder(aside)?.token !== stale.token) {
    try {
      linkSync(aside, file);
    } catch {
      // a third process locked it meanwhile: theirs stands, and the next attempt sees it
    }
  }
  unlinkSync(aside);
}

function lockFailure(dataDir: string, err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  throw new DataDirLockedError(
    `DATA_DIR ${dataDir}: cannot create its lock file (${code}); check that the directory is writable by this user`,
  );
}

/**
 * Takes DATA_DIR's lock, or throws a DataDirLockedError naming the process that holds it.
 * `dataDir` must exist.
 */
export function lockDataDir(dataDir: string, command = currentCommand()): DataDirLock {
  const file = path.join(dataDir, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid,
    startTicks: startTicks(process.pid),
    hostname: hostname(),
    command,
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    let created: boolean;
    try {
      created = tryCreate(file, holder);
    } catch (err) {
      lockFailure(dataDir, err);
    }
    if (created) {
      held.set(file, holder.token);
      return { file, release: () => release(file, holder.token) };
    }
    const current = readHolder(file);
    if (!current) {
      throw new DataDirLockedError(
        `DATA_DIR ${dataDir}: its lock file ${file} cannot be read; if no process uses this directory, delete the file and start again`,
      );
    }
    if (isAlive(current, file)) {
      throw new DataDirLockedError(
        `DATA_DIR ${dataDir} is in use by ${describe(current)}: the embedded database takes one process at a time; stop that process first, or use a PostgreSQL server (DATABASE_URL) to run several`,
      );
    }
    removeStale(file, current);
  }
  throw new DataDirLockedError(`DATA_DIR ${dataDir}: its lock file ${file} keeps changing; another process is starting on it`);
}

function release(file: string, token: string): void {
  if (held.get(file) !== token) return;
  held.delete(file);
  // only our own lock: a file some other process wrote after ours was taken away stays
  if (readHolder(file)?.token === token) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
}

// a crash or process.exit() runs these; SIGKILL does not, and the next start takes the stale lock over
process.on('exit', () => {
  for (const [file, token] of held) release(file, token);
});
