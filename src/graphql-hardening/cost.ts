/**
 * The cost limit: graphql-armor's formula applied to the page sizes a request will really get.
 * Every paged field's size is made literal first (the variable's value, else its default, else
 * DEFAULT_PAGE_SIZE, at most the field's maxItems), and an unpaged list of objects counts as its
 * bound (list-bounds.ts); graphql-armor alone counts a size it cannot read as 1. Checked just
 * before execution, on the operation that runs. docs/configuration.md ("Request limits…").
 */
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import {
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  TypeInfo,
  type ValueNode,
  validate,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { DEFAULT_PAGE_SIZE } from '../schema/paging.ts';
import { declaredMaxItems, isObjectList } from './list-bounds.ts';

/** graphql-armor's defaults, stated so the limit's meaning does not move with the library. */
export const COST_WEIGHTS = { objectCost: 2, scalarCost: 1, depthCostFactor: 1.5 } as const;

const PAGE_ARGUMENTS = ['first', 'last'];

type Variables = Record<string, unknown> | null | undefined;

/** The page size a `first`/`last` argument asks for: a literal, a variable's value or default. */
function pageSize(value: ValueNode, operation: OperationDefinitionNode, variables: Variables): number | undefined {
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind !== Kind.VARIABLE) return undefined;
  const given = variables?.[value.name.value];
  if (typeof given === 'number' && Number.isInteger(given)) return given;
  if (given != null) return undefined; // not an Int: execution refuses it anyway
  const definition = operation.variableDefinitions?.find((d) => d.variable.name.value === value.name.value);
  const fallback = definition?.defaultValue;
  return fallback?.kind === Kind.INT ? Number(fallback.value) : undefined;
}

function intArgument(name: string, size: number): ArgumentNode {
  return { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: name }, value: { kind: Kind.INT, value: String(size) } };
}

/**
 * `operation` (with the fragments it may use) where every field taking `first`/`last` states the
 * page size it will get as a literal, which graphql-armor's formula then multiplies by.
 */
function withLiteralPageSizes(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Variables,
): DocumentNode {
  const selected: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: document.definitions.filter((d) => d === operation || d.kind === Kind.FRAGMENT_DEFINITION),
  };
  const typeInfo = new TypeInfo(schema);
  return visit(
    selected,
    visitWithTypeInfo(typeInfo, {
      Field(node: FieldNode) {
        const field = typeInfo.getFieldDef();
        const paged = field?.args.some((a) => PAGE_ARGUMENTS.includes(a.name));
        if (!paged) {
          // an unpaged list counts as its longest possible length (src/graphql-hardening/list-bounds.ts)
          const bound = field && isObjectList(field) ? declaredMaxItems(field) : undefined;
          return bound === undefined ? undefined : { ...node, arguments: [intArgument('first', bound), ...(node.arguments ?? [])] };
        }
        const sizes = PAGE_ARGUMENTS.map((name) => {
          const given = node.arguments?.find((a) => a.name.value === name);
          return given ? (pageSize(given.value, operation, variables) ?? DEFAULT_PAGE_SIZE) : undefined;
        });
        const asked = Math.max(...sizes.map((s) => s ?? 0)) || DEFAULT_PAGE_SIZE;
        // a connection that can never hold more than its bound costs no more than it
        const size = Math.min(asked, (field && declaredMaxItems(field)) ?? Infinity);
        const others = (node.arguments ?? []).filter((a) => !PAGE_ARGUMENTS.includes(a.name.value));
        return { ...node, arguments: [intArgument('first', size), ...others] };
      },
    }),
  );
}

/** The cost of one operation of `document`, by graphql-armor's formula on its real page sizes. */
export function costOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables?: Variables): number {
  let cost = 0;
  const rule = costLimitRule({
    ...COST_WEIGHTS,
    maxCost: Number.MAX_SAFE_INTEGER,
    ignoreIntrospection: true,
    onAccept: [(_context, { n }) => (cost = n)],
  });
  validate(schema, withLiteralPageSizes(schema, document, operation, variables), [rule]);
  return cost;
}

/** The cost of the operation a request runs (none found: 0, execution reports that). */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  options: { operationName?: string | null; variables?: Variables } = {},
): number {
  const operation = getOperationAST(document, options.operationName);
  return operation ? costOf(schema, document, operation, options.variables) : 0;
}

/**
 * What a cost can depend on in the variables: page sizes read only integers, and treat null and
 * absent alike and any other value as "not a size". The key keeps no other value (no secrets).
 */
function variablesShape(variables: Variables): string {
  if (!variables) return '';
  const parts: string[] = [];
  for (const [name, value] of Object.entries(variables)) {
    if (value == null) continue;
    parts.push(`${name}=${typeof value === 'number' ? value : '*'}`);
  }
  return parts.sort().join('&');
}

const COSTS_PER_DOCUMENT = 64;

/**
 * `operationCost`, remembered per parsed document (Yoga's parse cache hands back the same object
 * for the same text) and per operation name and variables shape: rewriting and validating the
 * document again on every request cost ~9% of a minimal request.
 */
function cachedOperationCost() {
  const cache = new WeakMap<DocumentNode, Map<string, number>>();
  return (schema: GraphQLSchema, document: DocumentNode, options: { operationName?: string | null; variables?: Variables }) => {
    const key = `${options.operationName ?? ''}\u0000${variablesShape(options.variables)}`;
    let costs = cache.get(document);
    const known = costs?.get(key);
    if (known !== undefined) return known;
    const cost = operationCost(schema, document, options);
    if (!costs) cache.set(document, (costs = new Map()));
    if (costs.size < COSTS_PER_DOCUMENT) costs.set(key, cost);
    return cost;
  };
}

function costError(cost: number, maxCost: number) {
  return new GraphQLError(
    `Query cost limit of ${maxCost} exceeded, found ${cost}: ask for smaller pages (first/last) or fewer nested connections`,
    // as Yoga marks validation errors: 400 to GraphQL-over-HTTP clients, 200 to legacy JSON ones
    { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', cost, maxCost, http: { spec: true, status: 400 } } },
  );
}

/** Refuses, before any resolver runs, an operation whose cost is over `maxCost`. */
export function costLimitPlugin({ maxCost }: { maxCost: number }): Plugin {
  const costOfRequest = cachedOperationCost();
  const check = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: Variables };
    setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void;
  }) => {
    const cost = costOfRequest(args.schema, args.document, { operationName: args.operationName, variables: args.variableValues });
    if (cost > maxCost) setResultAndStopExecution({ errors: [costError(cost, maxCost)] });
  };
  return { onExecute: check, onSubscribe: check };
}
