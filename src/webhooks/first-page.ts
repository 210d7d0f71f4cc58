/**
 * The first page of a tenant's webhooks, read in SQL without Prisma's client (issue #18), with
 * the deliveries, events and attempts the query asks for, and the count of matching webhooks: one
 * call of `icp_webhook_page_v2` (migrations 20261207090000_webhook_first_page and
 * 20261208090000_webhook_page_shown_columns) instead of Prisma's relation joins, which build every
 * delivery of each webhook before cutting them.
 *
 * `webhookPageShape` reads the arguments plugin-prisma built from the selection and says whether
 * this read can answer them (the first page, newest first, its deliveries newest first without a
 * cursor, each with its event and its last attempts, naming only columns the function gives);
 * anything else goes through Prisma.
 * `readWebhookPage` gives the rows Prisma's `findMany` gives for those arguments, values and
 * types alike: test/integration/webhook-first-page.test.ts compares them, so a column added to
 * the models and not handled here fails there.
 */
import type { RowReader } from '../db/row-reader.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import type { Webhook } from '../generated/prisma/client.ts';
import type { WebhookStatus } from '../generated/prisma/enums.ts';

type Args = Record<string, unknown>;

/** What of the deliveries a page reads (null: not read, or no count). */
export interface WebhookPageShape {
  take: number;
  deliveries: {
    take: number | null;
    /** A delivery's columns a read gives: Prisma's `select`. */
    columns: readonly string[];
    count: boolean;
    /** Only deliveries in this status. */
    status: string | null;
    /** The retention rule's instant: a delivery shows while PENDING or changed since then. */
    since: Date | null;
    /** The event's columns a read gives (null: no event): Prisma's `select`. */
    event: readonly string[] | null;
    /** How many of the last attempts, and which of their columns. */
    attempts: { take: number; columns: readonly string[] } | null;
  };
}

export interface WebhookPageFilter {
  /** An application's credential sees its own webhooks. */
  appId: string | null;
  status: WebhookStatus | null;
  tag: string | null;
  /** Subscribed to any of these (patternsReceiving). */
  eventTypes: readonly string[] | null;
  includeDeleted: boolean;
}

const isPlain = (v: unknown): v is Args => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
/** Every key of `o` is one of `keys` (or left undefined). */
const within = (o: Args, keys: readonly string[]) => Object.keys(o).every((k) => o[k] === undefined || keys.includes(k));
const firstRows = (o: Args) => o.cursor === undefined && (o.skip === undefined || o.skip === 0);

/** The instants among each model's columns (from Prisma's datamodel). */
const MODELS = (() => {
  const { models } = getDatamodel().datamodel;
  const of = (name: string) => ({
    instants: models[name]!.fields.filter((f) => f.kind !== 'object' && f.type === 'DateTime').map((f) => f.name),
  });
  return { Webhook: of('Webhook'), WebhookDelivery: of('WebhookDelivery'), Event: of('Event'), DeliveryAttempt: of('DeliveryAttempt') };
})();

/**
 * The columns `icp_webhook_page_v2` gives a delivery, an event and an attempt: those their GraphQL
 * fields can show, and the keys plugin-prisma selects besides (migration
 * 20261208090000_webhook_page_shown_columns). The three types are in plugin-prisma's select mode,
 * so a page names what it reads; a read that names another column is Prisma's.
 */
const SHOWN = {
  WebhookDelivery: ['id', 'status', 'attemptCount', 'nextAttemptAt', 'createdAt'],
  Event: ['id', 'type', 'payload', 'occurredAt'],
  DeliveryAttempt: ['id', 'deliveryId', 'attemptNumber', 'startedAt', 'durationMs', 'responseStatus', 'error', 'responseBody'],
} as const satisfies Record<'WebhookDelivery' | 'Event' | 'DeliveryAttempt', readonly string[]>;

/**
 * The columns of Prisma's `select` (`{ col: true }`, `relations` left out) when the function gives
 * them all; undefined otherwise.
 */
function columnsOf(model: keyof typeof SHOWN, args: unknown, extra: readonly string[] = [], relations: readonly string[] = []) {
  const shown: readonly string[] = SHOWN[model];
  if (!isPlain(args) || !within(args, ['select', ...extra]) || !isPlain(args.select)) return undefined;
  const select = args.select;
  const names = Object.keys(select).filter((n) => select[n] !== undefined && !relations.includes(n));
  return names.every((n) => select[n] === true && shown.includes(n)) ? names : undefined;
}

/**
 * The filter the deliveries connection builds (src/schema/webhook.ts): `{ status?, AND: [retained] }`,
 * the retention rule being `{ OR: [{ status: 'PENDING' }, { updatedAt: { gte } }] }`.
 */
