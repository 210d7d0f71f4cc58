/**
 * The routing table: per tenant and capability, the capability's rules in resolution order and
 * every integration they name (any status: choose.ts decides what is usable), read through the
 * tenant's scoped data path and kept under the tenant's change version (src/cache/response-cache.ts),
 * which the trigger on Integration and RoutingRule rows and this process's own mutations move.
 * Nothing is kept or given from memory while changes may go unheard. Bounds: docs/design-notes.md.
 */
import { LRUCache } from 'lru-cache';
import type { ChangeVersions } from '../cache/response-cache.ts';
import type { TenantDb } from '../db/tenant.ts';
import { TENANT_CAPS } from '../db/tenant-caps.ts';
import type { Integration, RoutingRule } from '../generated/prisma/client.ts';
import { ruleOrder } from './choose.ts';

/** One capability's routes of one tenant, as read at one moment; shared by every reader: never changed. */
export interface CapabilityRoutes {
  readonly rules: readonly RoutingRule[];
  readonly integrations: ReadonlyMap<string, Integration>;
}

/** Who reads: the tenant, and the data path confined to it. */
export interface RoutesReader {
  viewer: { tenantId: string };
  db: TenantDb;
}

export interface RoutingTableOptions {
  ttlMs?: number;
  maxBytes?: number;
}

/** A kept entry expires after this even unchanged: a bound on anything unheard. */
const TTL_MS = 60_000;
/** Kept routes, estimated from their rows (the sealed credential columns count their bytes). */
const MAX_BYTES = 16 * 1024 * 1024;

/** Approximate memory of a loaded entry: its JSON at two bytes a character, binary columns by their length. */
function approximateBytes(routes: CapabilityRoutes): number {
  let binary = 0;
  const json = JSON.stringify([routes.rules, [...routes.integrations.values()]], function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    if (ArrayBuffer.isView(raw)) {
      binary += raw.byteLength;
      return 0;
    }
    return value;
  });
  return binary + 2 * json.length;
}

async function load(db: TenantDb, capability: string): Promise<CapabilityRoutes> {
  // one statement (relation joins) in one row-security transaction
  const rows = await db.routingRule.findMany({
    where: { capability },
    include: { integration: true, fallbackIntegration: true },
    take: TENANT_CAPS.routingRules,
  });
  const integrations = new Map<string, Integration>();
  const rules = rows
    .map(({ integration, fallbackIntegration, ...rule }) => {
      integrations.set(integration.id, integration);
      if (fallbackIntegration) integrations.set(fallbackIntegration.id, fallbackIntegration);
      return rule;
    })
    .sort(ruleOrder);
  return { rules, integrations };
}

export class RoutingTable {
  readonly #versions: ChangeVersions;
  /** Loads, settled or not, so concurrent misses of one key share one read. */
  readonly #kept: LRUCache<string, Promise<CapabilityRoutes>>;

  constructor(versions: ChangeVersions, options: RoutingTableOptions = {}) {
    this.#versions = versions;
    this.#kept = new LRUCache({ maxSize: options.maxBytes ?? MAX_BYTES, ttl: options.ttlMs ?? TTL_MS });
  }

  /** The capability's rules and their integrations for the reader's tenant. */
  routes(reader: RoutesReader, capability: string): Promise<CapabilityRoutes> {
    const { tenantId } = reader.viewer;
    // read before loading: a change heard during the load moves it, and what was read is not asked for again
    const version = this.#versions.of(tenantId);
    if (version === undefined) return load(reader.db, capability);
    // tenant and capability are callers' strings: JSON keeps each part apart whatever it holds
    const key = JSON.stringify([tenantId, version, capability]);
    const kept = this.#kept.get(key);
    if (kept) return kept;
    const loading = load(reader.db, capability);
    // counted at a placeholder size until read, then at its own
    this.#kept.set(key, loading, { size: 1 });
    loading.then(
      (routes) => {
        if (this.#kept.peek(key) !== loading) return;
        if (this.#versions.of(tenantId) !== version) this.#kept.delete(key);
        else this.#kept.set(key, loading, { size: approximateBytes(routes), noUpdateTTL: true });
      },
      () => {
        if (this.#kept.peek(key) === loading) this.#kept.delete(key);
      },
    );
    return loading;
  }

  /** The tenant's routes may have changed (a write of this process): it reads them again next. */
  changed(tenantId: string): void {
    this.#versions.changed(tenantId);
  }
}
