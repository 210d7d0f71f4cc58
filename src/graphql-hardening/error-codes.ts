/**
 * Every error a client sees has an `extensions.code`. graphql-js reports variables that do not
 * coerce to their declared types ("Variable "$x" got invalid value …") with no code, and so does
 * Pothos's relay plugin for bad paging arguments ("Arguments "before" and "first" are not
 * supported at the same time"); Yoga passes them on as they are. Unexpected errors are masked
 * with a code before they get here (src/graphql/yoga.ts), so what is left is about the client's input:
 * BAD_USER_INPUT.
 */
import type { Plugin } from 'graphql-yoga';
import { amendResultErrors } from './result-errors.ts';

/** Gives an error's extensions the code of an error about the client's input when they have none. */
export function ensureCode(extensions: Record<string, unknown>): void {
  if (typeof extensions.code !== 'string') extensions.code = 'BAD_USER_INPUT';
}

export function codeEveryError(): Plugin {
  return amendResultErrors((error) => {
    const extensions = error.extensions as Record<string, unknown> | undefined;
    if (extensions) ensureCode(extensions);
  });
}
