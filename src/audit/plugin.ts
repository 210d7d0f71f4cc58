/**
 * The audit log: every mutation field writes who, what (the mutation, its outcome and the ids its
 * input names), when and from where; never another input value. Each field's outcome is known
 * whatever the client selected: the executed document asks for an extra `__typename` under an
 * internal alias, removed from the result before it is sent.
 */
import type { IncomingMessage } from 'node:http';
import {
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  getArgumentValues,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { v7 as uuidv7 } from 'uuid';
import type { Context } from '../context.ts';
import { insertManyStatement } from '../db/insert-many.ts';
import { inRowScope } from '../db/row-security.ts';

const OUTCOME_ALIAS = '__auditOutcome';
const ID_KEY = /^(id|.+Id)$/;

function withOutcome(document: DocumentNode, operation: OperationDefinitionNode): DocumentNode {
  return visit(document, {
    OperationDefinition(node) {
      if (node !== operation) return undefined;
      return {
        ...node,
        selectionSet: {
          ...node.selectionSet,
          selections: node.selectionSet.selections.map((s) =>
            s.kind === Kind.FIELD && s.selectionSet
              ? {
                  ...s,
                  selectionSet: {
                    ...s.selectionSet,
                    selections: [
                      ...s.selectionSet.selections,
                      {
                        kind: Kind.FIELD,
                        alias: { kind: Kind.NAME, value: OUTCOME_ALIAS },
                        name: { kind: Kind.NAME, value: '__typename' },
                      },
                    ],
                  },
                }
              : s,
          ),
        },
      };
    },
  });
}

function inputIds(schema: GraphQLSchema, field: FieldNode, variables: Record<string, unknown>): string[] {
  const definition = schema.getMutationType()?.getFields()[field.name.value];
  if (!definition) return [];
  const input = getArgumentValues(definition, field, variables).input as Record<string, unknown> | undefined;
  return Object.entries(input ?? {})
    .filter(([key, value]) => ID_KEY.test(key) && typeof value === 'string')
    .map(([, value]) => value as string);
}

export function auditPlugin(requestIdOf: (req: IncomingMessage) => string | undefined): Plugin<{ req: IncomingMessage }> {
  return {
    onExecute({ args, setExecuteFn, executeFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      const fields = operation.selectionSet.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD);
      setExecuteFn((executeArgs) => executeFn({ ...executeArgs, document: withOutcome(executeArgs.document, operation) }));
      const ctx = args.contextValue as unknown as Context & { req: IncomingMessage };
      return {
        async onExecuteDone({ result }) {
          if (!('data' in result) && !('errors' in result)) return;
          const data = (result as { data?: Record<string, Record<string, unknown> | null> | null }).data;
          const errors = (result as { errors?: readonly { path?: readonly (string | number)[] }[] }).errors ?? [];
          const req = ctx.req;
          const now = new Date();
          const entries = fields.map((field) => {
            const key = field.alias?.value ?? field.name.value;
            const value = data?.[key];
            const typename = value && typeof value[OUTCOME_ALIAS] === 'string' ? (value[OUTCOME_ALIAS] as string) : null;
            if (value) delete value[OUTCOME_ALIAS];
            const failed = errors.some((e) => e.path?.[0] === key);
            return {
              id: uuidv7(),
              tenantId: ctx.viewer.tenantId,
              appId: ctx.viewer.appId,
              actorId: ctx.viewer.actorId,
              via: ctx.viewer.via,
              operation: field.name.value,
              outcome: failed || !typename ? 'error' : typename.endsWith('Payload') ? 'ok' : typename,
              objectIds: inputIds(args.schema, field, (args.variableValues ?? {}) as Record<string, unknown>),
              ip: req?.socket.remoteAddress ?? null,
              userAgent: typeof req?.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 300) : null,
              requestId: req ? (requestIdOf(req) ?? null) : null,
              createdAt: now,
              updatedAt: now,
              createdBy: ctx.viewer.actorId,
            };
          });
          try {
            const { prisma } = ctx.services;
            await inRowScope(
              prisma,
              { tenantId: ctx.viewer.tenantId },
              prisma.$executeRawUnsafe(...insertManyStatement('AuditEntry', entries)!),
            );
          } catch (err) {
            ctx.services.logger.error({ err, operations: entries.map((e) => e.operation) }, 'could not write the audit log');
          }
        },
      };
    },
  };
}
