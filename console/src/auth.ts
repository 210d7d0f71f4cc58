/**
 * The console's credential: a JWT (sent as Authorization: Bearer) or an API key (`icp_…`, sent as
 * x-api-key), kept in sessionStorage so it dies with the tab and never reaches a cookie or a URL.
 * The connect page keeps its session token apart, in this tab's sessionStorage too (connect.tsx).
 */
export interface Credential {
  kind: 'token' | 'apiKey';
  value: string;
}

const KEY = 'icp.console.credential';

/** An API key starts with icp_ (a connect session token, icp_cs_, is a bearer token); anything else pasted is a bearer token (a `Bearer ` prefix is dropped). */
export function parseCredential(input: string): Credential | null {
  const value = input.trim().replace(/^Bearer\s+/i, '');
  if (!value) return null;
  return value.startsWith('icp_') && !value.startsWith('icp_cs_') ? { kind: 'apiKey', value } : { kind: 'token', value };
}

export function loadCredential(): Credential | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    const parsed = raw ? (JSON.parse(raw) as Credential) : null;
    return parsed && (parsed.kind === 'token' || parsed.kind === 'apiKey') && typeof parsed.value === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

export function saveCredential(credential: Credential | null) {
  if (credential) sessionStorage.setItem(KEY, JSON.stringify(credential));
  else sessionStorage.removeItem(KEY);
}

export function credentialHeaders(credential: Credential): Record<string, string> {
  return credential.kind === 'apiKey' ? { 'x-api-key': credential.value } : { authorization: `Bearer ${credential.value}` };
}
