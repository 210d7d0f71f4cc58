/**
 * Expected failures. Each is a type in the schema (mutations return them in their result
 * union); anything else that escapes a resolver is unexpected and masked (src/graphql/yoga.ts).
 */
import { GraphQLError } from 'graphql';
import { isGlobalIdOf, tryParseGlobalId } from './ids.ts';

export type ErrorCode = 'VALIDATION' | 'NOT_FOUND' | 'CONFLICT' | 'VERSION_CONFLICT' | 'INVALID_STATE' | 'NO_ACTIVE_PROVIDER';

export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
}

export interface FieldError {
  /** Where in the mutation's input, e.g. ["credentials", "secret_key"]. */
  path: string[];
  message: string;
}

export class ValidationError extends AppError {
  readonly code = 'VALIDATION' as const;
  constructor(
    readonly fieldErrors: FieldError[],
    message = fieldErrors.map((e) => `${e.path.join('.')}: ${e.message}`).join('; '),
  ) {
    super(message);
  }

  static at(path: string[], message: string) {
    return new ValidationError([{ path, message }]);
  }
}

/**
 * "<what> <id> was not found", with the id only when it is a well-formed global id of that type:
 * any other value the client sent is left out (it might be a secret in the wrong field). null: the
 * client's id was not one of this type at all.
 */
function notFoundMessage(what: string, id: string | null) {
  return id !== null && isGlobalIdOf(what, id)
    ? `${what} ${id} was not found`
    : `${what} was not found: the id given is not a well-formed ${what} id`;
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND' as const;
  /**
   * `id`: the global id (the client's, or one encoded by src/ids.ts), repeated only when it is
   * well-formed (see notFoundMessage); null when the client's id did not parse as one.
   */
  constructor(what: string, id: string | null) {
    super(notFoundMessage(what, id));
  }
}

/**
 * The database id inside a Relay global id of the given type. A malformed id, or one of another
 * type, is reported exactly like an id that does not exist.
 */
export function parseGlobalId(typename: string, globalId: string): string {
  const id = tryParseGlobalId(typename, globalId);
  if (id === null) throw new NotFoundError(typename, globalId);
  return id;
}

export class ConflictError extends AppError {
  constructor(
    message: string,
    readonly code: 'CONFLICT' | 'VERSION_CONFLICT' = 'CONFLICT',
  ) {
    super(message);
  }

  static staleVersion(what: string, expected: number, actual: number) {
    return new ConflictError(
      `${what} is at version ${actual}, not the expected ${expected}: reload it and apply the change again`,
      'VERSION_CONFLICT',
    );
  }
}

export class InvalidStateError extends AppError {
  readonly code = 'INVALID_STATE' as const;
}

/**
 * Returned as data by resolveRoute, never thrown: graphql-js treats any Error instance a
 * resolver returns as a failure of the field, so this is deliberately not an Error.
 */
export class NoActiveProviderError {
  readonly code = 'NO_ACTIVE_PROVIDER' as const;
  readonly message: string;
  constructor(
    readonly capability: string,
    reason = 'add a routing rule, or activate or fix the integrations its rules name',
  ) {
    this.message = `no ACTIVE integration serves "${capability}": ${reason}`;
  }
}

/** Errors that are not a mutation's result: bad credentials, missing scope, bad paging. */
export function unauthenticated(reason: string) {
  return new GraphQLError(`Unauthenticated: ${reason}`, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

export function forbidden(message: string) {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}

/** A lookup outside a mutation's result union (a subscription's target) that found nothing. */
export function notFound(what: string, id: string) {
  return new GraphQLError(notFoundMessage(what, id), { extensions: { code: 'NOT_FOUND' } });
}

export function badArgument(argument: string, message: string) {
  return new GraphQLError(`${argument}: ${message}`, { extensions: { code: 'VALIDATION', argument } });
}
