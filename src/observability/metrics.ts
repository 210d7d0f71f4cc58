/**
 * Prometheus metrics of one app, on a registry of its own (tests run several apps in one
 * process): GraphQL requests by operation and outcome and their latency, webhook deliveries and
 * integration verifications by outcome, the job queues' depth and age (read from the database at
 * scrape time, so every instance reports the same shared queue), and prom-client's default
 * process metrics. Label values are fixed sets, catalog names or bounded operation names: never
 * ids, tenants or anything a request carried besides its operation's name.
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import type { QueueStats } from './queue-stats.ts';

/** Operation names kept as label values; later names, and names of another shape, count as `other`. */
export const MAX_OPERATION_NAMES = 100;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface MetricsOptions {
  logger: Logger;
  /** One statement reading every queue's depth and age; run on each scrape. */
  readQueues: () => Promise<QueueStats[]>;
}

export interface Metrics {
  registry: Registry;
  requests: Counter<'operation' | 'outcome'>;
  requestDuration: Histogram<'operation'>;
  deliveries: Counter<'outcome'>;
  verifications: Counter<'provider' | 'outcome'>;
  /** Provider calls of operations by provider and outcome (src/operations/call.ts). */
  providerCalls: Counter<'provider' | 'outcome'>;
  responseCache: Counter<'outcome'>;
  /** Sealed records that could not be opened at run time, by what they hold (src/crypto/unreadable.ts). */
  decryptionFailures: Counter<'what'>;
  /** The Yoga plugin that counts and times GraphQL requests. */
  plugin: Plugin;
  /** Counts and times a request the lean path answered (src/http/lean-graphql.ts) from its start: always `ok`. */
  answered(operationName: string | null, started: number): void;
  /**
   * A request the lean path handed to Yoga after something ran (no parse there): its operation's
   * name, whether it executed, and its start, which was before Yoga's.
   */
  handedOver(request: Request, handedOver: { operationName: string | null; started: number; executed: boolean }): void;
  /**
   * Counts and times an operation a WebSocket ran (src/http/websocket.ts), from its subscribe
   * message until its result or stream was ready: its name, whether it executed (a name becomes a
   * label only then), and the outcome its result or refusal says, as for HTTP requests.
   */
  socketOperation(operation: { name: string | null | undefined; executed: boolean; outcome: string; started: number }): void;
  /** The text exposition of every metric, queue gauges read fresh. */
  scrape(): Promise<string>;
}

/**
 * The outcome of an operation whose errors came without an HTTP status (a WebSocket's): refused
 * credentials and rate limits by their code, then as `requestOutcome` for a 200.
 */
export function errorsOutcome(errors: readonly { extensions?: Record<string, unknown> }[] | undefined, hasData: boolean): string {
  if (!errors?.length) return 'ok';
  const codes = new Set(errors.map((e) => e.extensions?.code));
  if (codes.has('UNAUTHENTICATED')) return 'unauthenticated';
  if (codes.has('RATE_LIMITED')) return 'rate_limited';
  return requestOutcome(200, hasData ? 'field' : 'request');
}

/** What errors a response carried: none, a request error (nothing executed), or field errors. */
export type ResultErrors = 'none' | 'request' | 'field';

/**
 * The outcome of one GraphQL request: `ok`; `graphql_error` when execution produced errors (a
 * missing scope, a masked failure; the typed errors of mutations are data, not errors);
 * `rejected` when the request was refused before execution (malformed, invalid, over a document
 * limit: 4xx, or 200 with a request error as `application/json` clients get it);
 * `unauthenticated` (401); `rate_limited` (429); `server_error` (5xx).
 */
export function requestOutcome(status: number, errors: ResultErrors): string {
  if (status === 401) return 'unauthenticated';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  if (status >= 400 || errors === 'request') return 'rejected';
  return errors === 'field' ? 'graphql_error' : 'ok';
}

/**
 * The operation label of a request: its operation's name, `anonymous` for an unnamed one,
 * `unknown` when no operation could be read (unparsable, ambiguous). A name becomes a label
 * value only from a request that was authenticated and valid (`admit`), while fewer than
 * MAX_OPERATION_NAMES are known: no client can flood the label space.
 */
export function operationLabel(known: Set<string>, name: string | null | undefined, admit: boolean): string {
  if (name === undefined) return 'unknown';
  if (name === null) return 'anonymous';
  if (known.has(name)) return name;
  if (admit && OPERATION_NAME.test(name) && known.size < MAX_OPERATION_NAMES) {
    known.add(name);
    return name;
  }
  return 'other';
}

/** Per the GraphQL spec, a result with errors and no `data` entry is a request error. */
function resultErrors(result: unknown): ResultErrors {
  let found: ResultErrors = 'none';
  for (const r of Array.isArray(result) ? result : [result]) {
    if (typeof r !== 'object' || r === null || !('errors' in r) || !Array.isArray(r.errors) || !r.errors.length) continue;
    if (!('data' in r)) return 'request';
    found = 'field';
  }
  return found;
}

interface RequestState {
  started: number;
  /** Reached parameter parsing: a GraphQL request, not the GraphiQL page. */
  graphql: boolean;
  /** The operation's name (null: anonymous); undefined until the document parsed. */
  name?: string | null;
  /** Passed authentication and validation. */
  executed: boolean;
  errors: ResultErrors;
}

/** Counts and times one GraphQL request: its operation (admitted as a label or not), outcome and start. */
type RecordRequest = (name: string | null | undefined, admit: boolean, outcome: string, started: number) => void;

