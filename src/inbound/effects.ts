/**
 * Inbound provider events that change an integration's state, not only relay: a provider
 * telling us our access was revoked moves the integration to ERROR with a clear lastError.
 */
export const REVOKING_EVENTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  stripe: {
    'account.application.deauthorized': 'Stripe reported that the account deauthorized this application',
  },
};

export function revocationReason(provider: string, type: string): string | undefined {
  return REVOKING_EVENTS[provider]?.[type];
}

/** `changeKeys`: relayed payloads with their keys in camelCase (snake_case and kebab-case converted). */
export function camelCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelCaseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.replace(/[_-]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase()), camelCaseKeys(v)]),
  );
}
