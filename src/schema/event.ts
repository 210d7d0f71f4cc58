import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { EVENT_TYPES } from '../events/outbox.ts';
import { eventVisibility } from '../events/visibility.ts';
import { PROVIDERS } from '../providers/catalog.ts';
import { pageArgsGuard, pageCount, totalCountField } from './paging.ts';

builder.prismaNode('Event', {
  id: { field: 'id' },
  // a node(id) of a missing (or another tenant's) row answers null, not an error
  nullable: true,
  description: 'Something that happened to the tenant’s objects; webhooks deliver these.',
  authScopes: { $any: { 'integrations:read': true, 'webhooks:read': true } },
  // select mode: a delivery page reads its events' type and time, not every payload it does not
  // show; type and time are always read, as plain properties (see DeliveryAttempt in webhook.ts)
  select: { id: true, type: true, occurredAt: true },
  findUnique: (id, ctx) => ({ id, AND: [eventVisibility(ctx)] }),
  fields: (t) => ({
    type: t.string({ description: 'e.g. integration.status_changed.', resolve: (e) => e.type }),
    payload: t.field({
      type: 'JSONObject',
      description: 'The event’s data (never a credential).',
      select: { payload: true },
      resolve: (e) => e.payload as Record<string, unknown>,
    }),
    occurredAt: t.field({ type: 'DateTime', description: 'When it happened.', resolve: (e) => e.occurredAt }),
  }),
});

const eventsWhere = (args: { type?: string | null }, ctx: Context) => ({
  ...(args.type ? { type: args.type } : {}),
  ...eventVisibility(ctx),
});
const eventCount = pageCount((args: { type?: string | null }, ctx) => ctx.db.event.count({ where: eventsWhere(args, ctx) }));

builder.queryFields((t) => ({
  eventTypes: t.stringList({
    description:
      'Every event type the system emits, then one provider.<name>.* pattern per provider that relays inbound events (their types are the provider’s own).',
    resolve: () => [...EVENT_TYPES, ...PROVIDERS.filter((p) => p.inbound).map((p) => `provider.${p.name}.*`)],
  }),
  events: t.prismaConnection(
    {
      type: 'Event',
      cursor: 'id',
      description:
        'The tenant’s events, newest first (an application credential sees those its application caused and those delivered to its webhooks).',
      authScopes: { $any: { 'integrations:read': true, 'webhooks:read': true } },
      args: { type: t.arg.string({ required: false, description: 'Only events of this type.' }) },
      resolve: (query, _root, args, ctx, info) => {
        pageArgsGuard(args);
        eventCount.start(ctx, args, info);
        return ctx.db.event.findMany({ ...query, where: eventsWhere(args, ctx), orderBy: { id: 'desc' } });
      },
      totalCount: eventCount.totalCount,
    },
    {
      name: 'EventConnection',
      description: 'A page of events.',
      fields: (t) => ({ totalCount: t.int(totalCountField('How many events match `type`, across all pages.')) }),
    },
    { name: 'EventEdge', description: 'An event in a page.' },
  ),
}));
