/**
 * Starts a bench server (`server.ts` or `raw-server.ts`) as a child process with an IPC channel,
 * its output appended to a log file, and talks to it: stats (statement counter, RSS, CPU) and
 * a graceful stop. A child that does not stop in time is killed, so a bench never leaves one behind.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Message, Stats } from './server.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface BenchChild {
  entry: 'server.ts' | 'raw-server.ts' | 'peer-server.ts';
  url: string;
  database: string;
  pid: number;
  stats(): Promise<Stats>;
  /** Peak RSS seen by `sampleRss` since the last call, in bytes; starts from the current RSS. */
  sampleRss(intervalMs?: number): { stop(): Promise<number> };
  /** Starts a CPU profile in the child (server.ts only). */
  profileStart(): void;
  /** Stops it and waits for the child to write it to `file`. */
  profileStop(file: string): Promise<void>;
  /** The last lines of its output. */
  tail(lines?: number): string;
  stop(): Promise<void>;
}

export async function startChild(
  entry: 'server.ts' | 'raw-server.ts' | 'peer-server.ts',
  options: { env: Record<string, string>; logFile: string; nodeArgs?: string[]; readyTimeoutMs?: number },
): Promise<BenchChild> {
  const log = openSync(options.logFile, 'a');
  const child: ChildProcess = fork(path.join(import.meta.dirname, entry), [], {
    cwd: ROOT,
    execArgv: [...(options.nodeArgs ?? []), '--import', 'tsx'],
    // as deployed unless the bench says otherwise (bench/index.ts)
    env: { NODE_ENV: process.env.NODE_ENV ?? 'production', ...options.env },
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  const tail = (lines = 20) => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const waiting: ((stats: Stats) => void)[] = [];
  const profiles: (() => void)[] = [];
  let ready: (m: Extract<Message, { type: 'ready' }>) => void = () => {};
  const readyMessage = new Promise<Extract<Message, { type: 'ready' }>>((resolve) => (ready = resolve));
  child.on('message', (message: Message) => {
    if (message.type === 'ready') ready(message);
    else if (message.type === 'stats') waiting.shift()?.(message);
    else if (message.type === 'profiled') profiles.shift()?.();
  });
  const exited = once(child, 'exit');
  let timer: NodeJS.Timeout | number | undefined;
  const started = await Promise.race([
    readyMessage,
    exited.then(() => undefined),
    new Promise<undefined>((resolve) => (timer = setTimeout(resolve, options.readyTimeoutMs ?? 120_000))),
  ]);
  clearTimeout(timer);
  if (!started) {
    child.kill('SIGKILL');
    throw new Error(`${entry} did not start (exit code ${child.exitCode}):\n${tail(40)}`);
  }

  const stats = () =>
    new Promise<Stats>((resolve, reject) => {
      if (!child.connected) return reject(new Error(`${entry} has exited:\n${tail()}`));
      waiting.push(resolve);
      child.send({ type: 'stats' });
    });

  return {
    entry,
    url: started.url,
    database: started.database,
    pid: child.pid!,
    stats,
    tail,
    profileStart: () => void child.send({ type: 'profile-start' }),
    profileStop: (file) =>
      new Promise<void>((resolve) => {
        profiles.push(resolve);
        child.send({ type: 'profile-stop', file });
      }),
    sampleRss(intervalMs = 250) {
      let peak = 0;
      const take = () =>
        stats().then(
          (s) => (peak = Math.max(peak, s.rss)),
          () => {},
        );
      let last = take();
      const timer = setInterval(() => (last = take()), intervalMs);
      return {
        async stop() {
          clearInterval(timer);
          await last;
          await take();
          return peak;
        },
      };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ type: 'stop' });
      else child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
