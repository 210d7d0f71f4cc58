import { builder } from '../builder.ts';
import { AuthMethodEnum } from './auth-enums.ts';
import { ERROR_TYPES } from './errors.ts';
import { pageArgsGuard, pageCount, totalCountField } from './paging.ts';

const ADMIN = { admin: true } as const;

/** ValidationError → VALIDATION_ERROR: the outcome value of a typed error. */
const outcomeName = (typename: string) => typename.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toUpperCase();

/**
 * What a mutation field's audit entry stores as its outcome (src/audit/plugin.ts): "ok", the
 * typename of the typed error it returned, or "error". A stored name no value matches (an error
 * type since removed) reads as ERROR.
 */
const AuditOutcomeEnum = builder.enumType('AuditOutcome', {
  description: 'How a mutation ended.',
  values: {
    OK: { value: 'ok', description: 'It returned its payload.' },
    ...Object.fromEntries(
      ERROR_TYPES.map(([, typename]) => [
        outcomeName(typename),
        { value: typename, description: `It returned a typed error: ${typename}.` },
      ]),
    ),
    ERROR: { value: 'error', description: 'It failed unexpectedly (masked for the client, logged for operators).' },
  } as Record<string, { value: string; description: string }>,
});
const OUTCOMES = new Set(['ok', 'error', ...ERROR_TYPES.map(([, typename]) => typename as string)]);

/** An application's credential reads the entries of its application's credentials only. */
const auditVisibility = (ctx: { viewer: { appId: string | null } }) => (ctx.viewer.appId ? { appId: ctx.viewer.appId } : {});
const auditWhere = (args: { operation?: string | null }, ctx: { viewer: { appId: string | null } }) => ({
  ...(args.operation ? { operation: args.operation } : {}),
  ...auditVisibility(ctx),
});

builder.prismaNode('AuditEntry', {
  id: { field: 'id' },
  nullable: true,
  description: 'One mutation as it was made: who, what, when and from where. Never an input value other than ids.',
  authScopes: ADMIN,
  findUnique: (id, ctx) => ({ id, ...auditVisibility(ctx) }),
  fields: (t) => ({
    operation: t.exposeString('operation', { description: 'The mutation, e.g. configureIntegration.' }),
    outcome: t.field({
      type: AuditOutcomeEnum,
      description: 'OK, the typed error it returned (e.g. VALIDATION_ERROR), or ERROR.',
      resolve: (e) => (OUTCOMES.has(e.outcome) ? e.outcome : 'error'),
    }),
    objectIds: t.exposeStringList('objectIds', { description: 'The ids its input named.' }),
    actorId: t.exposeString('actorId', { nullable: true, description: 'Who: a JWT sub or apikey:<id>.' }),
    appId: t.exposeString('appId', { nullable: true, description: 'The application, for application credentials.' }),
    via: t.field({ type: AuthMethodEnum, description: 'How the caller authenticated.', resolve: (e) => e.via as 'jwt' | 'api_key' }),
    ip: t.exposeString('ip', { nullable: true, description: 'The address the request came from.' }),
    userAgent: t.exposeString('userAgent', { nullable: true, description: 'The client’s User-Agent (first 300 characters).' }),
    requestId: t.exposeString('requestId', {
      nullable: true,
      description: 'The request id of the access log and the x-request-id header.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When.' }),
  }),
});

const auditEntryCount = pageCount((args: { operation?: string | null }, ctx) => ctx.db.auditEntry.count({ where: auditWhere(args, ctx) }));

builder.queryField('auditLog', (t) =>
  t.prismaConnection(
    {
      type: 'AuditEntry',
      cursor: 'id',
      description: 'The tenant’s audit log, newest first (admin scope; an application credential sees its application’s entries).',
      authScopes: ADMIN,
      args: { operation: t.arg.string({ required: false, description: 'Only entries of this mutation.' }) },
      resolve: (query, _root, args, ctx, info) => {
        pageArgsGuard(args);
        auditEntryCount.start(ctx, args, info);
        return ctx.db.auditEntry.findMany({ ...query, where: auditWhere(args, ctx), orderBy: { id: 'desc' } });
      },
      totalCount: auditEntryCount.totalCount,
    },
    {
      name: 'AuditEntryConnection',
      description: 'A page of audit entries.',
      fields: (t) => ({ totalCount: t.int(totalCountField('How many entries match `operation`, across all pages.')) }),
    },
    { name: 'AuditEntryEdge', description: 'An audit entry in a page.' },
  ),
);
