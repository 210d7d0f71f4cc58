/**
 * Configuration, read once from the environment (names fixed by CONTRACT.md). Every problem is
 * reported at start-up, all at once, one line each naming the variable and never its value when
 * it may be secret, before anything opens the database (docs/configuration.md).
 */
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import {
  DEFAULT_AUDIT_RETENTION,
  DEFAULT_DATA_RETENTION,
  DEFAULT_RETRY_SCHEDULE,
  databaseUrlProblem,
  encryptionKeyProblems,
  parseAllowHosts,
  parseOperationRetrySchedule,
  parsePauseThreshold,
  parseRetention,
  parseRetrySchedule,
} from './config-values.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './db/wait-for-server.ts';
import { readTrustedDocuments } from './graphql-hardening/trusted-documents.ts';
import { parseFrameAncestors } from './http/console-static.ts';
import { LOG_FORMATS, type LogFormat } from './log.ts';
import { baseUrlEnvVar, PROVIDERS } from './providers/catalog.ts';

/** TRUSTED_DOCUMENTS and TRUSTED_DOCUMENTS_ONLY (src/graphql-hardening/trusted-documents.ts). */
export interface TrustedDocumentsConfig {
  file: string;
  /** Document text by id (`sha256:` prefix dropped). */
  documents: ReadonlyMap<string, string>;
  /** Only these documents run; a request carrying a document's text is refused. */
  only: boolean;
}

export interface Config {
  port: number;
  host: string;
  /** PUBLIC_URL; when unset, the address the server is listening on (`publicUrl` in src/app.ts). */
  publicUrl?: string;
  databaseUrl?: string;
  /**
   * DATABASE_MIGRATION_URL: the role that owns the schema (src/db/owner.ts). When set, migrations
   * and maintenance run as it, and the DATABASE_URL role only reads and writes rows.
   */
  databaseMigrationUrl?: string;
  /** DATABASE_CONNECT_TIMEOUT_SECONDS, in ms: how long start-up retries an unreachable server (src/db/wait-for-server.ts). */
  databaseConnectTimeoutMs: number;
  dataDir: string;
  auth: {
    jwtSecret?: string;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
  };
  encryption: { ENCRYPTION_KEYS?: string; ENCRYPTION_KEY?: string };
  /** Provider name → API origin override (`<PROVIDER>_API_BASE_URL`). */
  providerOrigins: Record<string, string>;
  verification: {
    timeoutMs: number;
    /** Retries of a transient failure (network, 5xx, 429) before the integration goes to ERROR. */
    retryLimit: number;
    retryDelaySeconds: number;
  };
  webhooks: {
    /** Delays before each retry, ms (WEBHOOK_RETRY_SCHEDULE). */
    retrySchedule: number[];
    /** The schedule as configured, shown as RetryPolicy.backoff. */
    retryScheduleText: string;
    pauseAfterFailures: number;
    /** `host:port` pairs exempt from the private-network block (WEBHOOK_ALLOW_HOSTS). */
    allowHosts: ReadonlySet<string>;
  };
  operations: {
    /** Delays before each further walk over the candidates when all failed transiently, ms (OPERATION_RETRY_SCHEDULE). */
    retrySchedule: number[];
    /** OPERATION_TIMEOUT_MS: how long one provider call may take. */
    timeoutMs: number;
    /** OPERATION_RETENTION_DAYS: after this many days an ended operation's input and result are removed. */
    retentionDays: number;
  };
  /**
   * DATA_RETENTION and AUDIT_RETENTION, in ms: how long history is kept (src/retention/windows.ts);
   * `purgeIntervalMs` (RETENTION_PURGE_INTERVAL_SECONDS) is how often the purge runs.
   */
  retention: { dataMs: number; auditMs: number; purgeIntervalMs: number };
  /** How often the queue looks for expired jobs (a crashed worker's) and other maintenance. */
  queueMaintenanceSeconds: number;
  rateLimitRpm?: number;
  /** Per-client limits on what costs work before anyone is authenticated (src/http/client-limits.ts). */
  clientLimits: ClientLimitsConfig;
  /** TRUST_PROXY_HOPS: reverse proxies in front whose X-Forwarded-For entry names the client (src/http/client-address.ts). */
  trustProxyHops: number;
  introspection: boolean;
  /** What one request may take while it runs (src/graphql-hardening/execution-limits.ts). */
  execution: { deadlineMs: number; maxListItems: number };
  /** GRAPHQL_RESPONSE_CACHE: keep answers of the integrations read model (src/cache/response-cache.ts). */
  responseCache: boolean;
  /** Persisted operations from a manifest, when TRUSTED_DOCUMENTS names one. */
  trustedDocuments?: TrustedDocumentsConfig;
  logLevel: string;
  /** LOG_FORMAT; unset: pretty on a terminal, JSON otherwise (src/log.ts). */
  logFormat?: LogFormat;
  /** Run the background worker in this process (`WORKER=false` for API-only instances). */
  worker: boolean;
  /** SHUTDOWN_TIMEOUT_SECONDS: how long SIGTERM waits for in-flight requests and jobs. */
  shutdownTimeoutMs: number;
  /** METRICS_TOKEN: when set, `GET /metrics` needs `Authorization: Bearer <token>`; unset, only local clients get it. */
  metricsToken?: string;
  console: {
    /** CONSOLE_DIR (advanced): the built web console; default console/dist of this checkout. */
    dir?: string;
    /** CONNECT_FRAME_ANCESTORS as CSP frame-ancestors sources (default `*`): who may frame the connect page. */
    connectFrameAncestors: string;
  };
  /** OpenTelemetry tracing, on when an OTLP endpoint is configured (src/observability/tracing.ts). */
  tracing?: TracingConfig;
}

