/** What both entry points (server.ts, worker.ts) do around the app: configuration and shutdown. */
import type { App } from './app.ts';
import { type Config, ConfigError, type LoadOptions, loadConfig } from './config.ts';
import type { Logger } from './log.ts';

/** The configuration, or every problem with it on stderr and exit code 2. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env, options?: LoadOptions): Config {
  try {
    return loadConfig(env, options);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * A promise some library left unawaited and that failed (pg-boss 10 does not await its
 * complete/fail calls, which reject while the database is away) is logged, not fatal: the
 * process keeps serving and its work resumes when the database is back.
 */
export function survivePromiseRejections(logger: Logger): void {
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection (kept running)'));
}

/**
 * A start that failed, exit code 1: the log's error serializer shows an operator's mistake (a
 * locked DATA_DIR, an unreachable database) as its message alone, anything else with its stack.
 */
export function couldNotStart(logger: Logger, err: unknown): never {
  logger.fatal({ err }, 'could not start');
  process.exit(1);
}

/** The handlers of stopWhileStarting, replaced by exitOnSignals once the app is up. */
const whileStarting = new Map<NodeJS.Signals, () => void>();

/**
 * Until the app is up (migrations, key checks), SIGTERM/SIGINT stop the process at once: nothing
 * is served or running yet, and what a migration had begun rolls back as after a crash. Without
 * this, node as PID 1 in a container ignores SIGTERM and is killed at the end of the grace period.
 */
export function stopWhileStarting(logger: Logger): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const stop = () => {
      logger.info({ signal }, 'stopped while starting (nothing was served yet)');
      process.exit(0);
    };
    whileStarting.set(signal, stop);
    process.once(signal, stop);
  }
}

/** SIGTERM/SIGINT close the app once (in-flight requests and jobs finish), then exit. */
export function exitOnSignals(app: App, logger: Logger): void {
  for (const [signal, stop] of whileStarting) process.off(signal, stop);
  whileStarting.clear();
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
