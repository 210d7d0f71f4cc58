/**
 * Webhooks: the list (paged) with a create form whose signing secret is shown once, and one
 * webhook's page: pause / resume, send a test event, rotate the secret with a grace period,
 * delete, and its delivery log (paged) with each delivery's attempts and a redeliver button.
 */
import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import { Link, navigate } from '../router.tsx';
import { describeError, ErrorBanner, SecretOnce, StatusBadge, When } from '../ui/common.tsx';
import { ConfirmDialog, Dialog } from '../ui/dialog.tsx';
import { PAGE_SIZE, Pager, usePager } from '../ui/pager.tsx';

/** A stable context (urql re-runs a query whose context object changes): refetch after mutations returning Webhook. */
const WEBHOOK_TYPENAMES = { additionalTypenames: ['Webhook'] };

/** A stable context (urql re-runs a query whose context object changes): refetch after mutations returning WebhookDelivery. */
const WEBHOOK_DELIVERY_TYPENAMES = { additionalTypenames: ['WebhookDelivery'] };

const WebhooksQuery = graphql(`
  query ConsoleWebhooks($first: Int!, $after: String) {
    webhooks(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          url
          status
          eventTypes
          lastDeliveryAt
          lastDeliveryStatus
          consecutiveFailures
        }
      }
    }
    eventTypes
  }
`);

const CreateWebhookMutation = graphql(`
  mutation ConsoleCreateWebhook($input: CreateWebhookInput!) {
    createWebhook(input: $input) {
      __typename
      ... on CreateWebhookPayload {
        signingSecret
        webhook {
          id
          name
        }
      }
      ...Failure
    }
  }
`);

const WebhookQuery = graphql(`
  query ConsoleWebhook($id: ID!, $first: Int!, $after: String) {
    webhook(id: $id) {
      id
      name
      url
      status
      version
      pausedAt
      eventTypes
      secretFingerprint
      consecutiveFailures
      retryPolicy {
        maxAttempts
        timeoutMs
        backoff
      }
      deliveries(first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            status
            attemptCount
            createdAt
            nextAttemptAt
            event {
              id
              type
            }
            attempts {
              attemptNumber
              startedAt
              durationMs
              responseStatus
              error
            }
          }
        }
      }
    }
  }
`);

const PauseMutation = graphql(`
  mutation ConsolePauseWebhook($id: ID!) {
    pauseWebhook(input: { id: $id }) {
      __typename
      ... on PauseWebhookPayload {
        webhook {
          id
          status
          pausedAt
        }
      }
      ...Failure
    }
  }
`);

const ResumeMutation = graphql(`
  mutation ConsoleResumeWebhook($id: ID!) {
    resumeWebhook(input: { id: $id }) {
      __typename
      ... on ResumeWebhookPayload {
        webhook {
          id
          status
          pausedAt
        }
      }
      ...Failure
    }
  }
`);

const TestEventMutation = graphql(`
  mutation ConsoleSendTestEvent($webhookId: ID!) {
    sendTestEvent(input: { webhookId: $webhookId }) {
      __typename
      ... on SendTestEventPayload {
        delivery {
          id
          status
        }
      }
      ...Failure
    }
  }
`);

const RotateSecretMutation = graphql(`
  mutation ConsoleRotateWebhookSecret($id: ID!, $gracePeriodSeconds: Int) {
    rotateWebhookSecret(input: { id: $id, gracePeriodSeconds: $gracePeriodSeconds }) {
      __typename
      ... on RotateWebhookSecretPayload {
        signingSecret
        webhook {
          id
          secretFingerprint
        }
      }
      ...Failure
    }
  }
`);

const RedeliverMutation = graphql(`
  mutation ConsoleRedeliver($id: ID!) {
    redeliverWebhookDelivery(input: { id: $id }) {
      __typename
      ... on RedeliverWebhookDeliveryPayload {
        delivery {
          id
          status
        }
      }
      ...Failure
    }
  }
`);

const DeleteWebhookMutation = graphql(`
  mutation ConsoleDeleteWebhook($id: ID!) {
    deleteWebhook(input: { id: $id }) {
      __typename
      ...Failure
    }
  }
`);

