/**
 * The response cache of the integrations read model: answers of queries whose every field is in
 * CACHED_FIELDS (Integration rows and the provider catalog) are given again while the tenant's
 * change version stays where it was. The version moves when a database trigger announces a
 * committed change of the tenant's Integration or RoutingRule rows and, in this process, when a
 * mutation of the tenant ends (changeVersions). The routing table (src/routing/table.ts) follows the
 * same versions. Keys, loss of LISTEN, expiry and `Cache-Control`: docs/design-notes.md.
 */
import { BREAK, type DocumentNode, type GraphQLSchema, getOperationAST, TypeInfo, visit, visitWithTypeInfo } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { Context } from '../context.ts';
import type { Database } from '../db/database.ts';
import { CHANNEL, dispatchNotification, LISTEN_LOST, LISTEN_RESTORED } from '../events/pg-event-target.ts';
import { isPlainResult } from '../graphql-hardening/result-errors.ts';
import type { Logger } from '../log.ts';

/** The topic of the trigger's announcements; their data is the tenant id. */
export const INTEGRATION_CHANGED = 'integration:changed';

/** The fields a kept answer may hold, by type: each reads Integration rows or the static catalog. */
export const CACHED_FIELDS: Record<string, readonly string[]> = {
  Query: ['integrations', 'integration', 'providers', 'provider'],
  IntegrationConnection: ['edges', 'pageInfo', 'totalCount'],
  IntegrationEdge: ['cursor', 'node'],
  PageInfo: ['endCursor', 'hasNextPage', 'hasPreviousPage', 'startCursor'],
  Integration: [
    'appId',
    'createdAt',
    'createdBy',
    'credentialFields',
    'credentials',
    'deletedAt',
    'deletedBy',
    'enabledCapabilities',
    'id',
    'inboundWebhookUrl',
    'lastError',
    'metadata',
    'provider',
    'status',
    'updatedAt',
    'updatedBy',
    'verifiedAt',
    'version',
  ],
  CredentialValue: ['isSet', 'key', 'sensitive', 'value'],
  Provider: [
    'capabilities',
    'category',
    'credentialSchema',
    'description',
    'displayName',
    'docsUrl',
    'id',
    'integration',
    'isConfigured',
    'logoUrl',
    'name',
    'slug',
  ],
  CredentialField: [
    'authenticates',
    'defaultValue',
    'description',
    'enumValues',
    'key',
    'label',
    'pattern',
    'required',
    'sensitive',
    'type',
  ],
};

/** Fields of the types above that are never kept: they read other tables. */
export const UNCACHED_FIELDS = ['Integration.routingRules', 'Integration.operations', 'Integration.lastUsedAt'];

const TTL_MS = 60_000;
/** Kept answers' JSON, at two bytes a character, with their keys. */
const MAX_BYTES = 64 * 1024 * 1024;
/** Tenants whose versions are remembered; past it, every version starts again (a cache flush). */
const MAX_TENANTS = 100_000;

/**
 * Each tenant's change version, as this process has heard it. Versions come from one counter and
 * never repeat, so forgetting them all (a new epoch) can never bring an old answer back.
 */
export class ChangeVersions {
  #counter = 1;
  #epoch = 0;
  #byTenant = new Map<string, number>();
  #hearing: boolean;

  /** `hearing`: whether changes made elsewhere are heard from the start (false until LISTEN is up). */
  constructor(hearing = true) {
    this.#hearing = hearing;
  }

  /** The tenant's version, or undefined while changes may go unheard (then nothing is cached). */
  of(tenantId: string): string | undefined {
    return this.#hearing ? `${this.#epoch}.${this.#byTenant.get(tenantId) ?? 0}` : undefined;
  }

  changed(tenantId: string): void {
    if (this.#byTenant.size >= MAX_TENANTS && !this.#byTenant.has(tenantId)) this.#forgetAll();
    this.#byTenant.set(tenantId, this.#counter++);
  }

  /** Changes may go unheard from now on (the LISTEN connection is lost). */
  deaf(): void {
    this.#hearing = false;
    this.#forgetAll();
  }

  /** Changes are heard again; what was kept before may have missed some. */
  hearing(): void {
    this.#forgetAll();
    this.#hearing = true;
  }

  #forgetAll() {
    this.#byTenant.clear();
    this.#epoch = this.#counter++;
  }
}

/**
 * Moves `versions` on the database's announcements: heard through the PostgreSQL event target
 * (whose connection can be lost and restored), or on the embedded database itself, whose
 * notifications are dispatched the same way.
 */
export async function followChanges(versions: ChangeVersions, source: { eventTarget?: EventTarget; database: Database }, logger: Logger) {
  let { eventTarget } = source;
  if (!eventTarget) {
    const { database } = source;
    if (!database.listen) throw new Error('the database cannot announce changes');
    const local = (eventTarget = new EventTarget());
    await database.listen(CHANNEL, (payload) => dispatchNotification(local, payload, logger));
  }
  eventTarget.addEventListener(INTEGRATION_CHANGED, (event) => versions.changed(String((event as CustomEvent).detail)));
  eventTarget.addEventListener(LISTEN_LOST, () => versions.deaf());
  eventTarget.addEventListener(LISTEN_RESTORED, () => versions.hearing());
}

