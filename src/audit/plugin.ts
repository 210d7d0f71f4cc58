/**
 * The audit log: every mutation field writes who, what (the mutation, its outcome and the ids its
 * input names), when and from where; never another input value. Each field's outcome is known
 * whatever the client selected: the executed document asks for an extra `__typename` under an
 * internal alias, removed from the result before it is sent. A service may write a lone mutation's
 * `ok` entry in the transaction of its change (`offeredAudit`), which spares the request a second one.
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

/** Rewritten documents by source document and operation: Yoga's parser cache hands out the same nodes. */
const rewritten = new WeakMap<DocumentNode, WeakMap<OperationDefinitionNode, DocumentNode>>();

function withOutcome(document: DocumentNode, operation: OperationDefinitionNode): DocumentNode {
  let byOperation = rewritten.get(document);
  if (!byOperation) rewritten.set(document, (byOperation = new WeakMap()));
  let done = byOperation.get(operation);
  if (!done) byOperation.set(operation, (done = rewriteWithOutcome(document, operation)));
  return done;
}

function rewriteWithOutcome(document: DocumentNode, operation: OperationDefinitionNode): DocumentNode {
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

type Entry = Parameters<typeof insertManyStatement<'AuditEntry'>>[1][number];

/** The entry of a request's only mutation field, offered to the service that runs it. */
interface Offered {
  entry: Omit<Entry, 'outcome' | 'createdAt' | 'updatedAt'>;
  /** Set once the `ok` entry was inserted in the service's transaction. */
  written: boolean;
}

const offered = new WeakMap<object, Offered>();

/**
 * The INSERT of the request's `ok` audit entry (one parameter, $1), for a service to run in the
 * transaction that commits its change, alone or as a CTE of a statement it sends anyway; it calls
 * `written()` once the statement ran, and the plugin then writes none. Undefined outside a request
 * with one mutation field (a worker, several fields), where the plugin writes as usual. An error
 * after it rolls the entry back with the change, and the plugin writes the error's outcome instead.
 */
export function offeredAudit(scope: object): { statement: [string, string]; written(): void } | undefined {
  const offer = offered.get(scope);
  if (!offer || offer.written) return undefined;
  const now = new Date();
  return {
    statement: insertManyStatement('AuditEntry', [{ ...offer.entry, outcome: 'ok', createdAt: now, updatedAt: now }])!,
    written: () => {
      offer.written = true;
    },
  };
}

/** `offeredAudit`'s statement on its own, in `tx`. */
export async function auditWithin(
  scope: object,
  tx: { $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> },
): Promise<void> {
  const audit = offeredAudit(scope);
  if (!audit) return;
  await tx.$executeRawUnsafe(...audit.statement);
  audit.written();
}

export function auditPlugin(requestIdOf: (req: IncomingMessage) => string | undefined): Plugin<{ req: IncomingMessage }> {
  return {
    onExecute({ args, setExecuteFn, executeFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      const fields = operation.selectionSet.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD);
      setExecuteFn((executeArgs) => executeFn({ ...executeArgs, document: withOutcome(executeArgs.document, operation) }));
      const ctx = args.contextValue as unknown as Context & { req: IncomingMessage };
      const req = ctx.req;
      const variables = (args.variableValues ?? {}) as Record<string, unknown>;
      const entryOf = (field: FieldNode) => ({
        id: uuidv7(),
        tenantId: ctx.viewer.tenantId,
        appId: ctx.viewer.appId,
        actorId: ctx.viewer.actorId,
        via: ctx.viewer.via,
        operation: field.name.value,
        objectIds: inputIds(args.schema, field, variables),
        ip: req?.socket.remoteAddress ?? null,
        userAgent: typeof req?.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 300) : null,
        requestId: req ? (requestIdOf(req) ?? null) : null,
        createdBy: ctx.viewer.actorId,
      });
      const offer = fields.length === 1 ? { entry: entryOf(fields[0]!), written: false } : undefined;
      if (offer) offered.set(ctx, offer);
      return {
        async onExecuteDone({ result }) {
          if (!('data' in result) && !('errors' in result)) return;
          const data = (result as { data?: Record<string, Record<string, unknown> | null> | null }).data;
          const errors = (result as { errors?: readonly { path?: readonly (string | number)[] }[] }).errors ?? [];
          const now = new Date();
          const entries = fields
            .map((field) => {
              const key = field.alias?.value ?? field.name.value;
              const value = data?.[key];
              const typename = value && typeof value[OUTCOME_ALIAS] === 'string' ? (value[OUTCOME_ALIAS] as string) : null;
              if (value) delete value[OUTCOME_ALIAS];
              const failed = errors.some((e) => e.path?.[0] === key);
              const outcome = failed || !typename ? 'error' : typename.endsWith('Payload') ? 'ok' : typename;
              if (offer?.written && outcome === 'ok') return null;
              // an error after the service wrote: the entry rolled back with the change, or (an error
              // after the commit) it stands, and this one under an id of its own tells the outcome
              const entry = offer ? { ...offer.entry, ...(offer.written ? { id: uuidv7() } : {}) } : entryOf(field);
              return { ...entry, outcome, createdAt: now, updatedAt: now };
            })
            .filter((e) => e !== null);
          if (!entries.length) return;
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