function deliveryFilter(where: unknown): { status: string | null; since: Date | null } | undefined {
  if (where === undefined) return { status: null, since: null };
  if (!isPlain(where) || !within(where, ['status', 'AND'])) return undefined;
  if (where.status !== undefined && typeof where.status !== 'string') return undefined;
  const status = (where.status as string | undefined) ?? null;
  if (where.AND === undefined) return { status, since: null };
  if (!Array.isArray(where.AND) || where.AND.length !== 1) return undefined;
  const rule = where.AND[0] as unknown;
  if (!isPlain(rule) || !within(rule, ['OR']) || !Array.isArray(rule.OR) || rule.OR.length !== 2) return undefined;
  const [pending, recent] = rule.OR as unknown[];
  if (!isPlain(pending) || Object.keys(pending).length !== 1 || pending.status !== 'PENDING') return undefined;
  if (!isPlain(recent) || Object.keys(recent).length !== 1 || !isPlain(recent.updatedAt)) return undefined;
  const gte = recent.updatedAt.gte;
  if (Object.keys(recent.updatedAt).length !== 1 || !(gte instanceof Date)) return undefined;
  return { status, since: gte };
}

/**
 * The same filter for the list and its count. Both read the connection's one `where` of the
 * request (`deliveriesQuery` in src/schema/webhook.ts); instants up to a second apart are taken for
 * the same, should they ever be built apart: the list's serves both.
 */
const sameFilter = (a: { status: string | null; since: Date | null }, b: { status: string | null; since: Date | null }) =>
  a.status === b.status &&
  (a.since === null) === (b.since === null) &&
  Math.abs((a.since?.getTime() ?? 0) - (b.since?.getTime() ?? 0)) <= 1000;

/** The arguments plugin-prisma built for a `webhooks` page, when `readWebhookPage` answers them. */
export function webhookPageShape(query: Args): WebhookPageShape | undefined {
  if (!within(query, ['take', 'skip', 'cursor', 'include']) || !firstRows(query)) return undefined;
  if (typeof query.take !== 'number' || query.take <= 0) return undefined;
  const include = query.include ?? {};
  if (!isPlain(include) || !within(include, ['deliveries', '_count'])) return undefined;
  const shape: WebhookPageShape = {
    take: query.take,
    deliveries: { take: null, columns: [], count: false, status: null, since: null, event: null, attempts: null },
  };
  let listed: { status: string | null; since: Date | null } | undefined;
  if (include.deliveries !== undefined) {
    const d = include.deliveries;
    if (!isPlain(d) || !firstRows(d)) return undefined;
    const columns = columnsOf('WebhookDelivery', d, ['where', 'orderBy', 'take', 'skip', 'cursor'], ['event', 'attempts']);
    if (!columns) return undefined;
    if (typeof d.take !== 'number' || d.take <= 0) return undefined;
    if (!isPlain(d.orderBy) || Object.keys(d.orderBy).length !== 1 || d.orderBy.id !== 'desc') return undefined;
    listed = deliveryFilter(d.where);
    if (!listed) return undefined;
    const nested = d.select as Args;
    shape.deliveries.take = d.take;
    shape.deliveries.columns = columns;
    if (nested.event !== undefined) {
      const columns = columnsOf('Event', nested.event);
      if (!columns) return undefined;
      shape.deliveries.event = columns;
    }
    if (nested.attempts !== undefined) {
      const a = nested.attempts;
      // the last ones in ascending order: the field's own `take: -N`
      if (!isPlain(a) || !within(a, ['orderBy', 'take', 'select'])) return undefined;
      if (!isPlain(a.orderBy) || Object.keys(a.orderBy).length !== 1 || a.orderBy.attemptNumber !== 'asc') return undefined;
      if (typeof a.take !== 'number' || a.take >= 0) return undefined;
      const columns = columnsOf('DeliveryAttempt', a, ['orderBy', 'take']);
      if (!columns) return undefined;
      shape.deliveries.attempts = { take: -a.take, columns };
    }
  }
  if (include._count !== undefined) {
    const c = include._count;
    if (!isPlain(c) || !within(c, ['select']) || !isPlain(c.select) || !within(c.select, ['deliveries'])) return undefined;
    const counted = c.select.deliveries;
    const filter =
      counted === true
        ? deliveryFilter(undefined)
        : isPlain(counted) && within(counted, ['where'])
          ? deliveryFilter(counted.where)
          : undefined;
    if (!filter || (listed && !sameFilter(filter, listed))) return undefined;
    listed ??= filter;
    shape.deliveries.count = true;
  }
  if (listed) {
    shape.deliveries.status = listed.status;
    shape.deliveries.since = listed.since;
  }
  return shape;
}

