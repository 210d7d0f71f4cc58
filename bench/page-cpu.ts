/**
 * `NODE_ENV=production npx tsx bench/page-cpu.ts [--postgres] [--integrations]`: the CPU per executed page,
 * server and client in one process (NODE_ENV as deployed: graphql-js reads it when loaded), 8 requests at a time over
 * HTTP. The requests bench's webhooks page query over 25 webhooks with 3 deliveries each (the
 * requests bench seeds one each), their events and one attempt each, or with `--integrations` its integrations page (every provider
 * configured). Where the requests bench gives throughput on a machine shared by the load
 * generator and the database, this gives what one page costs in the service's process: compare
 * runs of the same kind (the client's share is in every figure). Embedded PGlite unless
 * `--postgres` (a throwaway cluster, as the suite's). docs/performance.md.
 */
import { forTenant } from '../src/db/tenant.ts';
import { PROVIDERS } from '../src/providers/catalog.ts';
import { startTestServer } from '../test/helpers/app.ts';
import { startClusterForTestServers } from '../test/helpers/pg-cluster.ts';
import { createReadOnlyWebhooks, deliverOneEvent } from '../test/helpers/webhook-page.ts';
import { CONFIGURE, credentialsFor, INTEGRATIONS_PAGE, WEBHOOKS_PAGE } from './seed.ts';

const onPostgres = process.argv.includes('--postgres');
const integrations = process.argv.includes('--integrations');
const ROUNDS = 4;
const PAGES = 400;

const cluster = onPostgres ? await startClusterForTestServers('icp-page-cpu-') : undefined;
const server = await startTestServer();
const token = await server.token({ scope: 'webhooks:read integrations:read integrations:write' });
const TENANT = 'tenant-a';

if (integrations) {
  for (const provider of PROVIDERS) {
    const answer = await server.gql(
      CONFIGURE,
      { input: { provider: provider.name, credentials: credentialsFor(provider.name) } },
      { token },
    );
    if (answer.errors || answer.data.configureIntegration.__typename !== 'ConfigureIntegrationPayload') {
      throw new Error(`configuring ${provider.name}: ${answer.raw}`);
    }
  }
} else {
  const db = forTenant(server.app.database.prisma, TENANT);
  const webhooks = await createReadOnlyWebhooks(db, TENANT, 25, 'page');
  for (let each = 0; each < 3; each++) await deliverOneEvent(db, TENANT, webhooks, { each });
}

const query = integrations ? INTEGRATIONS_PAGE : WEBHOOKS_PAGE;
const first = await server.gql(query, { first: 25 }, { token });
if (first.errors) throw new Error(`the page failed: ${first.raw}`);

async function read(pages: number) {
  let started = 0;
  const reader = async () => {
    while (started++ < pages) {
      const answer = await server.gql(query, { first: 25 }, { token });
      if (answer.errors) throw new Error(`the page failed: ${answer.raw}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, reader));
}

console.log(
  `${onPostgres ? 'PostgreSQL' : 'PGlite'}, the ${integrations ? 'integrations' : 'webhooks'} page (${first.raw.length} bytes), 8 at a time`,
);
await read(PAGES / 2);
for (let round = 1; round <= ROUNDS; round++) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await read(PAGES);
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `round ${round}: ${((used.user + used.system) / 1000 / PAGES).toFixed(2)} ms of CPU per page, ${(PAGES / seconds).toFixed(0)} pages/s`,
  );
}
await server.close();
cluster?.destroy();
