/** Small pieces every page uses: status badges, error banners, a copy button, dates. */
import { useState } from 'react';

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status.toLowerCase()}`}>{status.replace(/_/g, ' ')}</span>;
}

export function ErrorBanner({ error }: { error: { message: string } | string | null | undefined }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error.message.replace(/^\[(GraphQL|Network)\]\s*/, '');
  return (
    <p className="banner error" role="alert">
      {message}
    </p>
  );
}

/** A typed error from a mutation's result union, worded for a person; version conflicts say so. */
export function describeError(result: { __typename?: string; code?: string; message?: string }): string {
  if (result.code === 'VERSION_CONFLICT')
    return `Version conflict: someone changed this since you loaded it. Reload it and try again. (${result.message})`;
  return result.message ?? 'Failed';
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      onClick={async () => {
        await navigator.clipboard.writeText(text).then(
          () => setCopied(true),
          () => setCopied(false),
        );
      }}
    >
      {copied ? 'Copied' : label}
    </button>
  );
}

/** A secret shown once, selectable, with a copy button and the warning that it will not be shown again. */
export function SecretOnce({ label, secret }: { label: string; secret: string }) {
  return (
    <div className="secret" role="status">
      <p>
        <strong>{label}</strong> — shown once: copy it now, it cannot be read again.
      </p>
      <div className="secret-row">
        <code data-testid="secret">{secret}</code>
        <CopyButton text={secret} />
      </div>
    </div>
  );
}

export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  return <time dateTime={at}>{new Date(at).toLocaleString()}</time>;
}
