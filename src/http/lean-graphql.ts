/**
 * The lean path for the common GraphQL request, a POST of a JSON query or mutation from a client
 * that is not a browser: it runs on Yoga's own envelop without Yoga's Fetch-API layer and answers
 * 200 with the JSON Yoga would have written. Anything else is Yoga's before anything runs, and what goes wrong
 * after something ran is handed to Yoga as it is (`rethrowFailedContext`, `plugin`), so nothing is
 * executed or logged twice. What it takes, and why: docs/design-notes.md.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLError,
  type GraphQLSchema,
  getOperationAST,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isPlainResult } from '../graphql-hardening/result-errors.ts';

/** What this path uses of Yoga: its envelop, made for one request's initial context. */
export interface Envelop {
  getEnveloped(initialContext: never): {
    schema: GraphQLSchema;
    parse(source: string): DocumentNode;
    validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[];
    contextFactory(): unknown;
    execute(args: ExecutionArgs): unknown;
  };
}

const JSON_CONTENT_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** The media type Yoga answers a successful query with, by `Accept`; undefined: let Yoga decide. */
function answerMediaType(accept: string | undefined): string | undefined {
  const asked = accept?.trim().toLowerCase();
  if (!asked || asked === '*/*' || asked === 'application/json') return 'application/json';
  if (asked === 'application/graphql-response+json') return asked;
  return undefined;
}

interface Params {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The body as GraphQL parameters this path takes, or undefined. */
function queryParams(body: Buffer): Params | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isPlainObject(parsed) || typeof parsed.query !== 'string') return undefined;
  for (const key in parsed) if (key !== 'query' && key !== 'variables' && key !== 'operationName') return undefined;
  const { variables, operationName } = parsed;
  if (variables != null && !isPlainObject(variables)) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  return parsed as unknown as Params;
}

/** The headers of a Fetch Request, read from what Node has already parsed. */
class NodeHeaders {
  constructor(private readonly req: IncomingMessage) {}

  get(name: string): string | null {
    const value = this.req.headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.req.headers[name.toLowerCase()] !== undefined;
  }
}

/** The part of a Fetch Request that plugins and the context read on this path; none is built. */
function requestHead(req: IncomingMessage): Request {
  return { method: req.method, url: req.url, headers: new NodeHeaders(req) } as unknown as Request;
}

export interface LeanPathOptions {
  /** An answer this path gave (operation name: null when anonymous), and when it began (`performance.now()`). */
  onAnswered?(operationName: string | null, started: number): void;
  /** A request handed to Yoga after something ran here (Yoga's Request for it, and what ran). */
  onHandedOver?(request: Request, handedOver: { operationName: string | null; started: number; executed: boolean }): void;
}

export interface LeanPath {
  /** Goes in Yoga's plugins: gives Yoga the results with errors this path handed over. */
  plugin: Plugin<{ req: IncomingMessage }>;
  /** Throws, once, the error this path's context building met for `req` (the context function calls it first). */
  rethrowFailedContext(req: IncomingMessage): void;
  /** Answers the request (true), or leaves it to Yoga untouched or with what ran (false). */
  answer(yoga: Envelop, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<boolean>;
}

/** What ran here for a request handed to Yoga. */
interface HandedOver {
  /** Its operation's name (null: anonymous), as the metrics label it. */
  operationName: string | null;
  /** When this path began on it (`performance.now()`): the request's time counts from there. */
  started: number;
  /** Whether its context was built (a failed context is not): the metrics admit its name then. */
  executed: boolean;
  result?: ExecutionResult;
  /** Execution threw. */
  error?: unknown;
}

export function createLeanPath(options: LeanPathOptions = {}): LeanPath {
  const handedOver = new WeakMap<IncomingMessage, HandedOver>();
  const failedContexts = new WeakMap<IncomingMessage, { error: unknown }>();

  return {
    plugin: {
      onParams({ request, setResult, setParamsHandler, context }) {
        const req = (context as { req?: IncomingMessage }).req;
        const given = req && handedOver.get(req);
        if (!given) return;
        handedOver.delete(req);
        options.onHandedOver?.(request, given);
        if (given.result) return setResult(given.result);
        // execution threw: Yoga meets the same error where its own execution would have
        if ('error' in given) {
          setParamsHandler(() => {
            throw given.error;
          });
        }
        // else its context failed: Yoga builds it, and the context function throws that again
      },
    },

    rethrowFailedContext(req) {
      const failed = failedContexts.get(req);
      if (!failed) return;
      failedContexts.delete(req);
      throw failed.error;
    },

    async answer(yoga, req, res, body) {
      const started = performance.now();
      const contentType = req.headers['content-type'];
      const mediaType = answerMediaType(req.headers.accept);
      if (!mediaType || !contentType || !JSON_CONTENT_TYPE.test(contentType) || req.headers.origin !== undefined) return false;
      const params = queryParams(body);
      if (!params) return false;

      const enveloped = yoga.getEnveloped({ request: requestHead(req), params, req, res } as never);
      let document: DocumentNode;
      let operation;
      try {
        document = enveloped.parse(params.query);
        operation = getOperationAST(document, params.operationName);
        if (!operation || operation.operation === 'subscription' || enveloped.validate(enveloped.schema, document).length) return false;
      } catch {
        // Yoga meets the same and answers it
        return false;
      }
      const operationName = operation.name?.value ?? null;

      let contextValue;
      try {
        contextValue = (await enveloped.contextFactory()) as Record<string, unknown>;
      } catch (error) {
        failedContexts.set(req, { error });
        handedOver.set(req, { operationName, started, executed: false });
        return false;
      }
      let text: string;
      try {
        const result = (await enveloped.execute({
          schema: enveloped.schema,
          document,
          contextValue,
          variableValues: params.variables,
          operationName: params.operationName,
        })) as ExecutionResult & { stringify?: (result: ExecutionResult) => string };
        if (!isPlainResult(result)) {
          handedOver.set(req, { operationName, started, executed: true, result });
          return false;
        }
        text = result.stringify ? result.stringify(result) : JSON.stringify(result);
      } catch (error) {
        handedOver.set(req, { operationName, started, executed: true, error });
        return false;
      }
      res.writeHead(200, { 'content-type': `${mediaType}; charset=utf-8`, 'content-length': Buffer.byteLength(text) });
      res.end(text);
      options.onAnswered?.(operationName, started);
      return true;
    },
  };
}
