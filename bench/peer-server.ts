/**
 * The in-repo yardstick of `requests.ts` (#18): the integrations page served by graphql-yoga and
 * plain `pg` with a schema written by hand, on the service's database, role and row-level
 * security, with the same token checks and the project's own presentation helpers. What a
 * straightforward build pays for the page; same IPC protocol as `bench/server.ts`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { DateTimeResolver, JSONObjectResolver, JSONResolver } from 'graphql-scalars';
import { createSchema, createYoga } from 'graphql-yoga';
import { jwtVerify } from 'jose';
import pg from 'pg';
import { claimProblem } from '../src/auth/claims.ts';
import { parseScopeClaim } from '../src/auth/scopes.ts';
import { integrationGlobalId } from '../src/ids.ts';
import { credentialFields, publicCredentials } from '../src/integrations/present.ts';
import { findProvider } from '../src/providers/catalog.ts';
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
const verified = new Map<string, { tenantId: string; until: number }>();
async function tenantOf(authorization: string | null): Promise<string> {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
  const known = verified.get(token);
  if (known && known.until > Date.now()) return known.tenantId;
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], clockTolerance: 5, requiredClaims: ['exp'] });
    if (claimProblem('tenant_id', payload.tenant_id) || !parseScopeClaim(payload.scope).has('integrations:read')) throw new Error();
    // remembered until `exp` or for 60 s, whichever is first, as the service does
    verified.set(token, { tenantId: payload.tenant_id as string, until: Math.min(Date.now() + 60_000, (payload.exp! + 5) * 1000) });
    return payload.tenant_id as string;
  } catch {
    throw new GraphQLError('not authenticated', { extensions: { http: { status: 401 } } });
  }
}

const COLUMNS = `id, provider, status, version, "enabledCapabilities", metadata, config, "secretKeys", "createdAt", "updatedAt", "verifiedAt", "lastError"`;
type Row = Parameters<typeof credentialFields>[0] & { id: string };

async function integrations(tenantId: string, first: number) {
  if (first < 0 || first > 100) throw new GraphQLError('first must be between 0 and 100');
  const client = await pool.connect();
  try {
    await sql(client, 'BEGIN');
    await sql(client, `SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    const where = `FROM "Integration" WHERE "tenantId" = $1 AND "deletedAt" IS NULL`;
    const { rows } = await sql(client, `SELECT ${COLUMNS} ${where} ORDER BY id DESC LIMIT $2`, [tenantId, first + 1]);
    // a first page that is not cut holds every row: it is its own count, as the service skips its COUNT
    const totalCount =
      rows.length <= first ? rows.length : Number((await sql(client, `SELECT count(*) ${where}`, [tenantId])).rows[0].count);
    await sql(client, 'COMMIT');
    const page = rows.slice(0, first) as Row[];
    // @pothos/plugin-prisma's cursor of `cursor: 'id'`: base64 of `GPC:` and the tagged string chunk
    const edges = page.map((node) => ({ cursor: Buffer.from(`GPC:S:${node.id}`).toString('base64'), node }));
    return { totalCount, edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

const schema = createSchema<{ tenantId: string }>({
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
    type Query { integrations(first: Int): IntegrationConnection! }
  `,
  resolvers: {
    DateTime: DateTimeResolver,
    JSON: JSONResolver,
    JSONObject: JSONObjectResolver,
    Query: {
      integrations: (_root: unknown, args: { first?: number | null }, ctx: { tenantId: string }) =>
        integrations(ctx.tenantId, args.first ?? 25),
    },
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
  context: async ({ request }) => ({ tenantId: await tenantOf(request.headers.get('authorization')) }),
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
