/**
 * Per-request DataLoaders for lookups that Pothos's Prisma selections cannot fold into the
 * parent query (the provider catalog lives in code, not in a table).
 */
import DataLoader from 'dataloader';
import type { TenantDb } from './db/tenant.ts';
import type { Integration } from './generated/prisma/client.ts';

export interface Loaders {
  /** The tenant's live integration of a provider, by provider name. */
  integrationByProvider: DataLoader<string, Integration | null>;
}

export function createLoaders(db: TenantDb): Loaders {
  return {
    integrationByProvider: new DataLoader(async (names) => {
      const rows = await db.integration.findMany({ where: { provider: { in: [...names] } } });
      const byName = new Map(rows.map((r) => [r.provider, r]));
      return names.map((n) => byName.get(n) ?? null);
    }),
  };
}
