/**
 * What an identifier claim may hold. `tenant_id` becomes a row-level-security setting, a
 * rate-limit key and a column in every tenant's rows; `sub` and `app_id` are stamped on what the
 * caller writes. So each is a non-empty string of at most 128 characters with no space, control
 * or quoting character: `tenant_id` from A-Z a-z 0-9 . _ : @ -, and `sub` and `app_id` also
 * | + = / (identity providers' subjects look like `auth0|5f7c…` or base64). A claim that does not
 * fit refuses the token (naming the claim, never its value) instead of being cut or ignored.
 */
export const CLAIM_PATTERNS = {
  tenant_id: /^[A-Za-z0-9._:@-]{1,128}$/,
  sub: /^[A-Za-z0-9._:@|+=/-]{1,128}$/,
  app_id: /^[A-Za-z0-9._:@|+=/-]{1,128}$/,
} as const;

/** Why an identifier claim is refused, or undefined when it is accepted (absent `sub` and `app_id` are). */
export function claimProblem(claim: keyof typeof CLAIM_PATTERNS, value: unknown): string | undefined {
  if (value === undefined) return claim === 'tenant_id' ? 'the token has no tenant_id claim' : undefined;
  if (typeof value === 'string' && CLAIM_PATTERNS[claim].test(value)) return undefined;
  const allowed = claim === 'tenant_id' ? 'A-Z a-z 0-9 . _ : @ -' : 'A-Z a-z 0-9 . _ : @ - | + = /';
  return `the token's "${claim}" claim is not accepted: it must be a string of 1 to 128 characters from ${allowed}`;
}
