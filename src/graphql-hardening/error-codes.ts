/**
 * Every error a client sees has an `extensions.code`. graphql-js reports variables that do not
 * coerce to their declared types ("Variable "$x" got invalid value …") with no code, and so does
 * Pothos's relay plugin for bad paging arguments ("Arguments "before" and "first" are not
 * supported at the same time"); Yoga passes them on as they are. Unexpected errors are masked
 * with a code before they get here (src/app.ts), so what is left is about the client's input:
 * BAD_USER_INPUT. Found by the fuzz drill (test/drill/fuzz.ts).
 */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

function codeErrors(result: ExecutionResult) {
  for (const error of result.errors ?? []) {
    const extensions = error.extensions as Record<string, unknown>;
    if (extensions && typeof extensions.code !== 'string') extensions.code = 'BAD_USER_INPUT';
  }
}

export function codeEveryError(): Plugin {
  return {
    onResultProcess({ result }) {
      if (Array.isArray(result)) result.forEach(codeErrors);
      else if (!(Symbol.asyncIterator in result)) codeErrors(result);
    },
  };
}