export function WebhooksPage({ id }: { id?: string }) {
  return id ? <WebhookDetail id={id} /> : <WebhookList />;
}

function WebhookList() {
  const pager = usePager();
  const [{ data, error, fetching }, refetch] = useQuery({
    query: WebhooksQuery,
    variables: { first: PAGE_SIZE, after: pager.after },
    context: WEBHOOK_TYPENAMES,
  });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ id: string; name: string; secret: string } | null>(null);
  return (
    <section aria-labelledby="webhooks-title">
      <div className="page-head">
        <h1 id="webhooks-title">Webhooks</h1>
        <div className="filters">
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New webhook
          </button>
        </div>
      </div>
      {created ? (
        <div className="card">
          <p>
            Webhook <Link to={`/webhooks/${encodeURIComponent(created.id)}`}>{created.name}</Link> created.
          </p>
          <SecretOnce label="Signing secret" secret={created.secret} />
          <button type="button" onClick={() => setCreated(null)}>
            Done, I have copied it
          </button>
        </div>
      ) : null}
      <ErrorBanner error={error} />
      {fetching && !data ? <p>Loading…</p> : null}
      {data && data.webhooks.edges.length === 0 ? <p>No webhooks yet.</p> : null}
      <ul className="rows">
        {(data?.webhooks.edges ?? []).map(({ node: w }) => (
          <li key={w.id} className="row">
            <div className="row-main">
              <div>
                <h2>
                  <Link to={`/webhooks/${encodeURIComponent(w.id)}`}>{w.name}</Link>
                </h2>
                <p className="muted break">{w.url}</p>
                <p className="muted">
                  last delivery <When at={w.lastDeliveryAt} /> {w.lastDeliveryStatus ? `(${w.lastDeliveryStatus.toLowerCase()})` : ''}
                  {w.consecutiveFailures ? ` · ${w.consecutiveFailures} failure(s) in a row` : ''}
                </p>
              </div>
              <StatusBadge status={w.status} />
            </div>
          </li>
        ))}
      </ul>
      <Pager pager={pager} pageInfo={data?.webhooks.pageInfo} totalCount={data?.webhooks.totalCount} label="Webhook" />
      {creating ? (
        <CreateWebhookDialog
          eventTypes={data?.eventTypes ?? []}
          onClose={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            setCreated(c);
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      ) : null}
    </section>
  );
}

