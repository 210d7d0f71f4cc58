/**
 * Scopes (CONTRACT.md "Identity"). Policy: a token without a `scope` claim has every scope;
 * `…:write` implies the matching `…:read` (a writer reads back what it wrote); `admin`
 * (API keys, and later the audit log) implies all of them. Tokens and keys carry the wire
 * spelling (`integrations:read`); the schema's `Scope` enum spells it `INTEGRATIONS_READ`.
 */
import { GraphQLError } from 'graphql';

export const SCOPES = [
  'integrations:read',
  'integrations:write',
  'webhooks:read',
  'webhooks:write',
  'operations:read',
  'operations:write',
  'admin',
] as const;
/** A scope a token claim or an API key can grant. */
export type GrantableScope = (typeof SCOPES)[number];

/** A connect session's only scope: its tenant's integrations of its allowed providers. */
export const CONNECT_SCOPE = 'connect';
export type Scope = GrantableScope | typeof CONNECT_SCOPE;
/** Every scope, as the schema's `Scope` enum lists them. */
export const ALL_SCOPES: readonly Scope[] = [...SCOPES, CONNECT_SCOPE];

/** Whether a claim or a key may grant it (`connect` is not). */
export function isScope(value: string): value is GrantableScope {
  return (SCOPES as readonly string[]).includes(value);
}

/** The `Scope` enum value of a scope: `integrations:read` → `INTEGRATIONS_READ`. */
export function scopeEnumName(scope: Scope): string {
  return scope.toUpperCase().replace(':', '_');
}

/**
 * A scope as a client wrote it in an input: the wire spelling, or the enum value it read from
 * `Viewer.scopes` or `ApiKey.scopes` (so what was read can be sent back). Anything else unchanged,
 * for the caller to refuse.
 */
export function scopeFromInput(value: string): string {
  return SCOPES.find((scope) => scopeEnumName(scope) === value) ?? value;
}

/** Expands granted scopes by the implication rules above. */
export function effectiveScopes(granted: Iterable<Scope>): ReadonlySet<Scope> {
  const set = new Set<Scope>(granted);
  // only a connect session holds it, and it is not built from grants
  set.delete(CONNECT_SCOPE);
  if (set.has('admin')) return new Set(SCOPES);
  if (set.has('integrations:write')) set.add('integrations:read');
  if (set.has('webhooks:write')) set.add('webhooks:read');
  if (set.has('operations:write')) set.add('operations:read');
  return set;
}

/**
 * Parses a space-separated `scope` claim; unknown scopes are ignored (they grant nothing here).
 * Only an absent claim means every scope; any other non-string value (null included) means none.
 */
export function parseScopeClaim(claim: unknown): ReadonlySet<Scope> {
  if (claim === undefined) return effectiveScopes(SCOPES);
  if (typeof claim !== 'string') return new Set();
  return effectiveScopes(claim.split(/\s+/).filter(isScope));
}

/** What Pothos scope-auth reports of a refusal (its AuthFailure), as far as naming the scope goes. */
export interface ScopeFailure {
  kind: string;
  scope?: string;
  failures?: ScopeFailure[];
}

/**
 * The scopes a refusal names, any one of which would have been enough (the schema uses only single
 * scopes and $any). `connect` is left out: no token or key can be given it, so it helps no one asking.
 */
export function scopesOfFailure(failure: ScopeFailure): Scope[] {
  const found = new Set<string>();
  const walk = (f: ScopeFailure) => {
    if (f.scope) found.add(f.scope);
    f.failures?.forEach(walk);
  };
  walk(failure);
  return SCOPES.filter((scope) => found.has(scope));
}

/**
 * FORBIDDEN for a missing scope, naming what would do (message and `extensions.requiredScopes`,
 * wire spelling, any one of them suffices) as GitHub's API does: the caller learns what to ask
 * for. It repeats nothing of the credential but its own scopes' names.
 */
export function missingScope(field: string, failure: ScopeFailure): GraphQLError {
  const required = scopesOfFailure(failure);
  const needs = required.length === 1 ? `the ${required[0]} scope` : `one of the scopes ${required.join(', ')}`;
  return new GraphQLError(required.length ? `${field} needs ${needs}` : `${field} needs a scope this credential does not have`, {
    extensions: { code: 'FORBIDDEN', requiredScopes: required },
  });
}
