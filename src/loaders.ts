/**
 * Per-request DataLoaders for lookups that Pothos's Prisma selections cannot fold into the
 * parent query (the provider catalog lives in code, not in a table).
 */

import DataLoader from 'dataloader';
import type { RowReader } from './db/row-reader.ts';
import type { TenantDb } from './db/tenant.ts';
import { TENANT_CAPS } from './db/tenant-caps.ts';
import type { RoutingRule } from './generated/prisma/client.ts';
import { readFirstIntegrationPage } from './integrations/first-page.ts';
import type { ShownIntegration } from './integrations/present.ts';
import { RULE_LIST_ORDER } from './routing/service.ts';

export interface Loaders {
  /** The tenant's live integration of a provider, by provider name; without its sealed columns, which nothing shown reads. */
  integrationByProvider: DataLoader<string, ShownIntegration | null>;
  /** The live routing rules naming an integration as primary or fallback, by integration id. */
  rulesByIntegration: DataLoader<string, RoutingRule[]>;
}

export function createLoaders(db: TenantDb, reader: RowReader, tenantId: string): Loaders {
  return {
    integrationByProvider: new DataLoader(async (names) => {
      // one live integration per provider: the page of these providers holds them all, in one statement (first-page.ts)
      const { rows } = await readFirstIntegrationPage(reader, tenantId, { providers: [...names] }, names.length);
      const byName = new Map(rows.map((r) => [r.provider, r]));
      return names.map((n) => byName.get(n) ?? null);
    }),
    rulesByIntegration: new DataLoader(async (ids) => {
      const list = [...ids];
      const rules = await db.routingRule.findMany({
        where: { OR: [{ integrationId: { in: list } }, { fallbackIntegrationId: { in: list } }] },
        orderBy: RULE_LIST_ORDER,
        // the cap the cost model counts on, held even for rows from before it (src/db/tenant-caps.ts)
        take: TENANT_CAPS.routingRules,
      });
      return list.map((id) => rules.filter((r) => r.integrationId === id || r.fallbackIntegrationId === id));
    }),
  };
}
