/**
 * The client Pothos's Prisma plugin reads with (node(id) and the reloads of a field's selection):
 * the request's tenant client, with the sealed columns of Integration left out of every read that
 * does not name its columns, as the schema's own integration reads leave them out.
 */
import type { TenantDb } from '../db/tenant.ts';
import { SEALED_COLUMNS } from '../integrations/present.ts';

const READS = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow', 'findMany']);

/** `args` without the sealed columns; a `select` names its columns already (and Prisma refuses it beside `omit`). */
export function withoutSealed<Args extends object>(args: Args): Args & { omit?: typeof SEALED_COLUMNS } {
  return 'select' in args && args.select ? args : { ...args, omit: SEALED_COLUMNS };
}

const clients = new WeakMap<TenantDb, TenantDb>();

/** Built once per tenant client (tenantDb keeps those), not per request. */
export function schemaClient(db: TenantDb): TenantDb {
  let client = clients.get(db);
  if (client) return client;
  const integration = new Proxy(db.integration, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof prop !== 'string' || !READS.has(prop) || typeof value !== 'function') return value;
      return (args: object = {}) => value.call(target, withoutSealed(args));
    },
  });
  client = new Proxy(db, { get: (target, prop) => (prop === 'integration' ? integration : Reflect.get(target, prop)) });
  clients.set(db, client);
  return client;
}
