import { builder } from '../builder.ts';
import { ConflictError, type ErrorCode, InvalidStateError, NoActiveProviderError, NotFoundError, ValidationError } from '../errors.ts';
import { maxItems } from '../graphql-hardening/list-bounds.ts';

/** A validation error lists this many problems at most; the input has more only when it is far off. */
const MAX_FIELD_ERRORS = 100;

export const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description: 'What kind of expected failure an Error is.',
  values: {
    VALIDATION: { description: 'The input is invalid; fieldErrors say where.' },
    NOT_FOUND: { description: 'No such object exists for the caller (another tenant’s objects do not exist).' },
    CONFLICT: { description: 'The change conflicts with existing data (e.g. a second integration of a provider).' },
    VERSION_CONFLICT: { description: 'expectedVersion is stale: the object changed since it was read.' },
    INVALID_STATE: { description: 'The object’s current status does not allow this change.' },
    NO_ACTIVE_PROVIDER: { description: 'No ACTIVE integration serves the requested capability.' },
  } satisfies Record<ErrorCode, unknown>,
});

/** Every expected-error type, by its schema name (AuditEntry.outcome has a value for each). */
export const ERROR_TYPES = [
  [ValidationError, 'ValidationError'],
  [NotFoundError, 'NotFoundError'],
  [ConflictError, 'ConflictError'],
  [InvalidStateError, 'InvalidStateError'],
  [NoActiveProviderError, 'NoActiveProviderError'],
] as const;

export const ErrorInterface = builder.interfaceRef<{ message: string; code: ErrorCode }>('Error').implement({
  description: 'An expected failure, returned in a mutation’s result union.',
  resolveType: (error) => ERROR_TYPES.find(([type]) => error instanceof type)?.[1] ?? null,
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, for people.' }),
    code: t.field({ type: ErrorCodeEnum, description: 'What went wrong, for programs.', resolve: (e) => e.code }),
  }),
});

const FieldErrorRef = builder.objectRef<{ path: string[]; message: string }>('FieldError').implement({
  description: 'One problem with one input field.',
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'Where in the input, e.g. ["credentials", "secret_key"].' }),
    message: t.exposeString('message', { description: 'What is wrong there.' }),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input is invalid.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    fieldErrors: t.field({
      type: [FieldErrorRef],
      description: `Each problem and where it is (at most ${MAX_FIELD_ERRORS}).`,
      extensions: maxItems(MAX_FIELD_ERRORS),
      resolve: (e) => e.fieldErrors.slice(0, MAX_FIELD_ERRORS),
    }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The object does not exist for the caller.',
  interfaces: [ErrorInterface],
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change conflicts with the current data (code CONFLICT or VERSION_CONFLICT).',
  interfaces: [ErrorInterface],
});

builder.objectType(InvalidStateError, {
  name: 'InvalidStateError',
  description: 'The object’s status does not allow this change.',
  interfaces: [ErrorInterface],
});

builder.objectType(NoActiveProviderError, {
  name: 'NoActiveProviderError',
  description: 'No ACTIVE integration serves the capability.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ capability: t.exposeString('capability', { description: 'The capability that could not be routed.' }) }),
});
