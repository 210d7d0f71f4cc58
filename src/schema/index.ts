/** The schema: the domain files register their types on the builder; this puts them together. */
import { builder } from '../builder.ts';
import { countListItems } from '../graphql-hardening/execution-limits.ts';
import { resolveNodeIdsAtOnce } from './node-ids.ts';
import './errors.ts';
import './provider.ts';
import './integration.ts';
import './integration-mutations.ts';
import './routing-rule.ts';
import './webhook.ts';
import './webhook-mutations.ts';
import './event.ts';
import './api-key.ts';
import './operation.ts';
import './operation-mutations.ts';
import './viewer.ts';
import './audit.ts';
import './subscriptions.ts';
import './connect-session.ts';

builder.queryType({ description: 'Reads. Every field needs credentials (Authorization: Bearer <JWT> or x-api-key).' });
builder.mutationType({ description: 'Changes. Each takes `input` and returns a result union of its payload and the errors it can raise.' });
builder.subscriptionType({ description: 'Live updates over Server-Sent Events (Accept: text/event-stream).' });

// every list of objects counts its items against the request's budget (execution-limits.ts)
export const schema = countListItems(builder.toSchema());
// node ids without a promise per object (node-ids.ts)
resolveNodeIdsAtOnce(schema, builder.options.relay?.encodeGlobalID);
