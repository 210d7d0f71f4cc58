/**
 * The client Pothos's Prisma plugin reads with (node(id) and the reloads of a field's selection):
 * the request's tenant client, with the sealed columns of Integration and Webhook left out of every
 * read that does not name its columns, as the schema's own reads of those models leave them out.
 */
import type { TenantDb } from '../db/tenant.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { SEALED_COLUMNS } from '../integrations/present.ts';

/**
 * A webhook's sealed columns (the signing secrets, current and previous, and the static headers'
 * values: src/webhooks/secrets.ts, headers.ts), as a Prisma `omit`. No GraphQL field reads them:
 * `secretFingerprint` and the header names (`headers`) are columns of their own.
 */
export const SEALED_WEBHOOK_COLUMNS = {
  secretKeyId: true,
  secretDataKey: true,
  secretIv: true,
  secretTag: true,
  secretCiphertext: true,
  previousSecretKeyId: true,
  previousSecretDataKey: true,
  previousSecretIv: true,
  previousSecretTag: true,
  previousSecretCiphertext: true,
  headersKeyId: true,
  headersDataKey: true,
  headersIv: true,
  headersTag: true,
  headersCiphertext: true,
} as const satisfies Prisma.WebhookOmit;

const SEALED = { integration: SEALED_COLUMNS, webhook: SEALED_WEBHOOK_COLUMNS } as const;
type SealedModel = keyof typeof SEALED;

const READS = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow', 'findMany']);

/**
 * `args` without the model's sealed columns (Integration's unless told); a `select` names its
 * columns already (and Prisma refuses it beside `omit`).
 */
export function withoutSealed<Args extends object>(
  args: Args,
  model: SealedModel = 'integration',
): Args & { omit?: (typeof SEALED)[SealedModel] } {
  return 'select' in args && args.select ? args : { ...args, omit: SEALED[model] };
}

function sealedReads<Delegate extends object>(delegate: Delegate, model: SealedModel): Delegate {
  return new Proxy(delegate, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof prop !== 'string' || !READS.has(prop) || typeof value !== 'function') return value;
      return (args: object = {}) => value.call(target, withoutSealed(args, model));
    },
  });
}

const clients = new WeakMap<TenantDb, TenantDb>();

/** Built once per tenant client (tenantDb keeps those), not per request. */
export function schemaClient(db: TenantDb): TenantDb {
  let client = clients.get(db);
  if (client) return client;
  const delegates = new Map<PropertyKey, unknown>([
    ['integration', sealedReads(db.integration, 'integration')],
    ['webhook', sealedReads(db.webhook, 'webhook')],
  ]);
  client = new Proxy(db, { get: (target, prop) => (delegates.has(prop) ? delegates.get(prop) : Reflect.get(target, prop)) });
  clients.set(db, client);
  return client;
}
