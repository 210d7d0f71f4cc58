/**
 * No "Did you mean …?" in any error: graphql-js suggests field, argument, type, enum value and
 * input field names close to a misspelt one, which lets anyone map the schema with introspection
 * off. graphql-armor's block-field-suggestions plugin only rewrites validation errors and only the
 * `Did you mean "x"?` form; it leaves `Did you mean the enum value "X"?`, `Did you mean to use an
 * inline fragment on "X"?` and the same hints in variable errors, which execution reports. So the
 * hints are cut from every result as it leaves, whatever produced it.
 */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** graphql-js's hints all start "Did you mean" and end at the first "?" (names cannot hold one). */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '');
}

function scrub(result: ExecutionResult) {
  for (const error of result.errors ?? []) {
    // GraphQLError's message is a plain writable property (graphql-armor rewrites it the same way)
    if (error.message.includes('Did you mean')) (error as { message: string }).message = withoutSuggestions(error.message);
  }
}

/**
 * Removes the hints from every single result and batch. A subscription's stream is left alone:
 * its events carry resolver errors only; validation and variable errors come before it, as a
 * single result.
 */
export function blockFieldSuggestions(): Plugin {
  return {
    onResultProcess({ result }) {
      if (Array.isArray(result)) result.forEach(scrub);
      else if (!(Symbol.asyncIterator in result)) scrub(result);
    },
  };
}
