/**
 * A Yoga plugin that amends every error of every result as it leaves: a single result and each
 * of a batch. A subscription's stream is left alone: its events carry resolver errors only;
 * validation and variable errors come before it, as a single result.
 */
import type { ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export function amendResultErrors(amend: (error: GraphQLError) => void): Plugin {
  const amendAll = (result: ExecutionResult) => result.errors?.forEach(amend);
  return {
    onResultProcess({ result }) {
      if (Array.isArray(result)) result.forEach(amendAll);
      else if (!(Symbol.asyncIterator in result)) amendAll(result);
    },
  };
}

/**
 * A single result with no errors and no extensions: what the lean path writes out as it is
 * (src/http/lean-graphql.ts) and the response cache may keep (src/cache/response-cache.ts);
 * anything else is Yoga's to process.
 */
export function isPlainResult(result: unknown): result is ExecutionResult {
  if (typeof result !== 'object' || result === null || Symbol.asyncIterator in result) return false;
  const { errors, extensions } = result as ExecutionResult;
  return !errors?.length && !extensions;
}