/**
 * An instant as `row_to_json` writes a `timestamp` column: `YYYY-MM-DDTHH:MM:SS[.ffffff]`, UTC as
 * Prisma stores them, without a zone. A text with a zone (`Z`, `+HH:MM`, `-HH:MM`; checked by code
 * point, not by a regular expression: this runs for every instant of a page) is refused.
 */
function instant(text: unknown): Date {
  if (typeof text === 'string' && text.charCodeAt(10) === 84 /* T */) {
    const n = text.length;
    const sign = text.charCodeAt(n - 6);
    const zoned = text.charCodeAt(n - 1) === 90 /* Z */ || ((sign === 43 || sign === 45) && text.charCodeAt(n - 3) === 58);
    const at = zoned ? undefined : new Date(`${text}Z`);
    if (at && !Number.isNaN(at.getTime())) return at;
  }
  throw new Error(`icp_webhook_page_v2 gave an instant that is not a UTC timestamp: ${String(text)}`);
}

/** The instants among `names` that `row` holds, converted (a column it does not hold stays out). */
function instants(row: Args, names: readonly string[]): Args {
  for (const name of names) if (row[name] != null) row[name] = instant(row[name]);
  return row;
}

/** Only these columns, as Prisma's `select` gives them. */
function pick(row: Args, columns: readonly string[]): Args {
  const picked: Args = {};
  for (const column of columns) picked[column] = row[column];
  return picked;
}

/** A delivery as Prisma's `select` gives it, with its event and attempts if asked for. */
function delivery(sent: Args, d: WebhookPageShape['deliveries']): Args {
  const shown = instants(pick(sent, d.columns), MODELS.WebhookDelivery.instants);
  if (d.event) shown.event = instants(pick(sent.event as Args, d.event), MODELS.Event.instants);
  if (d.attempts) {
    const columns = d.attempts.columns;
    shown.attempts = (sent.attempts as Args[]).map((a) => instants(pick(a, columns), MODELS.DeliveryAttempt.instants));
  }
  return shown;
}

/** The `i`th webhook's part of what the function gives in the order of its rows (fails when it gave none). */
function partOf<T>(parts: T[] | undefined, i: number, name: string): T {
  const part = parts?.[i];
  if (part === undefined) throw new Error(`icp_webhook_page_v2 gave no ${name} for the webhook at ${i}`);
  return part;
}

export interface WebhookPage {
  rows: Webhook[];
  /** Every webhook matching the filter, the page's or not. */
  totalCount: number;
}

/**
 * The page `shape` describes, newest first, with what it includes in Prisma's shapes
 * (`deliveries`, each with `event` and `attempts`; `_count.deliveries`), without the webhook's
 * sealed columns (the function never reads them out).
 */
export async function readWebhookPage(
  reader: RowReader,
  tenantId: string,
  filter: WebhookPageFilter,
  shape: WebhookPageShape,
): Promise<WebhookPage> {
  const d = shape.deliveries;
  const [read] = await reader.read<{ page: { rows: Args[]; matching: number; deliveries?: Args[][]; counts?: number[] } }>(
    `SELECT icp_webhook_page_v2($1::text, $2::text, $3::text, $4::text, $5::text[], $6::boolean, $7::integer, $8::integer, $9::text,
       $10::timestamp, $11::boolean, $12::boolean, $13::boolean, $14::integer, $15::boolean) AS "page"`,
    [
      tenantId,
      filter.appId,
      filter.status,
      filter.tag,
      filter.eventTypes,
      filter.includeDeleted,
      shape.take,
      d.take,
      d.status,
      // a `timestamp` parameter as Prisma writes one: UTC, without a zone
      d.since ? d.since.toISOString().replace('Z', '') : null,
      d.count,
      d.event !== null,
      d.event?.includes('payload') ?? false,
      d.attempts?.take ?? null,
      d.attempts?.columns.includes('responseBody') ?? false,
    ],
  );
  const page = read?.page ?? { rows: [], matching: 0 };
  const rows = page.rows.map((webhook, i) => {
    instants(webhook, MODELS.Webhook.instants);
    if (d.take !== null) webhook.deliveries = partOf(page.deliveries, i, 'deliveries').map((sent) => delivery(sent, d));
    if (d.count) webhook._count = { deliveries: partOf(page.counts, i, 'count') };
    return webhook as unknown as Webhook;
  });
  return { rows, totalCount: page.matching };
}
