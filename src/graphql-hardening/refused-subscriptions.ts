/**
 * A subscription refused when it starts (a missing scope, a target that is not the caller's) is
 * answered as one JSON error with its HTTP status, never as an event stream: the client learns it
 * at once, and nothing streams (no frame per event, no timing to read) for a request that may not
 * run. Scopes are checked at subscribe time (`authorizeOnSubscribe` in src/builder.ts).
 */
import { type ExecutionResult, GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin, processRegularResult } from 'graphql-yoga';

const STATUS_BY_CODE: Record<string, number> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, RATE_LIMITED: 429 };

function withStatus(error: GraphQLError, status: number): GraphQLError {
  const http = { ...(error.extensions.http as object | undefined), status };
  const { nodes, source, positions, path, originalError } = error;
  return new GraphQLError(error.message, { nodes, source, positions, path, originalError, extensions: { ...error.extensions, http } });
}

export function refuseSubscriptionsUpFront(): Plugin {
  const subscriptions = new WeakSet<Request>();
  return {
    onSubscribe({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (request) subscriptions.add(request);
    },
    onResultProcess({ request, result, setResultProcessor }) {
      if (!subscriptions.has(request) || isAsyncIterable(result) || Array.isArray(result)) return;
      const { errors } = result as ExecutionResult;
      if (!errors?.length) return;
      const status = Math.max(...errors.map((e) => STATUS_BY_CODE[String(e.extensions?.code)] ?? 400));
      const refused = { errors: errors.map((e) => (e instanceof GraphQLError ? withStatus(e, status) : e)) };
      setResultProcessor((_result, fetchAPI) => processRegularResult(refused, fetchAPI, 'application/json'), 'application/json');
    },
  };
}
