/**
 * What a request may take while it runs, after the cost check (cost.ts): a query ends at its
 * deadline, and no response holds more than `maxListItems` list items; past either, the whole
 * execution is aborted (one error, the process freed). A mutation is never cut (its change may have
 * committed); a subscription event past the ceiling fails alone. Lists count their items as they
 * resolve (`countListItems`), where the deadline is checked too: no timer fires inside a sync loop.
 */
import { GraphQLError, type GraphQLResolveInfo, type GraphQLSchema, getOperationAST, isObjectType } from 'graphql';
import { isPromise, type Plugin } from 'graphql-yoga';
import { isObjectList } from './list-bounds.ts';

export interface ExecutionLimits {
  /** How long a query may execute, ms. */
  deadlineMs: number;
  /** How many list items (of every list of objects, summed) one response may hold. */
  maxListItems: number;
}

const BUDGET = Symbol('execution budget');
const LIMITS = Symbol('execution limits');

class Budget {
  items = 0;
  constructor(
    private readonly limits: ExecutionLimits,
    readonly deadline: number,
    /** Aborts the execution (queries); without it a limit fails only the field past it. */
    private readonly controller?: AbortController,
  ) {}

  /** Counts a list as it resolves; past a limit, aborts the execution and throws. */
  count(length: number): void {
    this.items += length;
    if (this.items > this.limits.maxListItems) this.stop(tooLarge(this.limits.maxListItems));
    if (performance.now() > this.deadline) this.stop(pastDeadline(this.limits.deadlineMs));
  }

  stop(error: GraphQLError): never {
    this.controller?.abort(error);
    throw error;
  }
}

function pastDeadline(ms: number) {
  return new GraphQLError(`The request ran past its execution deadline of ${ms} ms and was stopped: ask for less, or retry later`, {
    extensions: { code: 'DEADLINE_EXCEEDED', deadlineMs: ms, http: { status: 503, headers: { 'retry-after': '5' } } },
  });
}

function tooLarge(max: number) {
  return new GraphQLError(
    `The response would hold more than ${max} list items and was stopped: ask for smaller pages or fewer nested lists`,
    {
      extensions: { code: 'RESPONSE_TOO_LARGE', maxListItems: max, http: { status: 400 } },
    },
  );
}

/** Each subscription event's own budget (an event is executed without onExecute), by its payload. */
const eventBudgets = new WeakMap<object, Budget>();

function budgetOf(context: unknown, info: GraphQLResolveInfo): Budget | undefined {
  const budget = (context as { [BUDGET]?: Budget })[BUDGET];
  if (budget) return budget;
  const event = info.rootValue;
  if (info.operation.operation !== 'subscription' || typeof event !== 'object' || event === null) return undefined;
  const limits = (context as { [LIMITS]?: ExecutionLimits })[LIMITS];
  if (!limits) return undefined;
  let own = eventBudgets.get(event);
  if (!own) eventBudgets.set(event, (own = new Budget(limits, Infinity)));
  return own;
}

/**
 * Wraps the resolver of every list-of-objects field of `schema` (in place) so that it counts its
 * items against the request's (or the subscription event's) budget.
 */
export function countListItems(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (!isObjectList(field)) continue;
      const resolve = field.resolve ?? ((source: Record<string, unknown>) => source[field.name]);
      field.resolve = (source, args, context, info) => {
        const budget = budgetOf(context, info);
        const result = resolve(source, args, context, info);
        if (!budget) return result;
        if (isPromise(result)) {
          return result.then((list) => {
            if (Array.isArray(list)) budget.count(list.length);
            return list;
          });
        }
        if (Array.isArray(result)) budget.count(result.length);
        return result;
      };
    }
  }
  return schema;
}

/** Gives each query its budget and deadline, and each subscription the limits its events are counted by. */
export function executionLimitsPlugin(limits: ExecutionLimits): Plugin {
  return {
    onSubscribe({ args }) {
      (args.contextValue as { [LIMITS]?: ExecutionLimits })[LIMITS] = limits;
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      // a mutation's change may have committed: it is never cut, and the cost check bounds its payload
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return;
      const controller = new AbortController();
      const deadline = performance.now() + limits.deadlineMs;
      (args.contextValue as { [BUDGET]?: Budget })[BUDGET] = new Budget(limits, deadline, controller);
      // the executor stops at this signal (and at the request's, which Yoga may have set)
      const withSignal = args as { signal?: AbortSignal };
      const outer = withSignal.signal;
      if (outer) outer.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
      withSignal.signal = controller.signal;
      setExecuteFn((executeArgs) => {
        const timer = setTimeout(() => controller.abort(pastDeadline(limits.deadlineMs)), limits.deadlineMs);
        let result;
        try {
          result = executeFn(executeArgs);
        } catch (err) {
          clearTimeout(timer);
          throw err;
        }
        if (!isPromise(result)) {
          clearTimeout(timer);
          return result;
        }
        return result.finally(() => clearTimeout(timer));
      });
    },
  };
}
