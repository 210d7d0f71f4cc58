/**
 * The start of the walks of jobs fetched together (worker.ts): their operations claimed RUNNING and
 * their candidates read in one transaction per tenant, whatever the number of jobs: one guarded
 * claim of all of them that returns their rows, one read of the routing rules (with their
 * integrations) of every capability they need. A job whose operation has ended or moved to another
 * walk claims nothing (it is a duplicate or stale).
 */
import DataLoader from 'dataloader';
import { tenantDb } from '../db/tenant.ts';
import type { Integration, Operation, RoutingRule } from '../generated/prisma/client.ts';
import { groupBy } from '../jobs/group-commit.ts';
import { findProvider } from '../providers/catalog.ts';
import type { OperationAdapter, ProviderDefinition } from '../providers/types.ts';
import { isUsable, routeCandidateIds } from '../routing/choose.ts';
import type { Services } from '../services.ts';
import type { OperationJob } from './queue.ts';

/** A started walk: the operation as claimed and its candidates in walk order (an id whose integration is gone is undefined). */
export interface StartedWalk {
  op: Operation;
  candidates: (Integration | undefined)[];
}

type Rule = RoutingRule & { integration: Integration; fallbackIntegration: Integration | null };

/** RUNNING for the operations still on the job's walk and not ended; their rows as Prisma types them. */
const CLAIM_WALKS = `
UPDATE "Operation" AS o
SET "status" = 'RUNNING'::"OperationStatus", "nextAttemptAt" = NULL, "updatedAt" = $3::timestamp(3)
FROM jsonb_to_recordset($2::jsonb) AS v(id text, walk int)
WHERE o."id" = v.id AND o."tenantId" = $1 AND o."deletedAt" IS NULL
  AND o."walk" = v.walk AND o."status" IN ('QUEUED', 'RUNNING')
RETURNING o.*`;

/**
 * The provider and its adapter when the integration can run the capability now (usable, and its
 * provider calls that capability); null when the walk skips it and it counts for no request.
 */
export function servingNow(
  integration: Integration | undefined,
  capability: string,
): { provider: ProviderDefinition; adapter: OperationAdapter } | null {
  if (!integration || !isUsable(integration, capability)) return null;
  const provider = findProvider(integration.provider);
  const adapter = provider?.operations?.[capability];
  return provider && adapter ? { provider, adapter } : null;
}

/** The candidates of a capability's rules, in the order the walk tries them. */
function candidatesOf(rules: readonly Rule[]): (Integration | undefined)[] {
  const byId = new Map<string, Integration>();
  for (const r of rules) {
    byId.set(r.integrationId, r.integration);
    if (r.fallbackIntegration) byId.set(r.fallbackIntegration.id, r.fallbackIntegration);
  }
  return routeCandidateIds(rules).map((id) => byId.get(id));
}

/** One tenant's jobs of one tick: claimed, read, and their candidates, in one transaction. */
async function startTenant(services: Services, tenantId: string, jobs: readonly OperationJob[]) {
  const claims = jobs.map((j) => ({ id: j.operationId, walk: j.walk }));
  return services.queue.transaction(tenantDb(services.prisma, tenantId), async (tx) => {
    const ops = await tx.$queryRawUnsafe<Operation[]>(CLAIM_WALKS, tenantId, JSON.stringify(claims), new Date().toISOString());
    const started = new Map<string, StartedWalk>();
    if (!ops.length) return started;
    // a follow-up's only candidate is the integration that made what it acts on (FOLLOW_UPS)
    const pinnedOf = new Map(jobs.filter((j) => j.integrationId).map((j) => [j.operationId, j.integrationId!]));
    const routed = ops.filter((op) => !pinnedOf.has(op.id));
    const [rules, pinned] = await Promise.all([
      routed.length
        ? tx.routingRule.findMany({
            where: { capability: { in: [...new Set(routed.map((op) => op.capability))] } },
            include: { integration: true, fallbackIntegration: true },
          })
        : [],
      pinnedOf.size ? tx.integration.findMany({ where: { id: { in: [...new Set(pinnedOf.values())] } } }) : [],
    ]);
    const pinnedById = new Map(pinned.map((i) => [i.id, i]));
    // one list per capability, shared by its walks (a walk only reads it)
    const candidatesBy = new Map([...groupBy(rules, (r) => r.capability)].map(([capability, of]) => [capability, candidatesOf(of)]));
    for (const op of ops) {
      const pin = pinnedOf.get(op.id);
      const candidates = pin ? [pinnedById.get(pin)] : (candidatesBy.get(op.capability) ?? []);
      started.set(`${op.id}:${op.walk}`, { op, candidates });
    }
    return started;
  });
}

/**
 * The worker's way to start a walk: the operation claimed RUNNING with its candidates, or null when
 * the job is stale. Jobs started in one tick share the statements of their tenant.
 */
export function walkStarter(services: Services): (job: OperationJob) => Promise<StartedWalk | null> {
  const loader = new DataLoader<OperationJob, StartedWalk | null, OperationJob>(
    async (jobs) => {
      const found = new Map<string, StartedWalk | Error>();
      await Promise.all(
        [...groupBy(jobs, (j) => j.tenantId)].map(async ([tenantId, ofTenant]) => {
          try {
            for (const [key, walk] of await startTenant(services, tenantId, ofTenant)) found.set(`${tenantId}:${key}`, walk);
          } catch (err) {
            // this tenant's jobs fail (and are retried); the others go on
            const error = err instanceof Error ? err : new Error(String(err));
            for (const j of ofTenant) found.set(`${tenantId}:${j.operationId}:${j.walk}`, error);
          }
        }),
      );
      return jobs.map((j) => found.get(`${j.tenantId}:${j.operationId}:${j.walk}`) ?? null);
    },
    // a full fetch starts as several transactions at once: the first jobs call while the others start
    { cache: false },
  );
  return (job) => loader.load(job);
}
