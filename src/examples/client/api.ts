/**
 * The typed transport of the client example: queries and mutations over plain fetch, and
 * subscriptions over Server-Sent Events with graphql-sse's client (Yoga serves the protocol's
 * "distinct connections" mode at /graphql: one SSE response per subscription). Every call takes a
 * TypedDocumentNode generated from operations.graphql, so variables and results are typed by
 * schema.graphql and a query that no longer matches the schema fails `npm run typecheck`.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, print } from 'graphql';
import { createClient, type ExecutionResult } from 'graphql-sse';

type Variables = Record<string, unknown>;

export interface ApiOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  /** The credential: `authorization: Bearer <JWT>` or `x-api-key`. */
  headers: Record<string, string>;
}

/** The answer carried GraphQL errors (or no data): unauthenticated, forbidden, invalid… */
export class GraphQLRequestError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly errors: readonly { message: string; extensions?: Record<string, unknown> }[],
  ) {
    super(
      `${operation}: ${errors.map((e) => `${e.message}${e.extensions?.code ? ` (${String(e.extensions.code)})` : ''}`).join('; ') || `HTTP ${status}`}`,
    );
    this.name = 'GraphQLRequestError';
  }
}

/** One of a mutation's typed errors (the non-payload members of its result union). */
export interface Failure {
  __typename: string;
  code?: string;
  message?: string;
  fieldErrors?: { path: string[]; message: string }[];
}

export class MutationFailedError extends Error {
  constructor(readonly failure: Failure) {
    const fields = failure.fieldErrors?.map((e) => `${e.path.join('.')}: ${e.message}`).join('; ');
    super(`${failure.__typename} ${failure.code ?? ''}: ${failure.message ?? ''}${fields ? ` (${fields})` : ''}`);
    this.name = 'MutationFailedError';
  }
}

/** A mutation result union narrowed to its payload; any typed error is thrown. */
export function expectPayload<T extends { __typename: string }, N extends T['__typename']>(
  result: T,
  typename: N,
): Extract<T, { __typename: N }> {
  if (result.__typename === typename) return result as Extract<T, { __typename: N }>;
  throw new MutationFailedError(result as Failure);
}

function operationName(document: DocumentNode): string {
  const operation = document.definitions.find((d) => d.kind === 'OperationDefinition');
  return operation?.kind === 'OperationDefinition' ? (operation.name?.value ?? 'anonymous') : 'anonymous';
}

export interface WatchOptions<TResult> {
  /**
   * Runs once the stream is open: whatever it causes (or reads) cannot slip past the
   * subscription. A result it returns is judged like one from the stream.
   */
  start?: () => Promise<TResult | undefined>;
  /** True on the result waited for; a throw ends the wait with that error. */
  until: (data: TResult) => boolean;
  timeoutMs: number;
}

export interface Api {
  request<TResult, TVariables extends Variables>(document: TypedDocumentNode<TResult, TVariables>, variables: TVariables): Promise<TResult>;
  /** Subscribes and resolves with the first result `until` accepts, then unsubscribes. */
  watch<TResult, TVariables extends Variables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    options: WatchOptions<TResult>,
  ): Promise<TResult>;
  close(): void;
}

export function createApi({ url, headers }: ApiOptions): Api {
  // No retries: an example should fail loudly, not reconnect behind the reader's back.
  const sse = createClient({ url, headers, retryAttempts: 0 });

  async function request<TResult, TVariables extends Variables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
  ): Promise<TResult> {
    const name = operationName(document);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
      body: JSON.stringify({ query: print(document), variables, operationName: name }),
    });
    const body = (await res.json().catch(() => ({}))) as ExecutionResult<TResult>;
    if (body.errors?.length || body.data == null) throw new GraphQLRequestError(name, res.status, body.errors ?? []);
    return body.data;
  }

  function watch<TResult, TVariables extends Variables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    { start, until, timeoutMs }: WatchOptions<TResult>,
  ): Promise<TResult> {
    const name = operationName(document);
    return new Promise<TResult>((resolve, reject) => {
      let settled = false;
      let dispose = () => {};
      const finish = (error: unknown, data?: TResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        dispose();
        if (error) reject(error);
        else resolve(data as TResult);
      };
      const judge = (data: TResult | undefined) => {
        if (data === undefined || settled) return;
        try {
          if (until(data)) finish(null, data);
        } catch (err) {
          finish(err);
        }
      };
      const timer = setTimeout(() => finish(new Error(`${name}: nothing matched within ${timeoutMs} ms`)), timeoutMs);
      dispose = sse.subscribe<TResult>(
        { query: print(document), variables, operationName: name },
        {
          next: (result) => {
            if (result.errors?.length || result.data == null) finish(new GraphQLRequestError(name, 200, result.errors ?? []));
            else judge(result.data);
          },
          error: (err) => finish(err instanceof Error ? err : new Error(`${name}: ${String(err)}`)),
          complete: () => finish(new Error(`${name}: the stream ended before a match`)),
        },
        { connected: () => void start?.().then(judge, finish) },
      );
    });
  }

  return { request, watch, close: () => sse.dispose() };
}
