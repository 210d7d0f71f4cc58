/**
 * OpenTelemetry tracing, on when an OTLP endpoint is configured: a span per GraphQL operation and
 * per background job, sent as OTLP/HTTP JSON. The provider belongs to the app, not the process
 * (several apps share a test process); off, nothing is loaded. Spans hold names, ids and outcomes,
 * and the document only without inline literals: never variables, results or arguments, and errors
 * only as code and path. docs/configuration.md ("Metrics and tracing").
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Attributes, type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Plugin } from 'graphql-yoga';
import type { TracingConfig } from '../config.ts';
import type { JobHandler } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';

export interface Tracing {
  /** Yoga plugins tracing GraphQL operations (none when tracing is off). */
  plugins: Plugin[];
  /** Runs each job of `queue` in a span `process <queue>`. */
  traceJob<T>(queue: string, handler: JobHandler<T>): JobHandler<T>;
  /** Sets attributes on the span of the job the caller runs in, if any. */
  annotateJob(attributes: Attributes): void;
  /** Ends tracing, sending the spans still buffered. */
  shutdown(): Promise<void>;
}

export const NO_TRACING: Tracing = {
  plugins: [],
  traceJob: (_queue, handler) => handler,
  annotateJob() {},
  shutdown: async () => {},
};

/** A GraphQL error list as recorded by @envelop/opentelemetry, reduced to codes and paths. */
export function summarizeGraphQLErrors(recorded: unknown): string {
  try {
    const errors = JSON.parse(String(recorded)) as { path?: unknown; extensions?: { code?: unknown } }[];
    if (!Array.isArray(errors)) return '[redacted]';
    return JSON.stringify(errors.map((e) => ({ code: e?.extensions?.code ?? null, path: e?.path ?? null })));
  } catch {
    return '[redacted]';
  }
}

/** Rewrites the message of the exception events GraphQL plugins record before any exporter sees them. */
const scrubGraphQLErrors: SpanProcessor = {
  onStart() {},
  onEnd(span: ReadableSpan) {
    for (const event of span.events) {
      const type = event.attributes?.['exception.type'];
      if (event.attributes && typeof type === 'string' && type.startsWith('graphql.')) {
        event.attributes['exception.message'] = summarizeGraphQLErrors(event.attributes['exception.message']);
        delete event.attributes['exception.stacktrace'];
      }
    }
  },
  forceFlush: async () => {},
  shutdown: async () => {},
};

/** Passes batches on, and logs failed exports (at most once a minute) instead of dropping them silently. */
function reportingExporter(inner: SpanExporter, logger: Logger): SpanExporter {
  let lastWarning = 0;
  return {
    export(spans, done) {
      inner.export(spans, (result) => {
        // ExportResultCode.SUCCESS is 0
        if (result.code !== 0 && Date.now() - lastWarning > 60_000) {
          lastWarning = Date.now();
          logger.warn({ error: result.error?.message, spans: spans.length }, 'trace export failed');
        }
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

function jobTracing(tracer: Tracer) {
  const current = new AsyncLocalStorage<Span>();
  return {
    traceJob<T>(queue: string, handler: JobHandler<T>): JobHandler<T> {
      return async (job, control) => {
        const span = tracer.startSpan(`process ${queue}`, {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.system': 'pg-boss',
            'messaging.operation.type': 'process',
            'messaging.destination.name': queue,
            'messaging.message.id': job.id,
            'icp.job.attempt': job.retryCount + 1,
          },
        });
        try {
          await current.run(span, () => handler(job, control));
        } catch (err) {
          // the message may quote a provider's answer: only the fact is recorded
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'the job failed and goes back to the queue' });
          throw err;
        } finally {
          span.end();
        }
      };
    },
    annotateJob(attributes: Attributes) {
      current.getStore()?.setAttributes(attributes);
    },
  };
}

export async function createTracing(config: TracingConfig | undefined, logger: Logger): Promise<Tracing> {
  if (!config) return NO_TRACING;
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, resources, { useOpenTelemetry }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@envelop/opentelemetry'),
  ]);
  const resource = resources
    .defaultResource()
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
    .merge(resources.resourceFromAttributes({ 'service.name': config.serviceName }));
  const exporter = reportingExporter(new OTLPTraceExporter({ url: config.tracesUrl }), logger);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [scrubGraphQLErrors, new BatchSpanProcessor(exporter)] });
  const graphql = useOpenTelemetry(
    { variables: false, result: false, resolvers: false, document: true },
    provider,
    SpanKind.SERVER,
    {},
    config.serviceName,
  );
  return {
    plugins: [graphql as Plugin],
    ...jobTracing(provider.getTracer(config.serviceName)),
    async shutdown() {
      await provider.shutdown().catch((err: Error) => logger.warn({ error: err.message }, 'tracing did not shut down cleanly'));
    },
  };
}
