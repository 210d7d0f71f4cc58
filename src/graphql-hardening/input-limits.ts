/**
 * What no input may hold, refused as `VALIDATION` before anything runs: a NUL or a lone UTF-16
 * surrogate in any string or key, nesting deeper than INPUT_LIMITS.depth, a JSON value larger than
 * INPUT_LIMITS.jsonBytes, document brackets nested deeper than INPUT_LIMITS.documentNesting.
 * Checked on the variables, the document's literals and the JSON scalars; errors name the variable
 * or argument and the path, never the value. Why: docs/design-notes.md ("What no input may hold").
 */
import {
  type ASTVisitor,
  type DocumentNode,
  GraphQLError,
  type GraphQLScalarLiteralParser,
  type GraphQLScalarType,
  getOperationAST,
  type ListValueNode,
  type ObjectValueNode,
  type parse,
  type ValidationContext,
  visitInParallel,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { atPath, type InputPath, literalPath } from './literal-path.ts';

export const INPUT_LIMITS = {
  /** Lists and objects inside one another in one variable or argument value. */
  depth: 32,
  /** A JSON or JSONObject value, serialised. */
  jsonBytes: 64 * 1024,
  /** Brackets ({ [ () inside one another in a document: far above depth 12 plus literals of depth 32. */
  documentNesting: 100,
};

export interface InputProblem {
  kind: 'nul' | 'nul-key' | 'surrogate' | 'surrogate-key' | 'depth' | 'size';
  path: InputPath;
}

const SAFE_KEY = /^[A-Za-z0-9_-]{1,64}$/;

declare global {
  interface String {
    /** ES2024 (Node 20 has it; the project's lib is es2023): no lone surrogate. */
    isWellFormed(): boolean;
  }
}

/** C0 and C1 controls and the Unicode line and paragraph separators: never in a name or an id. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why a string cannot be stored: it holds a NUL, or a lone surrogate (it is not well-formed UTF-16). */
export function unstorableString(s: string): 'nul' | 'surrogate' | undefined {
  if (s.includes('\u0000')) return 'nul';
  if (!s.isWellFormed()) return 'surrogate';
  return undefined;
}

/**
 * The first NUL character, lone surrogate or excess nesting in `value` (as JSON.parse gives it), with where it is
 * (`path` is extended from the one given). Recursion stops at the depth limit, so any input is
 * safe to walk. Object keys that are not plain names appear in the path as `?`.
 */
export function findInputProblem(value: unknown, path: InputPath = [], depth = 0): InputProblem | undefined {
  if (typeof value === 'string') {
    const kind = unstorableString(value);
    return kind ? { kind, path: [...path] } : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= INPUT_LIMITS.depth) return { kind: 'depth', path: [...path] };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const problem = findInputProblem(value[i], path, depth + 1);
      path.pop();
      if (problem) return problem;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const keyProblem = unstorableString(key);
    if (keyProblem) return { kind: keyProblem === 'nul' ? 'nul-key' : 'surrogate-key', path: [...path] };
    path.push(SAFE_KEY.test(key) ? key : '?');
    const problem = findInputProblem((value as Record<string, unknown>)[key], path, depth + 1);
    path.pop();
    if (problem) return problem;
  }
  return undefined;
}

const REASONS: Record<InputProblem['kind'], string> = {
  nul: 'a string holds a NUL (U+0000) character, which cannot be stored',
  'nul-key': 'an object key holds a NUL (U+0000) character, which cannot be stored',
  surrogate: 'a string holds a lone UTF-16 surrogate (it is not well-formed Unicode), which cannot be stored',
  'surrogate-key': 'an object key holds a lone UTF-16 surrogate (it is not well-formed Unicode), which cannot be stored',
  depth: `lists and objects are nested more than ${INPUT_LIMITS.depth} levels deep`,
  size: `the JSON value is larger than ${INPUT_LIMITS.jsonBytes / 1024} KiB`,
};

function where({ path }: InputProblem): string {
  return atPath(path.length > 8 ? [...path.slice(0, 8), '…'] : path);
}

function refusal(subject: string, problem: InputProblem, nodes?: GraphQLError['nodes']) {
  return new GraphQLError(`${subject} is refused${where(problem)}: ${REASONS[problem.kind]}`, {
    nodes,
    extensions: { code: 'VALIDATION', http: { status: 400 } },
  });
}

