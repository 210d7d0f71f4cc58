/**
 * The in-repo yardstick of `requests.ts` (#18): the integrations page and the webhooks page served
 * by graphql-yoga and plain `pg` with a schema written by hand, on the service's database, role and
 * row-level security, with the same token checks and the project's own presentation helpers. What a
 * straightforward build pays for the pages; same IPC protocol as `bench/server.ts`.
 *
 * The integrations page is read by its own statements, in a transaction that sets the tenant. The
 * webhooks page is one call of the service's own `icp_webhook_page_v2`, with the arguments the
 * service gives it and sent as the service sends it: the database does the same work for both, so
 * the difference between the two is what the service's request pipeline and GraphQL layer cost
 * (resolvers that read properties, against Pothos, plugin-prisma and scope checks).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { type FieldNode, GraphQLError, type GraphQLResolveInfo, type SelectionSetNode, valueFromASTUntyped } from 'graphql';
import { DateTimeResolver, JSONObjectResolver, JSONResolver, URLResolver } from 'graphql-scalars';
import { createSchema, createYoga } from 'graphql-yoga';
import { jwtVerify } from 'jose';
import pg from 'pg';
import { claimProblem } from '../src/auth/claims.ts';
import { parseScopeClaim } from '../src/auth/scopes.ts';
import { DEFAULT_DATA_RETENTION, parseRetention } from '../src/config-values.ts';
import { deliveryGlobalId, integrationGlobalId, webhookGlobalId } from '../src/ids.ts';
import { credentialFields, publicCredentials } from '../src/integrations/present.ts';
import { findProvider } from '../src/providers/catalog.ts';
import { MAX_LISTED_ATTEMPTS } from '../src/webhooks/policy.ts';
import type { Message } from './server.ts';

if (!process.send) {
  console.error('bench/peer-server.ts is started by bench/requests.ts (it needs an IPC channel)');
  process.exit(2);
}
const send = (message: Message) => process.send!(message);

// Prisma writes timestamp(3) without time zone in UTC; pg would read it in the process's zone
pg.types.setTypeParser(pg.types.builtins.TIMESTAMP, (s) => new Date(`${s.replace(' ', 'T')}Z`));
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }); // the service's pool size
let statements = 0;
let transactionStatements = 0;
const sql = (client: pg.PoolClient, text: string, values?: unknown[]) => {
  if (/^(BEGIN|COMMIT|ROLLBACK)$/.test(text)) transactionStatements++;
  else statements++;
  return client.query(text, values);
};

// the service's checks (src/auth/jwt.ts): HS256 only, `exp` required, 5 s of clock tolerance, a key imported once
const key = await crypto.subtle.importKey(
  'raw',
  new TextEncoder().encode(process.env.AUTH_JWT_SECRET),
  { name: 'HMAC', hash: 'SHA-256' },
  false,
  ['verify'],
);
interface Caller {
  tenantId: string;
  scopes: ReadonlySet<string>;
}
const verified = new Map<string, Caller & { until: number }>();
async function callerOf(authorization: string | null): Promise<Caller> {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
  const known = verified.get(token);
  if (known && known.until > Date.now()) return known;
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], clockTolerance: 5, requiredClaims: ['exp'] });
    if (claimProblem('tenant_id', payload.tenant_id)) throw new Error();
    // remembered until `exp` or for 60 s, whichever is first, as the service does
    const caller = {
      tenantId: payload.tenant_id as string,
      scopes: parseScopeClaim(payload.scope),
      until: Math.min(Date.now() + 60_000, (payload.exp! + 5) * 1000),
    };
    verified.set(token, caller);
    return caller;
  } catch {
    throw new GraphQLError('not authenticated', { extensions: { http: { status: 401 } } });
  }
}

/** Each field's scope, checked once per request as the service's root fields are. */
function tenantWith(ctx: Caller, scope: string): string {
  if (!ctx.scopes.has(scope)) throw new GraphQLError(`not allowed: needs ${scope}`);
  return ctx.tenantId;
}

/** A Relay cursor of `cursor: 'id'` as @pothos/plugin-prisma writes it: base64 of `GPC:` and the tagged string chunk. */
const cursorOf = (id: string) => Buffer.from(`GPC:S:${id}`).toString('base64');

