/**
 * One provider's form and the live result of its verification: configure (or, when the tenant
 * already has the integration, update its credentials with expectedVersion), then watch
 * integrationStatusChanged until the background check answers (and, in case an answer slipped
 * past the stream, read it again every few seconds while the check runs). Used by the console's configure page and the connect page.
 */
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import {
  ConfigureIntegrationMutation,
  freshest,
  IntegrationStatusSubscription,
  RotateCredentialsMutation,
  VerifyIntegrationMutation,
} from '../documents.ts';
import { graphql } from '../gql';
import type {
  ConsoleConfigureIntegrationMutation,
  ConsoleIntegrationStatusSubscription,
  ConsoleRotateCredentialsMutation,
  IntegrationRowFragment,
  ProviderFormFragment,
} from '../gql/graphql';
import { CopyButton, describeError, ErrorBanner, StatusBadge } from './common.tsx';
import { CredentialForm, type FieldError } from './credential-form.tsx';
import { ConfirmDialog } from './dialog.tsx';

const ProviderFormQuery = graphql(`
  query ConsoleProviderForm($name: String!) {
    provider(name: $name) {
      ...ProviderForm
    }
  }
`);

type ResultUnion =
  | ConsoleConfigureIntegrationMutation['configureIntegration']
  | ConsoleRotateCredentialsMutation['rotateIntegrationCredentials'];

const STATUS_TEXT: Record<string, string> = {
  PENDING_VERIFY: 'Checking the credentials with the provider…',
  ACTIVE: 'Connected: the provider accepted the credentials.',
  ERROR: 'The provider refused the credentials or could not be reached.',
  INACTIVE: 'Disabled: not used for routing until activated.',
};

export function ConnectPanel({
  provider,
  onSaved,
}: {
  provider: ProviderFormFragment;
  onSaved?: (integration: IntegrationRowFragment) => void;
}) {
  const [saved, setSaved] = useState<IntegrationRowFragment | undefined>(provider.integration ?? undefined);
  const [fieldErrors, setFieldErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const [formKey, setFormKey] = useState(0);
  // what is stored now (non-sensitive values only), to prefill the form that replaces it
  const [stored, setStored] = useState(provider.integration?.credentialFields);
  const [configureState, configure] = useMutation(ConfigureIntegrationMutation);
  const [rotateState, rotate] = useMutation(RotateCredentialsMutation);
  const [verifyState, verify] = useMutation(VerifyIntegrationMutation);

  // Opened with the page, before anything is saved, so the check's answer cannot arrive before
  // the stream is listening; it carries every allowed integration's changes, this provider's kept.
  const [stream] = useSubscription<ConsoleIntegrationStatusSubscription, IntegrationRowFragment | undefined>(
    { query: IntegrationStatusSubscription, variables: {} },
    (last, d) => (d.integrationStatusChanged.provider.name === provider.name ? d.integrationStatusChanged : last),
  );
  const pending = (saved?.status ?? provider.integration?.status) === 'PENDING_VERIFY';
  // belt and braces while the check runs: read it again now and then (often when the stream failed)
  const [polled, refetch] = useQuery({ query: ProviderFormQuery, variables: { name: provider.name }, pause: true });
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), stream.error ? 2000 : 5000);
    return () => clearInterval(timer);
  }, [stream.error, pending, refetch]);

  let integration = saved;
  const live = stream.data;
  if (integration && live?.id === integration.id) integration = freshest(integration, live);
  const polledIntegration = polled.data?.provider?.integration;
  if (integration && polledIntegration?.id === integration.id) integration = freshest(integration, polledIntegration);

  // replacing stored credentials is asked first: it may take the integration out of routing
  const [replacing, setReplacing] = useState<Record<string, unknown> | null>(null);
  const submit = async (credentials: Record<string, unknown>) => {
    if (integration && !replacing) return setReplacing(credentials);
    setReplacing(null);
    setMessage(null);
    setFieldErrors([]);
    const current = integration;
    const answer = current
      ? await rotate({ input: { id: current.id, credentials, expectedVersion: current.version } })
      : await configure({ input: { provider: provider.name, credentials } });
    const data = answer.data as { rotateIntegrationCredentials?: ResultUnion; configureIntegration?: ResultUnion } | undefined;
    const result = data?.rotateIntegrationCredentials ?? data?.configureIntegration;
    if (!result) return setMessage(answer.error?.message ?? 'The request failed');
    if (result.__typename === 'ConfigureIntegrationPayload' || result.__typename === 'RotateIntegrationCredentialsPayload') {
      setSaved(result.integration);
      setStored(result.integration.credentialFields);
      setFormKey((k) => k + 1);
      onSaved?.(result.integration);
      return;
    }
    if (result.__typename === 'ValidationError') {
      setFieldErrors(result.fieldErrors);
      return setMessage('Nothing was saved: correct the fields marked below.');
    }
    if ('message' in result) setMessage(describeError(result));
  };

  const busy = configureState.fetching || rotateState.fetching;
  return (
    <div className="connect-panel">
      {integration ? (
        <section className="status-panel" aria-live="polite" aria-label="Connection status">
          <p>
            <StatusBadge status={integration.status} /> {STATUS_TEXT[integration.status] ?? ''}
          </p>
          {integration.status === 'ERROR' && integration.lastError ? <p className="last-error">{integration.lastError}</p> : null}
          {integration.inboundWebhookUrl ? (
            <div className="callback">
              <p>Callback URL for {provider.displayName}'s dashboard (its webhook or status callback setting; it is a secret too):</p>
              <div className="secret-row">
                <code>{integration.inboundWebhookUrl}</code>
                <CopyButton text={integration.inboundWebhookUrl} label="Copy URL" />
              </div>
            </div>
          ) : null}
          {integration.status === 'ERROR' ? (
            <button
              type="button"
              disabled={verifyState.fetching}
              onClick={async () => {
                const r = (await verify({ id: integration.id })).data?.verifyIntegration;
                if (r?.__typename === 'VerifyIntegrationPayload') setSaved(r.integration);
                else if (r && 'message' in r) setMessage(describeError(r));
              }}
            >
              Check again
            </button>
          ) : null}
        </section>
      ) : null}
      <ErrorBanner error={message} />
      <h3>{integration ? 'Replace credentials' : 'Credentials'}</h3>
      <CredentialForm
        key={formKey}
        fields={provider.credentialSchema}
        current={integration ? (stored ?? []) : undefined}
        fieldErrors={fieldErrors}
        busy={busy}
        submitLabel={integration ? 'Save new credentials' : `Connect ${provider.displayName}`}
        onSubmit={submit}
      />
      {replacing && integration ? (
        <ConfirmDialog
          title={`Replace ${provider.displayName}'s credentials?`}
          confirmLabel="Replace credentials"
          onClose={() => setReplacing(null)}
          onConfirm={() => submit(replacing)}
        >
          <p>
            If a field that signs in to {provider.displayName} changes, the integration is checked again and is not used for routing until
            the new credentials are accepted.
          </p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