/** Whether a document nests brackets deeper than `limit` (strings and comments skipped). */
export function nestsTooDeep(source: string, limit = INPUT_LIMITS.documentNesting): boolean {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x7b || c === 0x5b || c === 0x28) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth--;
    } else if (c === 0x23) {
      // a comment runs to the end of the line (\n or \r)
      while (i + 1 < source.length && source.charCodeAt(i + 1) !== 0x0a && source.charCodeAt(i + 1) !== 0x0d) i++;
    } else if (c === 0x22) {
      if (source.startsWith('"""', i)) {
        // a block string ends at the first """ not escaped as \"""
        let end = source.indexOf('"""', i + 3);
        while (end !== -1 && source.charCodeAt(end - 1) === 0x5c) end = source.indexOf('"""', end + 3);
        if (end === -1) return false;
        i = end + 2;
      } else {
        // a string ends at an unescaped quote or the end of the line
        for (i++; i < source.length; i++) {
          const s = source.charCodeAt(i);
          if (s === 0x5c) i++;
          else if (s === 0x22 || s === 0x0a || s === 0x0d) break;
        }
      }
    }
  }
  return false;
}

/** NUL characters, lone surrogates and excess nesting in the literals of a document (arguments and variable defaults). */
export function InputLiteralLimitsRule(context: ValidationContext): ASTVisitor {
  const tracker = literalPath();
  let depth = 0;
  const subject = (path: InputPath) =>
    String(path[0]).startsWith('$') ? `The default value of variable "${path[0]}"` : `Argument "${path[0]}"`;
  const container = {
    enter(node: ListValueNode | ObjectValueNode) {
      if (depth >= INPUT_LIMITS.depth) {
        const path = tracker.path();
        context.reportError(refusal(subject(path), { kind: 'depth', path }, [node]));
        return false;
      }
      depth++;
      return undefined;
    },
    leave() {
      depth--;
    },
  };
  return visitInParallel([
    tracker.visitor,
    {
      ListValue: container,
      ObjectValue: container,
      StringValue(node) {
        const kind = unstorableString(node.value);
        if (!kind) return;
        const path = tracker.path();
        context.reportError(refusal(subject(path), { kind, path }, [node]));
      },
    },
  ]);
}

/**
 * The JSON scalars' parsing with the limits: at most jsonBytes serialised, and a variable's value
 * with no NUL and no excess depth, checked before the scalar's own parsing walks it.
 */
export function limitJson<T>(scalar: GraphQLScalarType) {
  const refuse = (problem: InputProblem['kind']) => {
    throw new GraphQLError(REASONS[problem], { extensions: { code: 'VALIDATION' } });
  };
  const checkSize = (value: unknown) => {
    if (Buffer.byteLength(JSON.stringify(value) ?? '') > INPUT_LIMITS.jsonBytes) refuse('size');
  };
  // a literal's NUL and depth are InputLiteralLimitsRule's to report, with its path
  const parseLiteral: GraphQLScalarLiteralParser<T> = (node, variables) => {
    const value = scalar.parseLiteral(node, variables);
    checkSize(value);
    return value as T;
  };
  return {
    parseValue(value: unknown): T {
      const problem = findInputProblem(value);
      if (problem) refuse(problem.kind);
      checkSize(value);
      return scalar.parseValue(value) as T;
    },
    parseLiteral,
  };
}

/**
 * The Yoga plugin: documents nesting too deep are refused before parsing (only documents the
 * parse cache does not know yet are looked at), literals are checked in validation, and variables
 * just before execution (the first thing to read them).
 */
export function inputLimitsPlugin(): Plugin {
  const checkVariables = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { document: DocumentNode; operationName?: string | null; variableValues?: Record<string, unknown> | null };
    setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void;
  }) => {
    const variables = args.variableValues;
    if (!variables) return;
    for (const name in variables) {
      const problem = findInputProblem(variables[name], [name]);
      if (!problem) continue;
      const definition = getOperationAST(args.document, args.operationName)?.variableDefinitions?.find(
        (d) => d.variable.name.value === name,
      );
      return setResultAndStopExecution({ errors: [refusal(`Variable "$${name}"`, problem, definition && [definition])] });
    }
  };
  // the parser it is given is wrapped once (the parse cache answers most requests without it)
  const wrapped = new WeakMap<typeof parse, typeof parse>();
  const withNestingLimit =
    (parseFn: typeof parse): typeof parse =>
    (source, options) => {
      if (nestsTooDeep(typeof source === 'string' ? source : source.body)) {
        // answered as Yoga answers any syntax error (200 to application/json clients, else 400)
        throw new GraphQLError(`Syntax Error: the document nests brackets more than ${INPUT_LIMITS.documentNesting} levels deep`, {
          extensions: { code: 'VALIDATION' },
        });
      }
      return parseFn(source, options);
    };
  return {
    onParse({ parseFn, setParseFn }) {
      let replacement = wrapped.get(parseFn);
      if (!replacement) wrapped.set(parseFn, (replacement = withNestingLimit(parseFn)));
      setParseFn(replacement);
    },
    onValidate({ addValidationRule }) {
      addValidationRule(InputLiteralLimitsRule);
    },
    onExecute: checkVariables,
    onSubscribe: checkVariables,
  };
}
