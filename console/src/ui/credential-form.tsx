/**
 * The credential form generated from a provider's credentialSchema: sensitive fields are password
 * inputs that are never prefilled, ENUM a select, BOOLEAN a checkbox, required fields marked, each
 * field's description as its help text, and the server's ValidationError.fieldErrors (paths
 * ['credentials', key]) shown under the input they name. Updating sends only what changed.
 */
import { type FormEvent, useState } from 'react';
import type { ProviderFormFragment } from '../gql/graphql';

type Field = ProviderFormFragment['credentialSchema'][number];
type Current = { key: string; value?: unknown; isSet: boolean; sensitive: boolean }[];
export type FieldError = { path: string[]; message: string };

function initialValue(field: Field, current: Current | undefined): string | boolean {
  const stored = current?.find((c) => c.key === field.key);
  const value = field.sensitive ? undefined : stored?.isSet ? stored.value : current ? undefined : field.defaultValue;
  if (field.type === 'BOOLEAN') return value === true;
  return value === undefined || value === null || field.sensitive ? '' : String(value);
}

export function CredentialForm({
  fields,
  current,
  fieldErrors,
  busy,
  submitLabel,
  onSubmit,
}: {
  fields: Field[];
  /** The integration's stored fields when updating one; absent when configuring. */
  current?: Current;
  fieldErrors: FieldError[];
  busy: boolean;
  submitLabel: string;
  onSubmit: (credentials: Record<string, unknown>) => void;
}) {
  const [values, setValues] = useState(() => Object.fromEntries(fields.map((f) => [f.key, initialValue(f, current)])));
  const updating = current !== undefined;
  const errorFor = (key: string) => fieldErrors.filter((e) => e.path[0] === 'credentials' && e.path[1] === key);
  const formErrors = fieldErrors.filter((e) => !(e.path[0] === 'credentials' && e.path[1] && fields.some((f) => f.key === e.path[1])));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const credentials: Record<string, unknown> = {};
    for (const field of fields) {
      const value = values[field.key];
      const before = initialValue(field, current);
      if (field.type === 'BOOLEAN') {
        if (!updating || value !== before) credentials[field.key] = value === true;
        continue;
      }
      const text = String(value ?? '');
      if (updating) {
        if (field.sensitive ? text !== '' : text !== before) credentials[field.key] = text === '' ? null : text;
      } else if (text !== '') credentials[field.key] = text;
    }
    onSubmit(credentials);
  };

  return (
    <form className="credential-form" onSubmit={submit} noValidate={false}>
      {formErrors.map((e) => (
        <p key={`${e.path.join('.')}:${e.message}`} className="banner error" role="alert">
          {e.path.join('.')} {e.message}
        </p>
      ))}
      {fields.map((field) => {
        const id = `cred-${field.key}`;
        const errors = errorFor(field.key);
        const describedBy = [field.description || (field.sensitive && updating) ? `${id}-help` : '', errors.length ? `${id}-error` : '']
          .filter(Boolean)
          .join(' ');
        const required = field.required && !updating;
        const common = {
          id,
          name: field.key,
          'aria-invalid': errors.length > 0 || undefined,
          'aria-describedby': describedBy || undefined,
          disabled: busy,
        };
        const setValue = (value: string | boolean) => setValues((v) => ({ ...v, [field.key]: value }));
        const label = (
          <label htmlFor={id}>
            {field.label}
            {field.required ? (
              <span className="required" title="required">
                {' '}
                *<span className="visually-hidden"> (required)</span>
              </span>
            ) : null}
          </label>
        );
        return (
          <div key={field.key} className={`field${errors.length ? ' has-error' : ''}`} data-field={field.key}>
            {field.type === 'BOOLEAN' ? (
              <div className="checkbox">
                <input type="checkbox" {...common} checked={values[field.key] === true} onChange={(e) => setValue(e.target.checked)} />
                {label}
              </div>
            ) : (
              <>
                {label}
                {field.type === 'ENUM' ? (
                  <select
                    {...common}
                    required={required}
                    value={String(values[field.key] ?? '')}
                    onChange={(e) => setValue(e.target.value)}
                  >
                    {!field.required || updating || !field.defaultValue ? <option value="">{updating ? '(unchanged)' : '—'}</option> : null}
                    {(field.enumValues ?? []).map((v) => (
                      <option key={v} value={v}>
                        {v}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input
                    {...common}
                    type={field.sensitive ? 'password' : 'text'}
                    inputMode={field.type === 'URL' ? 'url' : undefined}
                    autoComplete={field.sensitive ? 'new-password' : 'off'}
                    spellCheck={false}
                    required={required}
                    placeholder={field.sensitive && updating ? '(unchanged)' : undefined}
                    value={String(values[field.key] ?? '')}
                    onChange={(e) => setValue(e.target.value)}
                  />
                )}
              </>
            )}
            {field.description || (field.sensitive && updating) ? (
              <p id={`${id}-help`} className="help">
                {field.description}
                {field.sensitive && updating ? ' Stored and never shown: leave it empty to keep it.' : ''}
              </p>
            ) : null}
            {errors.length ? (
              <p id={`${id}-error`} className="field-error">
                {errors.map((e) => `${field.label} ${e.message}`).join('; ')}
              </p>
            ) : null}
          </div>
        );
      })}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : submitLabel}
        </button>
      </div>
    </form>
  );
}
