/**
 * The CPU a PostgreSQL server on this machine has used, read from /proc: its postmaster's and
 * every live child's user and system time, plus what the postmaster's children that have exited
 * used (`cutime`, `cstime`). The requests bench reads it around each scenario, beside the
 * service's own CPU, so a figure says where a request's CPU goes when load generator, service and
 * database share the machine. It is the whole server's: its background processes (autovacuum,
 * the checkpointer) and other databases' sessions count too, as they do on the machine. Needs a
 * role that may read `data_directory` (a superuser, as the benches' throwaway cluster gives) and
 * the server on this machine (its postmaster the parent of the session asking); otherwise there is
 * no figure.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** Fields of /proc/<pid>/stat after the command's closing parenthesis, from `state` (field 3) on. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone since it was listed
  }
}

/** Total CPU of the server whose postmaster is `postmaster`, in microseconds. */
function cpuMicros(postmaster: number): number {
  // after `)`: state ppid … utime (14) stime (15) cutime (16) cstime (17), so index = field - 3
  const own = statFields(postmaster);
  if (!own) throw new Error(`the PostgreSQL server (pid ${postmaster}) is gone`);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === postmaster) continue;
    const fields = statFields(pid);
    if (fields && Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks / TICKS) * 1e6;
}

/**
 * A reader of the CPU the server `adminUrl` names has used (microseconds), or a reason there is
 * none (not a superuser's URL, or a server on another machine).
 */
export async function postgresCpu(adminUrl: string): Promise<{ read(): number } | { unavailable: string }> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    let dataDirectory: string;
    let session: number;
    try {
      dataDirectory = (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
      session = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    } catch (err) {
      return { unavailable: `the URL's role may not read data_directory (${(err as Error).message})` };
    }
    let postmaster: number;
    try {
      postmaster = Number(readFileSync(path.join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return { unavailable: 'the server is not on this machine (no postmaster.pid to read)' };
    }
    // read while this session is open: its parent says the postmaster found is the server it reached
    if (Number(statFields(session)?.[1]) !== postmaster) {
      return { unavailable: `the postmaster.pid found (${postmaster}) is not the parent of this session's process here` };
    }
    return { read: () => cpuMicros(postmaster) };
  } finally {
    await client.end();
  }
}
