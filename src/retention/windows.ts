/**
 * What retention hides from reads (DATA_RETENTION, AUDIT_RETENTION): one `where` per model, the
 * same rule the purge deletes by (src/retention/purge.ts), so expired rows vanish from every read
 * at once and from storage within minutes. Applied centrally to tenant reads (src/db/tenant.ts)
 * and to the nested connections that read children of a row. docs/configuration.md (Retention).
 */

export interface RetentionWindows {
  /** DATA_RETENTION in ms: events, webhook deliveries and attempts, inbound events, ended operations. */
  dataMs: number;
  /** AUDIT_RETENTION in ms: audit entries. */
  auditMs: number;
}

const windows = new WeakMap<object, RetentionWindows>();

/** Reads through `prisma` (and every tenant client built on it) hide what is past `w`. */
export function applyRetention(prisma: object, w: RetentionWindows): void {
  windows.set(prisma, w);
}

export function retentionOf(prisma: object): RetentionWindows | undefined {
  return windows.get(prisma);
}

type Where = Record<string, unknown>;

/**
 * The age rule, per kind of row (times are UTC, as Prisma stores them):
 * - a delivery: PENDING (awaiting a retry, or held while its webhook is paused) or changed within
 *   the window; it ends with its last change, so it is kept a full window after it ended;
 * - an operation: not ended (completedAt null) or ended within the window;
 * - an event: created within the window. One that a retained delivery carries stays stored
 *   (the purge deletes no event with a delivery) and readable through that delivery's `event`
 *   (nested reads follow the foreign key), but leaves `events` and `node(id)`: the rule stays a
 *   range on one indexed column, with no subquery on every list page;
 * - attempts follow their delivery or operation; audit entries: created within AUDIT_RETENTION.
 */
export function retainedRules(w: RetentionWindows, now = Date.now()) {
  const since = new Date(now - w.dataMs);
  const delivery: Where = { OR: [{ status: 'PENDING' }, { updatedAt: { gte: since } }] };
  const operation: Where = { OR: [{ completedAt: null }, { completedAt: { gte: since } }] };
  return {
    since,
    auditSince: new Date(now - w.auditMs),
    WebhookDelivery: delivery,
    DeliveryAttempt: { delivery } as Where,
    Event: { createdAt: { gte: since } } as Where,
    Operation: operation,
    OperationAttempt: { operation } as Where,
    AuditEntry: { createdAt: { gte: new Date(now - w.auditMs) } } as Where,
  };
}

const RETAINED_MODELS = new Set(['WebhookDelivery', 'DeliveryAttempt', 'Event', 'Operation', 'OperationAttempt', 'AuditEntry']);

/** The condition a read of `model` through `prisma` adds; undefined when nothing expires there. */
export function retainedWhere(prisma: object, model: string): Where | undefined {
  const w = windows.get(prisma);
  if (!w || !RETAINED_MODELS.has(model)) return undefined;
  return retainedRules(w)[model as 'Event'];
}

/** `where` narrowed to retained rows (its own AND kept; unique fields stay at the top level). */
export function withRetained(where: Where | undefined, retained: Where | undefined): Where | undefined {
  if (!retained) return where;
  const and = where?.AND === undefined ? [] : ([] as unknown[]).concat(where.AND);
  return { ...where, AND: [...and, retained] };
}
