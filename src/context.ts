/**
 * What every resolver receives: the caller, the caller's tenant-scoped data path, per-request
 * loaders, and the process-wide services (src/services.ts).
 */
import type { Viewer } from './auth/viewer.ts';
import type { TenantDb } from './db/tenant.ts';
import { tenantDb } from './db/tenant.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { Services } from './services.ts';

export interface Context {
  viewer: Viewer;
  db: TenantDb;
  loaders: Loaders;
  services: Services;
}

export function createContext(viewer: Viewer, services: Services): Context {
  const db = tenantDb(services.prisma, viewer.tenantId);
  return { viewer, db, loaders: createLoaders(db, services.reader, viewer.tenantId), services };
}
