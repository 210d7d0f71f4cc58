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
