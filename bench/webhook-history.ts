/**
 * `npx tsx bench/webhook-history.ts [--postgres]`: what the first webhooks page costs as history
 * grows, read through Prisma's relation joins (the path before issue #18) and through
 * `icp_webhook_page_v2` (src/webhooks/first-page.ts), with the same arguments plugin-prisma builds
 * for the requests bench's page. 25 webhooks with 4, 40 and 400 delivered deliveries each (an
 * event with a 500-byte payload and one attempt each); each read 30 times after 5 unmeasured, in
 * process, one at a time. Embedded PGlite unless `--postgres` (a throwaway cluster, as the
 * suite's). Prints the mean time per read. docs/performance.md.
 */
import { forTenant } from '../src/db/tenant.ts';
import { SEALED_WEBHOOK_COLUMNS } from '../src/schema/client.ts';
import { readWebhookPage, webhookPageShape } from '../src/webhooks/first-page.ts';
import { startTestServer } from '../test/helpers/app.ts';
import { startClusterForTestServers } from '../test/helpers/pg-cluster.ts';
import { createReadOnlyWebhooks, deliverOneEvent, webhookPageArgs } from '../test/helpers/webhook-page.ts';

const TENANT = 'history';
const WEBHOOKS = 25;
const onPostgres = process.argv.includes('--postgres');

const cluster = onPostgres ? await startClusterForTestServers('icp-history-') : undefined;
const server = await startTestServer();
const prisma = server.app.database.prisma;
const db = forTenant(prisma, TENANT);
const webhooks = await createReadOnlyWebhooks(db, TENANT, WEBHOOKS, 'history');

/** The requests bench's page as plugin-prisma asks for it. */
const page = () => webhookPageArgs(prisma, WEBHOOKS + 1);

async function meanMs(read: () => Promise<unknown>): Promise<string> {
  for (let i = 0; i < 5; i++) await read();
  const started = performance.now();
  for (let i = 0; i < 30; i++) await read();
  return ((performance.now() - started) / 30).toFixed(1);
}

console.log(`${onPostgres ? 'PostgreSQL' : 'PGlite'}, ${WEBHOOKS} webhooks: mean ms per read of the first page`);
console.log('deliveries per webhook   Prisma   icp_webhook_page_v2');
let each = 0;
for (const target of [4, 40, 400]) {
  for (; each < target; each++) {
    await deliverOneEvent(db, TENANT, webhooks, { each, body: 'x'.repeat(500) }, 'y'.repeat(300));
  }
  const viaPrisma = await meanMs(() =>
    db.webhook.findMany({ ...(page() as object), orderBy: { id: 'desc' }, omit: SEALED_WEBHOOK_COLUMNS }),
  );
  const filter = { appId: null, status: null, tag: null, eventTypes: null, includeDeleted: false };
  const viaSql = await meanMs(() => readWebhookPage(server.app.services.reader, TENANT, filter, webhookPageShape(page())!));
  console.log(`${String(target).padStart(22)}   ${viaPrisma.padStart(6)}   ${viaSql.padStart(16)}`);
}
await server.close();
cluster?.destroy();
