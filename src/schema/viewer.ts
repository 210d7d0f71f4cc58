import type { Viewer } from '../auth/viewer.ts';
import { builder } from '../builder.ts';
import { AuthMethodEnum, ScopeEnum } from './auth-enums.ts';

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'Who the caller is, as the server sees its credential.',
  fields: (t) => ({
    tenantId: t.exposeString('tenantId', { description: 'The tenant every read and write is confined to.' }),
    actorId: t.exposeString('actorId', { nullable: true, description: 'Stamped on what the caller writes: a JWT sub or apikey:<id>.' }),
    appId: t.exposeString('appId', { nullable: true, description: 'The application, for application credentials.' }),
    scopes: t.field({
      type: [ScopeEnum],
      description: 'Effective scopes (the implied ones included), sorted.',
      resolve: (v) => [...v.scopes].sort(),
    }),
    authenticatedBy: t.field({ type: AuthMethodEnum, description: 'How the caller authenticated.', resolve: (v) => v.via }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({ type: ViewerRef, description: 'The authenticated caller.', resolve: (_root, _args, ctx) => ctx.viewer }),
);
