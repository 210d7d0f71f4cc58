/**
 * Logs on stdout (pino): coloured lines for a person at a terminal, JSON lines otherwise
 * (LOG_FORMAT forces either). Code never hands a credential to the logger; redaction, applied
 * before either format, is the second line of defence for auth headers and secret-shaped keys.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'authorization',
  'credentials',
  '*.credentials',
  'secret',
  '*.secret',
  'signingSecret',
  '*.signingSecret',
  'variables',
  '*.variables',
];

/**
 * A failure whose message tells the operator everything (a DATA_DIR another process holds, a
 * database that cannot be reached): logged as its message alone, since a stack trace would only
 * bury it.
 */
export class OperatorError extends Error {
  override get name(): string {
    return this.constructor.name;
  }
}

/** `text` with every occurrence of each value of 4 characters or more replaced by [redacted]. */
export function redactValues(text: string, values: Iterable<unknown>): string {
  let out = text;
  for (const value of values) {
    if (typeof value === 'string' && value.length >= 4) out = out.split(value).join('[redacted]');
  }
  return out;
}

/** LOG_FORMAT when it names a format, else pretty on a terminal and JSON for anything else. */
export function defaultLogFormat(env: Record<string, string | undefined> = process.env, isTTY = process.stdout.isTTY): LogFormat {
  const forced = env.LOG_FORMAT?.trim().toLowerCase();
  if (forced === 'json' || forced === 'pretty') return forced;
  return isTTY ? 'pretty' : 'json';
}

function serializeError(err: unknown): unknown {
  if (err instanceof OperatorError) return { type: err.name, message: err.message };
  return pino.stdSerializers.err(err as Error);
}

/**
 * `destination` (tests, benchmarks) gets JSON unless `format` says otherwise; stdout gets the
 * format `defaultLogFormat` picks.
 */
export function createLogger(level: string, destination?: DestinationStream, format?: LogFormat): Logger {
  const chosen = format ?? (destination ? 'json' : defaultLogFormat());
  const stream =
    chosen === 'pretty'
      ? pretty({
          destination: destination ?? 1,
          // synchronous, so the line before a process.exit is written
          sync: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service',
        })
      : destination;
  return pino(
    {
      level,
      base: { service: 'integrations-control-plane' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

/** For an entry point's start-up: an OperatorError becomes one fatal line and exit code 1; anything else is rethrown. */
export function exitOnOperatorError(logger: Logger, err: unknown): never {
  if (!(err instanceof OperatorError)) throw err;
  logger.fatal(err.message);
  process.exit(1);
}
