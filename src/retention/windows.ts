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

/** A window in whole seconds, at least one, as the SQL functions of retention take it. */
export const windowSeconds = (w: RetentionWindows, which: keyof RetentionWindows) => Math.max(1, Math.floor(w[which] / 1000));

const windows = new WeakMap<object, RetentionWindows>();

/** Reads through `prisma` (and every tenant client built on it) hide what is past `w`. */
export function applyRetention(prisma: object, w: RetentionWindows): void {
  windows.set(prisma, w);
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
 * Each rule is built for the read that asks for it (every read of these tables does); a request
 * that reads many webhooks' deliveries builds theirs once (`deliveriesQuery`, src/schema/webhook.ts).
 */
const since = (ms: number) => new Date(Date.now() - ms);
const delivery = (w: RetentionWindows): Where => ({ OR: [{ status: 'PENDING' }, { updatedAt: { gte: since(w.dataMs) } }] });
const operation = (w: RetentionWindows): Where => ({ OR: [{ completedAt: null }, { completedAt: { gte: since(w.dataMs) } }] });
const RULES: Readonly<Record<string, (w: RetentionWindows) => Where>> = {
  WebhookDelivery: delivery,
  DeliveryAttempt: (w) => ({ delivery: delivery(w) }),
  Event: (w) => ({ createdAt: { gte: since(w.dataMs) } }),
  Operation: operation,
  OperationAttempt: (w) => ({ operation: operation(w) }),
  AuditEntry: (w) => ({ createdAt: { gte: since(w.auditMs) } }),
};

/** The condition a read of `model` through `prisma` adds; undefined when nothing expires there. */
export function retainedWhere(prisma: object, model: string): Where | undefined {
  const w = windows.get(prisma);
  if (!w || !Object.hasOwn(RULES, model)) return undefined;
  return RULES[model]!(w);
}

/** `where` narrowed to retained rows (its own AND kept; unique fields stay at the top level). */
export function withRetained(where: Where | undefined, retained: Where | undefined): Where | undefined {
  if (!retained) return where;
  const and = where?.AND === undefined ? [] : ([] as unknown[]).concat(where.AND);
  return { ...where, AND: [...and, retained] };
}
