/**
 * A subscription over HTTP streams only as Server-Sent Events: Yoga keeps multipart/mixed for
 * incremental delivery of queries, and Apollo Client's multipart subscription protocol is another
 * format again. A subscription whose Accept allows no event stream (Apollo's
 * `multipart/mixed;subscriptionSpec="1.0", application/json`, or JSON alone) is refused before it
 * starts, with a 406 JSON body naming the transports that work, instead of Yoga's bare 406.
 */
import { GraphQLError } from 'graphql';
import { type Plugin, processRegularResult } from 'graphql-yoga';

export const UNSUPPORTED_TRANSPORT_MESSAGE =
  'Subscriptions are served over Server-Sent Events (send Accept: text/event-stream) or over a WebSocket ' +
  'speaking graphql-transport-ws (the graphql-ws library) at /graphql; multipart HTTP subscriptions are not supported';

function unsupportedTransport(): GraphQLError {
  return new GraphQLError(UNSUPPORTED_TRANSPORT_MESSAGE, {
    extensions: { code: 'UNSUPPORTED_TRANSPORT', http: { status: 406 } },
  });
}

/** Whether Accept lets Yoga stream Server-Sent Events: its own reading (no Accept is `*∕*`, utf-8 only). */
export function acceptsEventStream(accept: string | null): boolean {
  for (const range of (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const [mediaType = '', ...params] = range.split(';');
    const charset = params.find((p) => p.startsWith('charset='));
    if (charset && charset !== 'charset=utf-8') continue;
    const [type, subtype] = mediaType.split('/');
    if ((type === '*' || type === 'text') && (subtype === '*' || subtype === 'event-stream')) return true;
  }
  return false;
}

/**
 * Goes after refuseSubscriptionsUpFront (its answer is replaced here) and before the stream
 * admission: a refused subscription takes no stream slot and its resolver never runs.
 */
export function refuseUnsupportedSubscriptionTransports(): Plugin {
  const refused = new WeakSet<Request>();
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      // WebSocket operations carry no Request of Yoga's (src/http/websocket.ts)
      if (!request || (args.contextValue as { websocket?: unknown }).websocket || acceptsEventStream(request.headers.get('accept'))) return;
      refused.add(request);
      setResultAndStopExecution({ errors: [unsupportedTransport()] });
    },
    onResultProcess({ request, setResultProcessor }) {
      if (!refused.has(request)) return;
      // JSON whatever the Accept: the client asked for a stream it cannot get, the body says why
      setResultProcessor(
        (_result, fetchAPI) => processRegularResult({ errors: [unsupportedTransport()] }, fetchAPI, 'application/json'),
        'application/json',
      );
    },
  };
}
