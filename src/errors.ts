/**
 * Expected failures. Each is a type in the schema (mutations return them in their result
 * union); anything else that escapes a resolver is unexpected and masked (src/app.ts).
 */
import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'VERSION_CONFLICT'
  | 'INVALID_STATE'
  | 'NO_ACTIVE_PROVIDER';

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

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND' as const;
  constructor(what: string, id: string) {
    super(`${what} ${id} was not found`);
  }
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
  constructor(readonly capability: string) {
    this.message = `no ACTIVE integration serves "${capability}": add a routing rule, or activate or fix the integrations its rules name`;
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
  return new GraphQLError(`${what} ${id} was not found`, { extensions: { code: 'NOT_FOUND' } });
}

export function badArgument(argument: string, message: string) {
  return new GraphQLError(`${argument}: ${message}`, { extensions: { code: 'VALIDATION', argument } });
}