/** In a transaction that sets the tenant for row-level security, as the service's reads do. */
async function asTenant<T>(tenantId: string, read: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await sql(client, 'BEGIN');
    await sql(client, `SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    const result = await read(client);
    await sql(client, 'COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

function pageSize(first: number | null | undefined, fallback: number): number {
  const n = first ?? fallback;
  if (n < 0 || n > 100) throw new GraphQLError('first must be between 0 and 100');
  return n;
}

const COLUMNS = `id, provider, status, version, "enabledCapabilities", metadata, config, "secretKeys", "createdAt", "updatedAt", "verifiedAt", "lastError"`;
type Row = Parameters<typeof credentialFields>[0] & { id: string };

async function integrations(tenantId: string, first: number) {
  const { rows, totalCount } = await asTenant(tenantId, async (client) => {
    const where = `FROM "Integration" WHERE "tenantId" = $1 AND "deletedAt" IS NULL`;
    const { rows } = await sql(client, `SELECT ${COLUMNS} ${where} ORDER BY id DESC LIMIT $2`, [tenantId, first + 1]);
    // a first page that is not cut holds every row: it is its own count, as the service skips its COUNT
    const totalCount =
      rows.length <= first ? rows.length : Number((await sql(client, `SELECT count(*) ${where}`, [tenantId])).rows[0].count);
    return { rows, totalCount };
  });
  const page = rows.slice(0, first) as Row[];
  const edges = page.map((node) => ({ cursor: cursorOf(node.id), node }));
  return { totalCount, edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}

// The webhooks page: what the service's `icp_webhook_page_v2` gives, put in the GraphQL shape.
// Its instants are `timestamp` texts, UTC without a zone, as Prisma stores them.
type Json = Record<string, unknown>;
const instant = (text: unknown) => (text == null ? null : new Date(`${text as string}Z`));
/** The retention window the service reads by: the bench's server is given no DATA_RETENTION. */
const DATA_RETENTION_MS = parseRetention(DEFAULT_DATA_RETENTION);

/** The field `name` among `set`'s fields (the bench's query has no fragments). */
const fieldIn = (set: SelectionSetNode | undefined, name: string) =>
  set?.selections.find((s): s is FieldNode => s.kind === 'Field' && s.name.value === name);

/** `webhooks { edges { node { deliveries(first: n) } } }`: n (25 when not given), or null when not asked for. */
function deliveriesFirst(info: GraphQLResolveInfo): number | null {
  const node = fieldIn(fieldIn(info.fieldNodes[0]!.selectionSet, 'edges')?.selectionSet, 'node');
  const deliveries = fieldIn(node?.selectionSet, 'deliveries');
  if (!deliveries) return null;
  const first = deliveries.arguments?.find((a) => a.name.value === 'first');
  return pageSize(first ? (valueFromASTUntyped(first.value, info.variableValues) as number | null) : null, 25);
}

/**
 * One call, as the service makes it (src/webhooks/first-page.ts): the function sets the tenant for
 * row-level security itself. Its flags follow what the bench's query asks for (deliveries with
 * their count, events without payload, attempts without body), not the selection.
 */
async function webhooks(tenantId: string, first: number, deliveriesFirst: number | null) {
  const since = new Date(Date.now() - DATA_RETENTION_MS).toISOString().replace('Z', '');
  const withDeliveries = deliveriesFirst !== null;
  statements++;
  const { rows } = await pool.query(
    `SELECT icp_webhook_page_v2($1, null, null, null, null, false, $2, $3, null, $4, $5, $5, false, $6, false) AS page`,
    [tenantId, first + 1, withDeliveries ? deliveriesFirst + 1 : null, since, withDeliveries, withDeliveries ? MAX_LISTED_ATTEMPTS : null],
  );
  const page = rows[0].page as { rows: Json[]; matching: number; deliveries?: Json[][]; counts?: number[] };
  const edges = page.rows.slice(0, first).map((webhook, i) => ({
    cursor: cursorOf(webhook.id as string),
    node: {
      ...webhook,
      deliveries: {
        totalCount: page.counts?.[i] ?? 0,
        edges: (page.deliveries?.[i] ?? []).slice(0, deliveriesFirst ?? 0).map((node) => ({ cursor: cursorOf(node.id as string), node })),
      },
    },
  }));
  return {
    totalCount: page.matching,
    edges,
    pageInfo: { hasNextPage: page.rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

const schema = createSchema<Caller>({
  typeDefs: /* GraphQL */ `
    scalar DateTime
    scalar JSON
    scalar JSONObject
    enum IntegrationStatus { PENDING_VERIFY ACTIVE INACTIVE ERROR }
    enum ProviderCategory { PAYMENT COMMUNICATION EMAIL E_SIGNATURE AI }
    type Provider { name: String! displayName: String! category: ProviderCategory! capabilities: [String!]! }
    type CredentialValue { key: String! isSet: Boolean! sensitive: Boolean! value: JSON }
    type Integration {
      id: ID! status: IntegrationStatus! version: Int! enabledCapabilities: [String!]! metadata: JSONObject!
      createdAt: DateTime! updatedAt: DateTime! verifiedAt: DateTime lastError: String
      provider: Provider! credentialFields: [CredentialValue!]! credentials: JSONObject!
    }
    type PageInfo { hasNextPage: Boolean! endCursor: String }
    type IntegrationEdge { cursor: String! node: Integration! }
    type IntegrationConnection { totalCount: Int! pageInfo: PageInfo! edges: [IntegrationEdge!]! }
    type Query {
      integrations(first: Int): IntegrationConnection!
      webhooks(first: Int): WebhookConnection!
    }
    scalar URL
    enum WebhookStatus { ACTIVE DISABLED PAUSED }
    enum DeliveryStatus { FAILED PENDING SUCCEEDED }
    type RetryPolicy { maxAttempts: Int! timeoutMs: Int! }
    type Event { id: ID! type: String! occurredAt: DateTime! }
    type DeliveryAttempt { attemptNumber: Int! startedAt: DateTime! durationMs: Int! responseStatus: Int error: String }
    type WebhookDelivery {
      id: ID! status: DeliveryStatus! attemptCount: Int! nextAttemptAt: DateTime createdAt: DateTime!
      event: Event! attempts: [DeliveryAttempt!]!
    }
    type WebhookDeliveryEdge { cursor: String! node: WebhookDelivery! }
    type WebhookDeliveryConnection { totalCount: Int! edges: [WebhookDeliveryEdge!]! }
    type Webhook {
      id: ID! name: String! url: URL! status: WebhookStatus! eventTypes: [String!]! consecutiveFailures: Int!
      lastDeliveryAt: DateTime lastDeliveryStatus: String retryPolicy: RetryPolicy!
      deliveries(first: Int): WebhookDeliveryConnection!
    }
    type WebhookEdge { cursor: String! node: Webhook! }
    type WebhookConnection { totalCount: Int! pageInfo: PageInfo! edges: [WebhookEdge!]! }
  `,
  resolvers: {
    DateTime: DateTimeResolver,
    JSON: JSONResolver,
    JSONObject: JSONObjectResolver,
    URL: URLResolver,
    Query: {
      integrations: (_root: unknown, args: { first?: number | null }, ctx: Caller) =>
        integrations(tenantWith(ctx, 'integrations:read'), pageSize(args.first, 25)),
      // the page and, as the service's plugin-prisma plans it, its deliveries' first argument read
      // from the selection before anything is loaded (the bench's query asks for one page size)
      webhooks: (_root: unknown, args: { first?: number | null }, ctx: Caller, info: GraphQLResolveInfo) =>
        webhooks(tenantWith(ctx, 'webhooks:read'), pageSize(args.first, 25), deliveriesFirst(info)),
    },
    Webhook: {
      id: (w: Json) => webhookGlobalId(w.id as string),
      lastDeliveryAt: (w: Json) => instant(w.lastDeliveryAt),
      retryPolicy: (w: Json) => ({ maxAttempts: w.maxAttempts, timeoutMs: w.timeoutMs }),
    },
    WebhookDelivery: {
      id: (d: Json) => deliveryGlobalId(d.id as string),
      createdAt: (d: Json) => instant(d.createdAt),
      nextAttemptAt: (d: Json) => instant(d.nextAttemptAt),
    },
    Event: {
      id: (e: Json) => encodeGlobalID('Event', e.id as string),
      occurredAt: (e: Json) => instant(e.occurredAt),
    },
    DeliveryAttempt: { startedAt: (a: Json) => instant(a.startedAt) },
    Provider: { capabilities: (p: { capabilities: readonly string[] }) => [...p.capabilities] },
    Integration: {
      id: (row: Row) => integrationGlobalId(row.id),
      provider: (row: Row) => findProvider(row.provider),
      credentials: (row: Row) => publicCredentials(row),
      credentialFields: (row: Row) => credentialFields(row),
    },
  },
});
// every request authenticates, `{ __typename }` included, as the service's do
const yoga = createYoga({
  schema,
  context: ({ request }) => callerOf(request.headers.get('authorization')),
  logging: false,
});
const server = createServer(yoga);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

function stop() {
  server.closeAllConnections();
  server.close(() => void pool.end().finally(() => process.exit(0)));
}
process.on('message', (message: { type?: string }) => {
  if (message.type === 'stats') {
    const cpu = process.cpuUsage();
    send({ type: 'stats', statements, transactionStatements, rss: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system });
  } else if (message.type === 'stop') {
    stop();
  }
});
process.on('disconnect', stop);
send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, database: 'postgresql' });
