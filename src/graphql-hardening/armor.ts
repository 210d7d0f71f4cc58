/**
 * How graphql-armor's depth and alias limits refuse a document: as validation errors (HTTP 400
 * to GraphQL-over-HTTP clients, `extensions.code = "GRAPHQL_VALIDATION_FAILED"`, like every
 * other invalid document) instead of an exception thrown out of validation, which Yoga answers
 * with a bare error and no code. Without the "Syntax Error: " graphql-armor puts before a message
 * about limits. (The token limit refuses while parsing, where Yoga already marks the error as a
 * parse failure: GRAPHQL_PARSE_FAILED.)
 */
import { GraphQLError, type ValidationContext } from 'graphql';

/** Spread into graphql-armor's maxDepthPlugin and maxAliasesPlugin options. */
export const reportRefusal = {
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) =>
      context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''))),
  ],
};
