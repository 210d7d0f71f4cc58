/**
 * No error repeats a value the client sent (it may be a secret in the wrong field, and messages
 * are logged and shown): graphql-js's coercion and scalar errors, Yoga's JSON parse errors, syntax
 * errors and the relay plugin's invalid global id or cursor are worded with the variable or
 * argument, the path and the expected type only, e.g. `Variable "$i" got an invalid value at
 * "i.url": expected URL!`. `extensions.originalError` is for NODE_ENV=development only.
 */
import {
  type ASTVisitor,
  type ExecutionResult,
  GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
  Kind,
  typeFromAST,
  type ValidationContext,
  type ValidationRule,
  ValuesOfCorrectTypeRule,
  type validate,
  visitInParallel,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { atPath, type InputPath, literalPath } from './literal-path.ts';
import { amendResultErrors } from './result-errors.ts';

/**
 * graphql-js's messages about an input's shape, which name only types and fields (a field the
 * type does not define is the client's own name: kept when it is a plain name).
 */
const STRUCTURAL = [
  /^Expected non-nullable type "[^"]+" not to be null\.$/,
  /^Expected type "\w+" to be an object\.$/,
  /^Field "\w+" of required type "[^"]+" was not provided\.$/,
  /^Field "\w{1,64}" is not defined by type "\w+"\./,
  /^Exactly one key must be specified for OneOf type "\w+"\.$/,
  /^Field "\w+" must be non-null\.$/,
];

/** Our own refusals (src/graphql-hardening/input-limits.ts): already value-free. */
const isOwnRefusal = (error: unknown) => error instanceof GraphQLError && error.extensions?.code === 'VALIDATION';

function reasonFor(inner: GraphQLError | undefined, type: GraphQLInputType | undefined): { reason: string; code?: string } {
  if (inner && isOwnRefusal(inner)) return { reason: inner.message, code: 'VALIDATION' };
  if (inner && STRUCTURAL.some((pattern) => pattern.test(inner.message))) return { reason: inner.message };
  return { reason: type ? `expected ${String(type)}` : 'it does not match its type' };
}

/** The type at `path` inside `type` (field names and list indices), or undefined. */
function typeAt(type: GraphQLInputType | undefined, path: InputPath): GraphQLInputType | undefined {
  let here = type;
  for (const segment of path) {
    const nullable = here && getNullableType(here);
    if (typeof segment === 'number') here = isListType(nullable) ? nullable.ofType : undefined;
    else here = isInputObjectType(nullable) ? nullable.getFields()[segment]?.type : undefined;
  }
  return here;
}

const VARIABLE_VALUE = /^Variable "\$(\w+)" got invalid value /;
const SEGMENT = /\.(\w+)|\[(\d+)\]/g;

/**
 * A variable coercion error (@graphql-tools/executor, after graphql-js): `Variable "$name" got
 * invalid value <value>[ at "name<path>"]; <reason>`, with the reason's error as originalError.
 * The path is read from the end of the text before the reason (its segments are schema field
 * names and indices, so a value cannot pass for one); the value is dropped.
 */
function valueFreeVariableError(error: GraphQLError, schema: GraphQLSchema): GraphQLError {
  const name = VARIABLE_VALUE.exec(error.message)?.[1];
  if (!name) return error;
  const inner = error.originalError instanceof GraphQLError ? error.originalError : undefined;
  const path: InputPath = [name];
  if (inner && error.message.endsWith(`; ${inner.message}`)) {
    const prefix = error.message.slice(0, -(inner.message.length + 2));
    const at = new RegExp(` at "${name}((?:\\.\\w+|\\[\\d+\\])*)"$`).exec(prefix);
    for (const [, field, index] of at?.[1]?.matchAll(SEGMENT) ?? []) path.push(field ?? Number(index));
  }
  const definition = error.nodes?.[0];
  const variableType =
    definition?.kind === Kind.VARIABLE_DEFINITION ? (typeFromAST(schema, definition.type) as GraphQLInputType | undefined) : undefined;
  const { reason, code } = reasonFor(inner, typeAt(variableType, path.slice(1)));
  return new GraphQLError(`Variable "$${name}" got an invalid value${atPath(path)}: ${reason}`, {
    nodes: error.nodes,
    extensions: { ...error.extensions, ...(code ? { code } : {}) },
  });
}

/**
 * graphql-js's ValuesOfCorrectTypeRule, reporting through a context that words each error
 * without the literal: the input type at the point of the error, and the path of it.
 */