/** Whether a document is a query that reads data, and every field it selects is one of CACHED_FIELDS. */
export function isCacheable(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): boolean {
  if (getOperationAST(document, operationName)?.operation !== 'query') return false;
  const typeInfo = new TypeInfo(schema);
  let cacheable = true;
  let readsData = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (node.name.value === '__typename') return;
        readsData = true;
        const parent = typeInfo.getParentType();
        if (!parent || !Object.hasOwn(CACHED_FIELDS, parent.name) || !CACHED_FIELDS[parent.name]!.includes(node.name.value)) {
          cacheable = false;
          return BREAK;
        }
      },
    }),
  );
  // `{ __typename }` reads nothing: keeping it would save nothing
  return cacheable && readsData;
}

/** Memo per parsed document (Yoga's parser cache hands out the same object for the same text). */
function memoPerDocument<T>(compute: (document: DocumentNode, operationName: string | undefined) => T) {
  const memo = new WeakMap<DocumentNode, Map<string | undefined, T>>();
  return (document: DocumentNode, operationName: string | undefined): T => {
    let byName = memo.get(document);
    if (!byName) memo.set(document, (byName = new Map()));
    if (!byName.has(operationName)) byName.set(operationName, compute(document, operationName));
    return byName.get(operationName)!;
  };
}

export interface ResponseCacheStats {
  /** `hit`, `miss` (executed and kept), `bypass` (executed, not kept: asked, or not cacheable now). */
  onLookup?(outcome: 'hit' | 'miss' | 'bypass'): void;
}

/**
 * Moves the tenant's version when one of its mutations ends: whatever it did is committed then, so
 * this process reads from the database next, before the announcement arrives (or without it).
 * Installed whether or not answers are kept: the routing table reads the same versions.
 */
export function changeVersions(versions: ChangeVersions): Plugin<Context> {
  const isMutation = memoPerDocument((document, name) => getOperationAST(document, name)?.operation === 'mutation');
  return {
    onExecute({ args }) {
      if (!isMutation(args.document, args.operationName ?? undefined)) return;
      const { tenantId } = args.contextValue.viewer;
      return { onExecuteDone: () => versions.changed(tenantId) };
    },
  };
}

export function responseCache(versions: ChangeVersions, stats: ResponseCacheStats = {}): Plugin<Context> {
  const answers = new LRUCache<string, object>({
    maxSize: MAX_BYTES, // sized at set() by the answer's JSON
    ttl: TTL_MS,
  });
  /** What one operation of a parsed document is to the cache: kept (with an id that stands for its document and name in keys), or not. */
  let handlingOf: ((document: DocumentNode, operationName: string | undefined) => { kind: 'kept' | 'executed'; id: number }) | undefined;
  let operations = 0;

  return {
    onSchemaChange({ schema }) {
      handlingOf = memoPerDocument((document, name) => ({
        kind: isCacheable(schema, document, name) ? 'kept' : 'executed',
        id: ++operations,
      }));
    },
    onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue;
      const handling = handlingOf?.(args.document, args.operationName ?? undefined);
      if (handling?.kind !== 'kept') return;
      const version = versions.of(ctx.viewer.tenantId);
      const asked = ctx.request.headers.get('cache-control');
      if (version === undefined || (asked && /no-cache|no-store/i.test(asked))) {
        stats.onLookup?.('bypass');
        return;
      }
      const { viewer } = ctx;
      // claims are the caller's strings: JSON keeps each part apart whatever it holds
      const key = JSON.stringify([
        handling.id,
        ctx.params.variables ?? null,
        viewer.tenantId,
        viewer.appId,
        [...viewer.scopes].sort(),
        // a connect session reads its allowed providers' integrations only (src/auth/connect-sessions.ts)
        viewer.connect ? [...viewer.connect.allowedProviders].sort() : null,
        version,
      ]);
      const kept = answers.get(key);
      if (kept) {
        stats.onLookup?.('hit');
        return setResultAndStopExecution(kept);
      }
      return {
        onExecuteDone({ result }) {
          if (!isPlainResult(result) || versions.of(viewer.tenantId) !== version) {
            stats.onLookup?.('bypass');
            return;
          }
          stats.onLookup?.('miss');
          // Kept as its JSON alone, which is what its size counts (two bytes a character). Yoga
          // writes a result out with its own `stringify` when it has one, so a kept answer is
          // serialised once (serialising a page is about a quarter of the CPU of answering it again);
          // anything that reads its data gets it parsed.
          const json = JSON.stringify(result);
          const kept = { stringify: () => json };
          Object.defineProperty(kept, 'data', { enumerable: true, get: () => (JSON.parse(json) as { data: unknown }).data });
          answers.set(key, kept, { size: 2 * (key.length + json.length) });
        },
      };
    },
  };
}
