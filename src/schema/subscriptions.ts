import { filter, pipe } from 'graphql-yoga';
import { builder } from '../builder.ts';
import { tryParseGlobalId } from '../ids.ts';
import { IntegrationRef } from './integration.ts';

builder.subscriptionField('integrationStatusChanged', (t) =>
  t.field({
    type: IntegrationRef,
    description: 'Each status transition of the tenant’s integrations (or of one, given its id), over SSE.',
    authScopes: { 'integrations:read': true },
    args: { id: t.arg.id({ required: false, description: 'Only this integration.' }) },
    subscribe: (_root, args, ctx) => {
      const only = args.id == null ? null : (tryParseGlobalId('Integration', String(args.id)) ?? '');
      return pipe(
        ctx.services.pubsub.subscribe('integration:status', ctx.viewer.tenantId),
        filter((event) => only === null || event.integrationId === only),
      );
    },
    resolve: async (event, _args, ctx) => {
      const row = await ctx.db.integration.findUnique({ where: { id: event.integrationId, deletedAt: undefined } });
      if (!row) throw new Error('integration vanished between its change and the notification');
      return row;
    },
  }),
);
