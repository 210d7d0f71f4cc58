/**
 * JSON-lines logs on stdout (pino). Code never hands a credential to the logger; redaction is
 * the second line of defence for anything that carries auth headers or secret-shaped keys.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

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

/** `text` with every occurrence of each value of 4 characters or more replaced by [redacted]. */
export function redactValues(text: string, values: Iterable<unknown>): string {
  let out = text;
  for (const value of values) {
    if (typeof value === 'string' && value.length >= 4) out = out.split(value).join('[redacted]');
  }
  return out;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'integrations-control-plane' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
