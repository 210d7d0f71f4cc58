import { filter, pipe } from 'graphql-yoga';
import { allowedProvidersWhere } from '../auth/connect-sessions.ts';
import { builder } from '../builder.ts';
import { withoutSealed } from './client.ts';
import { untilExpiry } from './connect-session.ts';
import { followedId } from './followed.ts';
import { IntegrationRef } from './integration.ts';

builder.subscriptionField('integrationStatusChanged', (t) =>
  t.field({
    type: IntegrationRef,
    description: 'Each status transition of the tenant’s integrations (or of one, given its id), over SSE.',
    authScopes: { $any: { 'integrations:read': true, connect: true } },
    args: { id: t.arg.id({ required: false, description: 'Only this integration; NOT_FOUND when the caller cannot see it.' }) },
    subscribe: async (_root, args, ctx) => {
      const only = await followedId('Integration', args.id, (id) =>
        ctx.db.integration.findFirst({ where: { id, ...allowedProvidersWhere(ctx.viewer) }, select: { id: true } }),
      );
      const events = pipe(
        ctx.services.pubsub.subscribe('integration:status', ctx.viewer.tenantId),
        filter((event) => only === null || event.integrationId === only),
      );
      const { connect } = ctx.viewer;
      if (!connect) return events;
      // a connect session hears of its allowed providers' integrations only, until it expires
      const allowed = async (event: { integrationId: string }) =>
        (await ctx.db.integration.count({
          where: { id: event.integrationId, deletedAt: undefined, ...allowedProvidersWhere(ctx.viewer) },
        })) > 0;
      return untilExpiry(pipe(events, filter(allowed)), connect.expiresAt);
    },
    resolve: async (event, _args, ctx) => {
      // as every GraphQL read of an integration, without the sealed columns no field shows
      const row = await ctx.db.integration.findUnique(
        withoutSealed({ where: { id: event.integrationId, deletedAt: undefined, ...allowedProvidersWhere(ctx.viewer) } }),
      );
      if (!row) throw new Error('integration vanished between its change and the notification');
      return row;
    },
  }),
);