function CreateWebhookDialog({
  eventTypes,
  onClose,
  onCreated,
}: {
  eventTypes: string[];
  onClose: () => void;
  onCreated: (c: { id: string; name: string; secret: string }) => void;
}) {
  const [form, setForm] = useState({ name: '', url: '', types: [] as string[] });
  const [errors, setErrors] = useState<{ path: string[]; message: string }[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const [state, create] = useMutation(CreateWebhookMutation);
  const errorOf = (key: string) =>
    errors
      .filter((e) => (e.path[0] === 'input' ? e.path[1] === key : e.path[0] === key))
      .map((e) => e.message)
      .join('; ');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setErrors([]);
    setMessage(null);
    const answer = await create({ input: { name: form.name, url: form.url, eventTypes: form.types } });
    const result = answer.data?.createWebhook;
    if (!result) return setMessage(answer.error?.message ?? 'The request failed');
    if (result.__typename === 'CreateWebhookPayload') return onCreated({ ...result.webhook, secret: result.signingSecret });
    if (result.__typename === 'ValidationError') setErrors(result.fieldErrors);
    if ('message' in result) setMessage(describeError(result));
  };
  const field = (key: 'name' | 'url', label: string, type: string) => (
    <div className={`field${errorOf(key) ? ' has-error' : ''}`}>
      <label htmlFor={`webhook-${key}`}>{label}</label>
      <input
        id={`webhook-${key}`}
        type={type}
        required
        value={form[key]}
        aria-invalid={errorOf(key) ? true : undefined}
        aria-describedby={errorOf(key) ? `webhook-${key}-error` : undefined}
        onChange={(e) => setForm({ ...form, [key]: e.target.value })}
      />
      {errorOf(key) ? (
        <p id={`webhook-${key}-error`} className="field-error">
          {errorOf(key)}
        </p>
      ) : null}
    </div>
  );
  return (
    <Dialog title="New webhook" onClose={onClose}>
      <form onSubmit={submit}>
        <ErrorBanner error={message} />
        {field('name', 'Name', 'text')}
        {field('url', 'Endpoint URL', 'url')}
        <fieldset className="event-types">
          <legend>Events</legend>
          {errorOf('eventTypes') ? <p className="field-error">{errorOf('eventTypes')}</p> : null}
          {eventTypes.map((t) => (
            <div key={t} className="checkbox">
              <input
                id={`event-${t}`}
                type="checkbox"
                checked={form.types.includes(t)}
                onChange={(e) => setForm({ ...form, types: e.target.checked ? [...form.types, t] : form.types.filter((x) => x !== t) })}
              />
              <label htmlFor={`event-${t}`}>{t}</label>
            </div>
          ))}
        </fieldset>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={state.fetching}>
            Create webhook
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function WebhookDetail({ id }: { id: string }) {
  const pager = usePager();
  const [{ data, error, fetching }, refetch] = useQuery({
    query: WebhookQuery,
    variables: { id, first: PAGE_SIZE, after: pager.after },
    context: WEBHOOK_DELIVERY_TYPENAMES,
  });
  const [, pause] = useMutation(PauseMutation);
  const [, resume] = useMutation(ResumeMutation);
  const [, sendTest] = useMutation(TestEventMutation);
  const [, rotate] = useMutation(RotateSecretMutation);
  const [, redeliver] = useMutation(RedeliverMutation);
  const [, remove] = useMutation(DeleteWebhookMutation);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [confirm, setConfirm] = useState<'pause' | 'delete' | null>(null);
  const [rotating, setRotating] = useState(false);
  const [grace, setGrace] = useState('86400');
  const [secret, setSecret] = useState<string | null>(null);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const report = (result: { __typename?: string; code?: string; message?: string } | undefined, ok: string, failure?: string) => {
    if (!result) setNotice({ kind: 'error', text: failure ?? 'The request failed' });
    else if (result.code) setNotice({ kind: 'error', text: describeError(result) });
    else setNotice({ kind: 'ok', text: ok });
    reload();
  };
  const w = data?.webhook;
  if (fetching && !data) return <p>Loading…</p>;
  if (error) return <ErrorBanner error={error} />;
  if (!w) return <p>No such webhook.</p>;
  return (
    <section aria-labelledby="webhook-title">
      <p>
        <Link to="/webhooks">← Webhooks</Link>
      </p>
      <div className="page-head">
        <h1 id="webhook-title">
          {w.name} <StatusBadge status={w.status} />
        </h1>
      </div>
      <p className="muted break">{w.url}</p>
      <p className="muted">
        Events: {w.eventTypes.join(', ')} · secret <code>{w.secretFingerprint}</code> · up to {w.retryPolicy.maxAttempts} attempts (
        {w.retryPolicy.backoff})
      </p>
      {w.status === 'PAUSED' ? (
        <p className="banner warn" data-testid="paused-why">
          Paused <When at={w.pausedAt} />.{' '}
          {w.consecutiveFailures ? `The last ${w.consecutiveFailures} deliveries failed in a row: fix the endpoint, then resume. ` : ''}
          New events are kept and delivered on resume.
        </p>
      ) : w.consecutiveFailures ? (
        <p className="banner warn" data-testid="failing">
          The last {w.consecutiveFailures} deliveries failed in a row; it pauses itself if failures go on.
        </p>
      ) : null}
      {notice ? (
        <p className={`banner ${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
          {notice.text}
        </p>
      ) : null}
      {secret ? <SecretOnce label="New signing secret" secret={secret} /> : null}
      <div className="actions">
        {w.status === 'ACTIVE' ? (
          <button type="button" onClick={() => setConfirm('pause')}>
            Pause
          </button>
        ) : (
          <button
            type="button"
            onClick={async () => report((await resume({ id })).data?.resumeWebhook, 'Resumed: held deliveries go out now.')}
          >
            Resume
          </button>
        )}
        <button type="button" onClick={async () => report((await sendTest({ webhookId: id })).data?.sendTestEvent, 'Test event queued.')}>
          Send test event
        </button>
        <button type="button" onClick={() => setRotating(true)}>
          Rotate secret
        </button>
        <button type="button" className="danger" onClick={() => setConfirm('delete')}>
          Delete
        </button>
      </div>
      <h2>Deliveries</h2>
      {w.deliveries.edges.length === 0 ? <p>No deliveries yet.</p> : null}
      <ul className="rows">
        {w.deliveries.edges.map(({ node: d }) => (
          <li key={d.id} className="row">
            <details>
              <summary>
                <StatusBadge status={d.status} /> <strong>{d.event.type}</strong> · <When at={d.createdAt} /> · {d.attemptCount} attempt(s)
                {d.nextAttemptAt ? (
                  <>
                    {' '}
                    · next <When at={d.nextAttemptAt} />
                  </>
                ) : null}
              </summary>
              <table>
                <caption>Attempts</caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Started</th>
                    <th scope="col">Response</th>
                    <th scope="col">Time</th>
                  </tr>
                </thead>
                <tbody>
                  {d.attempts.map((a) => (
                    <tr key={a.attemptNumber}>
                      <td>{a.attemptNumber}</td>
                      <td>
                        <When at={a.startedAt} />
                      </td>
                      <td>
                        {a.responseStatus ?? '—'}
                        {a.error ? <span className="last-error"> {a.error}</span> : null}
                      </td>
                      <td>{a.durationMs} ms</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <button
                type="button"
                onClick={async () => report((await redeliver({ id: d.id })).data?.redeliverWebhookDelivery, 'Redelivery queued.')}
              >
                Redeliver<span className="visually-hidden"> {d.event.type}</span>
              </button>
            </details>
          </li>
        ))}
      </ul>
      <Pager pager={pager} pageInfo={w.deliveries.pageInfo} totalCount={w.deliveries.totalCount} label="Delivery" />
      {confirm === 'pause' ? (
        <ConfirmDialog
          title="Pause this webhook?"
          confirmLabel="Pause"
          onClose={() => setConfirm(null)}
          onConfirm={async () => report((await pause({ id })).data?.pauseWebhook, 'Paused: deliveries are held until you resume.')}
        >
          <p>New events are kept and delivered when you resume it.</p>
        </ConfirmDialog>
      ) : null}
      {confirm === 'delete' ? (
        <ConfirmDialog
          title="Delete this webhook?"
          confirmLabel="Delete"
          danger
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            const r = (await remove({ id })).data?.deleteWebhook;
            if (r && 'code' in r && r.code) setNotice({ kind: 'error', text: describeError(r) });
            else navigate('/webhooks');
          }}
        >
          <p>No more events are sent to {w.url}.</p>
        </ConfirmDialog>
      ) : null}
      {rotating ? (
        <Dialog title="Rotate the signing secret" onClose={() => setRotating(false)}>
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              const r = (await rotate({ id, gracePeriodSeconds: Number(grace) })).data?.rotateWebhookSecret;
              setRotating(false);
              if (r?.__typename === 'RotateWebhookSecretPayload') {
                setSecret(r.signingSecret);
                setNotice({ kind: 'ok', text: 'Secret rotated.' });
              } else report(r, '');
            }}
          >
            <div className="field">
              <label htmlFor="grace">Grace period (seconds)</label>
              <input
                id="grace"
                type="number"
                min={0}
                value={grace}
                onChange={(e) => setGrace(e.target.value)}
                aria-describedby="grace-help"
              />
              <p id="grace-help" className="help">
                Deliveries are signed with both secrets until it ends, so receivers can switch without dropping events.
              </p>
            </div>
            <div className="actions">
              <button type="button" onClick={() => setRotating(false)}>
                Cancel
              </button>
              <button type="submit" className="primary">
                Rotate
              </button>
            </div>
          </form>
        </Dialog>
      ) : null}
    </section>
  );
}
