/**
 * Scopes (CONTRACT.md "Identity"). Policy: a token without a `scope` claim has every scope;
 * `…:write` implies the matching `…:read` (a writer reads back what it wrote); `admin`
 * (API keys, and later the audit log) implies all of them.
 */
export const SCOPES = [
  'integrations:read',
  'integrations:write',
  'webhooks:read',
  'webhooks:write',
  'operations:read',
  'operations:write',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Expands granted scopes by the implication rules above. */
export function effectiveScopes(granted: Iterable<Scope>): ReadonlySet<Scope> {
  const set = new Set<Scope>(granted);
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