/** Each 0 turns that limit off. */
export interface ClientLimitsConfig {
  /** AUTH_FAILURE_LIMIT_PER_MINUTE: failed authentications per client address (default 30). */
  authFailuresPerMinute: number;
  /** HOOKS_LIMIT_PER_MINUTE: `/hooks/…` requests per client address, and per integration token (default 600). */
  hooksPerMinute: number;
  /** SSE_STREAM_LIMIT_PER_IP: open subscription streams per client address (default 100). */
  sseStreamsPerIp: number;
  /** SSE_STREAM_LIMIT_PER_TENANT: open subscription streams per tenant (default 200). */
  sseStreamsPerTenant: number;
}

export interface TracingConfig {
  /** Where spans are POSTed: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`. */
  tracesUrl: string;
  /** OTEL_SERVICE_NAME. */
  serviceName: string;
}

const POSTGRES_URL_HINT = ' (postgres://user:password@host:5432/database, with @ : / # % in the password percent-encoded)';

/** Why `dir` cannot be a data directory, when it names something else; a missing one is made at start. */
function notADirectory(dir: string): string | undefined {
  try {
    return statSync(dir).isDirectory() ? undefined : `${dir} exists and is not a directory`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : `${dir} cannot be read (${code})`;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

type Env = Record<string, string | undefined>;

export interface LoadOptions {
  /**
   * Whether the process runs the service (API or worker), which must authenticate callers; the
   * maintenance scripts (migrate, keys:rotate) do not, and need no AUTH_* setting.
   */
  runsService?: boolean;
}

export function loadConfig(env: Env = process.env, { runsService = true }: LoadOptions = {}): Config {
  const problems: string[] = [];
  const str = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean) => {
    const raw = str(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes'].includes(raw)) return true;
    if (['false', '0', 'no'].includes(raw)) return false;
    problems.push(`${name}: expected true or false, got "${raw}"`);
    return fallback;
  };
  const url = (name: string, protocols: string[], hint = '') => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol) || !u.hostname) throw new Error();
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${name}: expected a ${protocols.map((p) => `${p}//`).join(' or ')} URL with a host${hint}`);
      return undefined;
    }
  };
  const postgresUrl = (name: string) => {
    const value = url(name, ['postgres:', 'postgresql:'], POSTGRES_URL_HINT);
    const problem = value && databaseUrlProblem(name, value);
    if (problem) problems.push(problem);
    return problem ? undefined : value;
  };

  const port = int('PORT', 4000, 0, 65535);
  const host = str('HOST') ?? '127.0.0.1';
  if (
    !isIP(host.replace(/^\[(.*)\]$/, '$1')) &&
    !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)
  ) {
    problems.push(`HOST: expected an address to listen on (an IP address such as 0.0.0.0 or ::, or a host name), got "${host}"`);
  }
  const databaseUrl = postgresUrl('DATABASE_URL');
  const providerOrigins: Record<string, string> = {};
  for (const p of PROVIDERS) {
    const origin = url(baseUrlEnvVar(p.name), ['http:', 'https:']);
    if (origin) providerOrigins[p.name] = origin;
  }
  const parsed = <T>(name: string, parse: (v: string | undefined) => T, fallback: T): T => {
    try {
      return parse(str(name));
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
      return fallback;
    }
  };
  const retention = (name: string, fallback: string) => parsed(name, (v) => parseRetention(v ?? fallback), parseRetention(fallback));
  const retryScheduleText = str('WEBHOOK_RETRY_SCHEDULE') ?? DEFAULT_RETRY_SCHEDULE;
  const webhooks = {
    retrySchedule: parsed('WEBHOOK_RETRY_SCHEDULE', parseRetrySchedule, parseRetrySchedule(undefined)),
    retryScheduleText,
    pauseAfterFailures: parsed('WEBHOOK_PAUSE_AFTER_FAILURES', parsePauseThreshold, 10),
    allowHosts: parsed('WEBHOOK_ALLOW_HOSTS', parseAllowHosts, new Set<string>()),
  };
  const trustedFile = str('TRUSTED_DOCUMENTS');
  const trustedOnly = bool('TRUSTED_DOCUMENTS_ONLY', false);
  if (trustedOnly && !trustedFile)
    problems.push('TRUSTED_DOCUMENTS_ONLY: needs TRUSTED_DOCUMENTS, the manifest of the documents that may run');
  const trustedDocuments = trustedFile
    ? {
        file: path.resolve(trustedFile),
        documents: parsed('TRUSTED_DOCUMENTS', () => readTrustedDocuments(path.resolve(trustedFile)), new Map<string, string>()),
        only: trustedOnly,
      }
    : undefined;
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const raw = str(name)?.toLowerCase();
    if (raw === undefined) return undefined;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
    return undefined;
  };
  const rpm = str('RATE_LIMIT_RPM') === undefined ? undefined : int('RATE_LIMIT_RPM', 0, 1, 1_000_000);
  // the standard OpenTelemetry names; the exporter reads the other OTEL_EXPORTER_OTLP_* itself
  const otlpBase = url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']);
  const tracesUrl = url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:']) ?? (otlpBase && `${otlpBase}/v1/traces`);

  const config: Config = {
    port,
    host,
    publicUrl: url('PUBLIC_URL', ['http:', 'https:']),
    databaseUrl,
    databaseMigrationUrl: postgresUrl('DATABASE_MIGRATION_URL'),
    databaseConnectTimeoutMs: int('DATABASE_CONNECT_TIMEOUT_SECONDS', DEFAULT_CONNECT_TIMEOUT_MS / 1000, 0, 3600) * 1000,
    dataDir: path.resolve(str('DATA_DIR') ?? './data'),
    auth: {
      jwtSecret: str('AUTH_JWT_SECRET'),
      jwksUrl: url('AUTH_JWKS_URL', ['http:', 'https:']),
      issuer: str('AUTH_JWT_ISSUER'),
      audience: str('AUTH_JWT_AUDIENCE'),
    },
    encryption: { ENCRYPTION_KEYS: str('ENCRYPTION_KEYS'), ENCRYPTION_KEY: str('ENCRYPTION_KEY') },
    providerOrigins,
    verification: {
      timeoutMs: int('VERIFY_TIMEOUT_MS', 10_000, 100, 120_000),
      retryLimit: int('VERIFY_RETRY_LIMIT', 5, 0, 50),
      retryDelaySeconds: int('VERIFY_RETRY_DELAY_SECONDS', 5, 1, 3600),
    },
    webhooks,
    operations: {
      retrySchedule: parsed('OPERATION_RETRY_SCHEDULE', parseOperationRetrySchedule, parseOperationRetrySchedule(undefined)),
      timeoutMs: int('OPERATION_TIMEOUT_MS', 30_000, 100, 300_000),
      retentionDays: int('OPERATION_RETENTION_DAYS', 30, 1, 3650),
    },
    retention: {
      dataMs: retention('DATA_RETENTION', DEFAULT_DATA_RETENTION),
      auditMs: retention('AUDIT_RETENTION', DEFAULT_AUDIT_RETENTION),
      purgeIntervalMs: int('RETENTION_PURGE_INTERVAL_SECONDS', 60, 1, 86_400) * 1000,
    },
    queueMaintenanceSeconds: int('QUEUE_MAINTENANCE_INTERVAL_SECONDS', 30, 1, 3600),
    rateLimitRpm: rpm,
    clientLimits: {
      authFailuresPerMinute: int('AUTH_FAILURE_LIMIT_PER_MINUTE', 30, 0, 1_000_000),
      hooksPerMinute: int('HOOKS_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
      sseStreamsPerIp: int('SSE_STREAM_LIMIT_PER_IP', 100, 0, 1_000_000),
      sseStreamsPerTenant: int('SSE_STREAM_LIMIT_PER_TENANT', 200, 0, 1_000_000),
    },
    trustProxyHops: int('TRUST_PROXY_HOPS', 0, 0, 10),
    introspection: bool('GRAPHQL_INTROSPECTION', true),
    execution: {
      deadlineMs: int('GRAPHQL_EXECUTION_TIMEOUT_MS', 10_000, 1, 300_000),
      maxListItems: int('GRAPHQL_MAX_LIST_ITEMS', 25_000, 1, 1_000_000),
    },
    responseCache: bool('GRAPHQL_RESPONSE_CACHE', true),
    trustedDocuments,
    logLevel: str('LOG_LEVEL') ?? 'info',
    logFormat: oneOf('LOG_FORMAT', LOG_FORMATS),
    worker: bool('WORKER', true),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_SECONDS', 25, 1, 600) * 1000,
    metricsToken: str('METRICS_TOKEN'),
    console: {
      dir: str('CONSOLE_DIR') === undefined ? undefined : path.resolve(str('CONSOLE_DIR')!),
      connectFrameAncestors: parsed('CONNECT_FRAME_ANCESTORS', parseFrameAncestors, '*'),
    },
    tracing: tracesUrl ? { tracesUrl, serviceName: str('OTEL_SERVICE_NAME') ?? 'integrations-control-plane' } : undefined,
  };
  problems.push(...encryptionKeyProblems(config.encryption));
  if (env.DATABASE_URL?.trim()) {
    // the embedded default generates these into DATA_DIR; a server's instances must share them
    if (!config.encryption.ENCRYPTION_KEY && !config.encryption.ENCRYPTION_KEYS) {
      problems.push(
        'ENCRYPTION_KEY: required with DATABASE_URL (credentials are encrypted with it): 32 bytes in base64, e.g. from: openssl rand -base64 32',
      );
    }
    if (runsService && !config.auth.jwtSecret && !str('AUTH_JWKS_URL')) {
      problems.push('AUTH_JWT_SECRET or AUTH_JWKS_URL: one is required with DATABASE_URL, or nothing could authenticate');
    }
  }
  const dataDirProblem = config.databaseUrl ? undefined : notADirectory(config.dataDir);
  if (dataDirProblem) problems.push(`DATA_DIR: ${dataDirProblem}`);
  if (config.auth.jwtSecret && config.auth.jwtSecret.length < 32) {
    problems.push('AUTH_JWT_SECRET: use at least 32 characters for an HS256 secret');
  }
  if (config.databaseMigrationUrl && !config.databaseUrl) {
    problems.push('DATABASE_MIGRATION_URL: needs DATABASE_URL (the embedded database runs as one role)');
  }
  if (config.metricsToken !== undefined && config.metricsToken.length < 16) {
    problems.push('METRICS_TOKEN: use at least 16 characters');
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    problems.push(`LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent`);
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}