export function ValueFreeValuesOfCorrectTypeRule(context: ValidationContext): ASTVisitor {
  const tracker = literalPath();
  const reporting = Object.create(context) as ValidationContext;
  reporting.reportError = (error) => {
    // a scalar's own error comes without the node: the one being checked
    const node = error.nodes?.[0] ?? tracker.node();
    const type = context.getInputType() ?? undefined;
    // a field the type does not define, or one it requires that is missing: names only
    const structural = node?.kind === Kind.OBJECT_FIELD || (node?.kind === Kind.OBJECT && isInputObjectType(getNamedType(type)));
    if (structural) return context.reportError(error);
    const path = tracker.path();
    const root = String(path[0] ?? '');
    const subject = root.startsWith('$') ? `The default value of variable "${root}"` : `Argument "${root}"`;
    const own = isOwnRefusal(error);
    const reason = own ? error.message : `expected ${type ? String(type) : 'another value'}`;
    context.reportError(
      new GraphQLError(`${subject} has an invalid value${atPath(path)}: ${reason}`, {
        nodes: node,
        extensions: own ? { code: 'VALIDATION' } : undefined,
      }),
    );
  };
  return visitInParallel([tracker.visitor, ValuesOfCorrectTypeRule(reporting)]);
}

/** Keeps what Yoga tells only developers: `extensions.originalError` (the JSON parser's text, a stack). */
export function withoutOriginalError<E extends Error>(error: E, isDev: boolean): E {
  if (isDev || !(error instanceof GraphQLError) || error.extensions?.originalError === undefined) return error;
  const { originalError: _dropped, ...extensions } = error.extensions;
  // Yoga answers such an error (a body that is not JSON) 400 only while it carries originalError,
  // else 200 to application/json clients when the status is marked `spec`: the status stays
  const http = extensions.http as { spec?: boolean } | undefined;
  if (http?.spec) extensions.http = { ...http, spec: undefined };
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions,
  }) as unknown as E;
}

/**
 * Other messages that repeat a value: the parser's for an unexpected string or number token
 * (`Expected Name, found String "…".`), and the relay plugin's for an id or cursor it could not read.
 */
const MESSAGES_WITH_VALUES: [RegExp, string][] = [
  [/^(Syntax Error: (?:Unexpected|Expected [^,]*, found)) (String|BlockString|Int|Float) "[\s\S]*"\.$/, '$1 $2.'],
  [/^Invalid global ID: [\s\S]*$/, 'Invalid global ID'],
  [/^ID: [\s\S]* is not of type: ([\w, ]+)$/, 'The ID is not of type: $1'],
  [/^Invalid cursor: [\s\S]*$/, 'Invalid cursor'],
  [/^Expected compound cursor to contain [\s\S]*$/, 'Invalid cursor'],
];

function withoutValues(error: GraphQLError) {
  for (const [pattern, replacement] of MESSAGES_WITH_VALUES) {
    // GraphQLError's message is a plain writable property (see suggestions.ts)
    if (pattern.test(error.message)) return void ((error as { message: string }).message = error.message.replace(pattern, replacement));
  }
}

const isValuesRule = (rule: ValidationRule) => rule === ValuesOfCorrectTypeRule || rule.name === 'ValuesOfCorrectTypeRule';

/**
 * The Yoga plugin. Its hooks are made once: on a request without errors each is a check or two.
 * The validation function is wrapped once per function it is given (the cache answers most
 * validations without calling it anyway).
 */
export function valueFreeErrors(): Plugin {
  // a variable that does not coerce stops execution: a result with errors and no data
  const rewriteVariableErrors = ({
    args,
    result,
    setResult,
  }: {
    args: { schema: GraphQLSchema };
    result: unknown;
    setResult: (result: ExecutionResult) => void;
  }) => {
    const { errors } = result as ExecutionResult;
    if (!errors?.length || 'data' in (result as object) || !errors.some((e) => VARIABLE_VALUE.test(e.message))) return;
    setResult({ ...(result as ExecutionResult), errors: errors.map((e) => valueFreeVariableError(e, args.schema)) });
  };
  const afterExecute = { onExecuteDone: rewriteVariableErrors };
  const afterSubscribe = { onSubscribeResult: rewriteVariableErrors };
  const wrapped = new WeakMap<typeof validate, typeof validate>();
  const withValueFreeRule =
    (validateFn: typeof validate): typeof validate =>
    (schema, document, rules, ...rest) =>
      validateFn(
        schema,
        document,
        rules?.map((rule) => (isValuesRule(rule) ? ValueFreeValuesOfCorrectTypeRule : rule)),
        ...rest,
      );
  return {
    ...amendResultErrors(withoutValues),
    onValidate({ validateFn, setValidationFn }) {
      let replacement = wrapped.get(validateFn);
      if (!replacement) wrapped.set(validateFn, (replacement = withValueFreeRule(validateFn)));
      setValidationFn(replacement);
    },
    onExecute: () => afterExecute,
    onSubscribe: () => afterSubscribe,
  };
}
