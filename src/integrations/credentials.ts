/**
 * Credential input validation against a provider's schema (pure). Format checks refuse only what is
 * surely wrong (a field's `mistakes`; its `pattern` where the provider fixes the shape): verification
 * judges the rest. Messages name the field and the rule, never the value (it may be a secret pasted
 * in the wrong place), nor an unknown key (a secret can be pasted as a key): those are reported at
 * the credentials object, listing the known fields.
 */
import type { FieldError } from '../errors.ts';
import type { CredentialField, CredentialValue, ProviderDefinition } from '../providers/types.ts';
import { SECRET_ANYWHERE } from '../providers/types.ts';

export type CredentialPatch = Record<string, CredentialValue | null>;

function checkValue(field: CredentialField, value: unknown): string | undefined {
  switch (field.type) {
    case 'BOOLEAN':
      return typeof value === 'boolean' ? undefined : 'expected true or false';
    case 'ENUM':
      return typeof value === 'string' && field.enumValues?.includes(value)
        ? undefined
        : `expected one of: ${field.enumValues?.join(', ')}`;
    case 'URL': {
      if (typeof value !== 'string') return 'expected an http(s) URL';
      try {
        const url = new URL(value);
        return url.protocol === 'https:' || url.protocol === 'http:' ? undefined : 'expected an http(s) URL';
      } catch {
        return 'expected an http(s) URL';
      }
    }
    case 'STRING':
      if (typeof value !== 'string') return 'expected a string';
      if (!value.trim()) return 'must not be empty';
      if (value.length > 8192) return 'must be at most 8192 characters';
      for (const mistake of field.mistakes ?? []) {
        if (mistake.pattern.test(value)) return `has the wrong format: ${mistake.hint}`;
      }
      // stored in clear and returned: no secret of a known kind may land here, wherever it sits
      if (!field.sensitive && SECRET_ANYWHERE.pattern.test(value)) return `has the wrong format: ${SECRET_ANYWHERE.hint}`;
      if (field.pattern && !field.pattern.test(value)) return `has the wrong format (${field.patternHint ?? 'see the credential schema'})`;
      return undefined;
  }
}

/**
 * Checks a credentials object from a mutation input. `mode: 'configure'` requires every
 * required field and applies defaults; `'patch'` (update, rotate) takes any subset and `null`
 * clears an optional field.
 */
export function validateCredentialInput(
  provider: ProviderDefinition,
  input: Record<string, unknown>,
  mode: 'configure' | 'patch',
  path: string[] = ['credentials'],
): { values: CredentialPatch; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const values: CredentialPatch = {};
  const fields = new Map(provider.credentialSchema.map((f) => [f.key, f]));
  const known = provider.credentialSchema.map((f) => f.key).join(', ');

  let unknownKeys = 0;
  for (const [key, value] of Object.entries(input)) {
    const field = fields.get(key);
    if (!field) {
      unknownKeys++;
      continue;
    }
    if (value === null || value === undefined) {
      if (mode === 'configure' || field.required) {
        if (field.required) errors.push({ path: [...path, key], message: 'is required and cannot be cleared' });
        continue;
      }
      values[key] = null;
      continue;
    }
    const problem = checkValue(field, value);
    if (problem) errors.push({ path: [...path, key], message: problem });
    else values[key] = value as CredentialValue;
  }

  if (unknownKeys) {
    const what = unknownKeys === 1 ? 'a field that is not' : `${unknownKeys} fields that are not`;
    errors.push({ path, message: `has ${what} a ${provider.name} credential field (known: ${known})` });
  }

  if (mode === 'configure') {
    for (const field of provider.credentialSchema) {
      if (hasValue(values, field) || errors.some((e) => e.path[path.length] === field.key)) continue;
      if (field.defaultValue !== undefined) values[field.key] = field.defaultValue;
      else if (field.required) errors.push({ path: [...path, field.key], message: 'is required' });
    }
  } else if (Object.keys(input).length === 0) {
    errors.push({ path, message: 'must name at least one field to change' });
  }
  return { values, errors };
}

function hasValue(values: CredentialPatch, field: CredentialField) {
  return values[field.key] !== undefined && values[field.key] !== null;
}

/** Capabilities to enable: default all of the provider's; each must be one it has. */
export function validateCapabilities(
  provider: ProviderDefinition,
  requested: readonly string[] | null | undefined,
  path: string[] = ['enabledCapabilities'],
): { capabilities: string[]; errors: FieldError[] } {
  if (requested === null || requested === undefined) return { capabilities: [...provider.capabilities], errors: [] };
  const errors: FieldError[] = [];
  requested.forEach((c, i) => {
    if (!provider.capabilities.includes(c)) {
      errors.push({
        path: [...path, String(i)],
        message: `${provider.name} does not support this capability (supported: ${provider.capabilities.join(', ')})`,
      });
    }
  });
  return { capabilities: [...new Set(requested)], errors };
}