function graphqlPlugin(states: WeakMap<Request, RequestState>, record: RecordRequest): Plugin {
  const markExecuted = (request: Request) => {
    const state = states.get(request);
    if (state) state.executed = true;
  };
  return {
    onRequest({ request }) {
      states.set(request, { started: performance.now(), graphql: false, executed: false, errors: 'none' });
    },
    onParams({ request }) {
      const state = states.get(request);
      if (state) state.graphql = true;
    },
    onParse({ context }) {
      return ({ result }) => {
        const state = states.get(context.request);
        if (!state || !result || result instanceof Error) return;
        const operation = getOperationAST(result, context.params.operationName);
        if (operation) state.name = operation.name?.value ?? null;
      };
    },
    onExecute({ args }) {
      markExecuted(args.contextValue.request);
    },
    onSubscribe({ args }) {
      markExecuted(args.contextValue.request);
    },
    onResultProcess({ request, result }) {
      const state = states.get(request);
      if (state) state.errors = resultErrors(result);
    },
    // for a subscription, the time until its stream opened
    onResponse({ request, response }) {
      const state = states.get(request);
      states.delete(request);
      if (!state || (!state.graphql && response.status < 400)) return;
      record(state.name, state.executed, requestOutcome(response.status, state.errors), state.started);
    },
  };
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const requests = new Counter({
    name: 'icp_graphql_requests_total',
    help: 'GraphQL requests by operation name and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: 'icp_graphql_request_duration_seconds',
    help: 'Time from a GraphQL request being read to its response starting, by operation name',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const deliveries = new Counter({
    name: 'icp_webhook_deliveries_total',
    help: 'Webhook delivery jobs by outcome: succeeded, retry, failed (gave up), gone (410), paused (held), cancelled, held (signing secret unreadable, queued again)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const verifications = new Counter({
    name: 'icp_integration_verifications_total',
    help: 'Integration verifications by provider and outcome: active, error, retry, superseded, held (credentials unreadable, queued again)',
    labelNames: ['provider', 'outcome'] as const,
    registers,
  });
  const providerCalls = new Counter({
    name: 'icp_operation_provider_calls_total',
    help: 'Provider calls made by operations, by provider and outcome: SUCCEEDED, TRANSIENT_FAILURE, AUTH_FAILURE, REJECTED',
    labelNames: ['provider', 'outcome'] as const,
    registers,
  });
  const responseCache = new Counter({
    name: 'icp_graphql_response_cache_total',
    help: 'Cacheable GraphQL queries: hit (answered from the response cache), miss (executed and kept), bypass (executed, not kept)',
    labelNames: ['outcome'],
    registers,
  });
  const decryptionFailures = new Counter({
    name: 'icp_decryption_failures_total',
    help: 'Sealed records the keyring could not open at run time, by what they hold: integration_credentials, webhook_signing_secret, webhook_headers (their work was held; alert on any)',
    labelNames: ['what'] as const,
    registers,
  });
  // both series exist from the start, at 0, so an alert on their increase sees the first one
  for (const what of ['integration_credentials', 'webhook_signing_secret', 'webhook_headers']) decryptionFailures.inc({ what }, 0);
  const queueJobs = new Gauge({
    name: 'icp_queue_jobs',
    help: 'Unfinished jobs by queue and state: ready (could run now), scheduled (waiting for a later start), active',
    labelNames: ['queue', 'state'] as const,
    registers,
  });
  const queueAge = new Gauge({
    name: 'icp_queue_oldest_job_age_seconds',
    help: 'How long the oldest ready job of each queue has been waiting since it could have run',
    labelNames: ['queue'] as const,
    registers,
  });

  async function refreshQueues() {
    queueJobs.reset();
    queueAge.reset();
    let stats: QueueStats[];
    try {
      stats = await options.readQueues();
    } catch (err) {
      // the rest of the scrape is still worth having; the queue series are absent this time
      options.logger.warn({ error: (err as Error).message }, 'queue metrics could not be read');
      return;
    }
    for (const s of stats) {
      queueJobs.set({ queue: s.queue, state: 'ready' }, s.ready);
      queueJobs.set({ queue: s.queue, state: 'scheduled' }, s.scheduled);
      queueJobs.set({ queue: s.queue, state: 'active' }, s.active);
      queueAge.set({ queue: s.queue }, s.oldestReadySeconds);
    }
  }

  /** Operation names admitted as label values, and what is known of each request in flight. */
  const known = new Set<string>();
  const states = new WeakMap<Request, RequestState>();
  const record: RecordRequest = (name, admit, outcome, started) => {
    const operation = operationLabel(known, name, admit);
    requests.inc({ operation, outcome });
    requestDuration.observe({ operation }, (performance.now() - started) / 1000);
  };
  return {
    registry,
    requests,
    requestDuration,
    deliveries,
    verifications,
    providerCalls,
    responseCache,
    decryptionFailures,
    plugin: graphqlPlugin(states, record),
    answered(operationName, started) {
      record(operationName, true, 'ok', started);
    },
    socketOperation({ name, executed, outcome, started }) {
      record(name, executed, outcome, started);
    },
    handedOver(request, { operationName, started, executed }) {
      const state = states.get(request);
      if (!state) return;
      state.name = operationName;
      state.executed = executed;
      state.started = started;
    },
    async scrape() {
      await refreshQueues();
      return registry.metrics();
    },
  };
}
