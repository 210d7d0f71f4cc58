/**
 * The server under test of `requests.ts`, in a child process so the load generator never shares
 * its event loop: the real `createApp` configured from the environment, plus a counter of the SQL
 * statements Prisma sends. The parent asks over IPC, never HTTP, so the service answers only its
 * production routes: `stats` (answered with `Stats`), `stop` (close, exit 0), `profile-start` and
 * `profile-stop` (a V8 CPU profile, answered `profiled`). Logs go to stdout at LOG_LEVEL.
 */
import { createApp } from '../src/app.ts';
import { createLogger } from '../src/log.ts';
import { loadConfigOrExit } from '../src/process.ts';
import { startProfile } from './profiler.ts';

export interface Stats {
  type: 'stats';
  /** Prisma statements other than transaction control (BEGIN, COMMIT, ROLLBACK, implicit or not). */
  statements: number;
  /** Transaction control statements, counted apart. */
  transactionStatements: number;
  rss: number;
  /** Process CPU time so far, microseconds (user + system). */
  cpuMicros: number;
}

export type Message = { type: 'ready'; url: string; database: string } | { type: 'profiled'; file: string } | Stats;

if (!process.send) {
  console.error('bench/server.ts is started by bench/requests.ts (it needs an IPC channel)');
  process.exit(2);
}
const send = (message: Message) => process.send!(message);

let statements = 0;
let transactionStatements = 0;
const config = loadConfigOrExit();
const app = await createApp(config, {
  logger: createLogger(config.logLevel),
  // as src/server.ts starts: a new embedded database is created and migrated by a child process
  migrateApart: true,
  onQuery: (sql) => {
    // Prisma logs a driver adapter's own commit as `-- Implicit "COMMIT" query via underlying driver`
    if (/^\s*(?:--\s*Implicit\s*")?(BEGIN|COMMIT|ROLLBACK)\b/i.test(sql)) transactionStatements++;
    else statements++;
  },
});
const { url } = await app.listen();

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await app.close().catch((err: unknown) => console.error('close failed', err));
  process.exit(0);
}

let profiler: Promise<{ stop(file: string): Promise<void> }> | undefined;
async function profileStop(file: string) {
  await (await profiler!).stop(file);
  profiler = undefined;
  send({ type: 'profiled', file });
}

process.on('message', (message: { type?: string; file?: string }) => {
  if (message.type === 'profile-start') {
    profiler = startProfile();
  } else if (message.type === 'profile-stop') {
    void profileStop(message.file!);
  } else if (message.type === 'stats') {
    const cpu = process.cpuUsage();
    send({ type: 'stats', statements, transactionStatements, rss: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system });
  } else if (message.type === 'stop') {
    void stop();
  }
});
// the parent went away: do not outlive it
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
send({ type: 'ready', url, database: app.database.kind });
