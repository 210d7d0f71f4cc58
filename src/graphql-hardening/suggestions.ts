/**
 * No "Did you mean …?" in any error: graphql-js suggests field, argument, type, enum value and
 * input field names close to a misspelt one, which lets anyone map the schema with introspection
 * off. graphql-armor's block-field-suggestions plugin only rewrites validation errors and only the
 * `Did you mean "x"?` form; it leaves `Did you mean the enum value "X"?`, `Did you mean to use an
 * inline fragment on "X"?` and the same hints in variable errors, which execution reports. So the
 * hints are cut from every result as it leaves, whatever produced it.
 */
import type { Plugin } from 'graphql-yoga';
import { amendResultErrors } from './result-errors.ts';

/** graphql-js's hints all start "Did you mean" and end at the first "?" (names cannot hold one). */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '');
}

/** Removes the hints from every error of every result (see result-errors.ts for which). */
export function blockFieldSuggestions(): Plugin {
  return amendResultErrors((error) => {
    // GraphQLError's message is a plain writable property (graphql-armor rewrites it the same way)
    if (error.message.includes('Did you mean')) (error as { message: string }).message = withoutSuggestions(error.message);
  });
}
