/**
 * The web console (console/, served at /console) as people use it, in headless Chromium driven by
 * playwright-core against the real service, with Stripe's balance endpoint replaced by a loopback
 * fake. First its generated code cannot drift (console/codegen.ts run in memory). Then: sign in
 * with a token, see a validation error beside its field, configure Stripe and watch it turn ACTIVE
 * over the status stream, create a webhook and see its secret once, open the connect page with a
 * session token and find nothing but its provider, and a phone-width screen without sideways
 * scrolling. Any request to another origin fails the test. CONSOLE_SCREENSHOTS=1 saves the
 * screenshots of docs/console.md under docs/screenshots/. Without Chromium the browser part skips.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config, { CONSOLE_GQL_DIR } from '../../console/codegen.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Seen, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumFound = existsSync(CHROMIUM);
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs/screenshots') : undefined;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const STRIPE_SECRET = 'sk_test_ok';
const STRIPE_PUBLISHABLE = 'pk_test_console';

describe('npm run codegen:console', () => {
  it('reproduces the checked-in console/src/gql/ from schema.graphql and the console’s documents', async () => {
    const outputs = (await generate({ ...config, cwd: ROOT, silent: true }, false)) as { filename: string; content: string }[];
    const dir = path.join(ROOT, CONSOLE_GQL_DIR);
    const generated = new Map(outputs.map((o) => [path.relative(dir, path.resolve(ROOT, o.filename)), o.content]));
    expect([...generated.keys()].sort(), 'files in console/src/gql/ (run npm run codegen:console)').toEqual((await readdir(dir)).sort());
    for (const [file, content] of generated) {
      expect(await readFile(path.join(dir, file), 'utf8'), `console/src/gql/${file} is stale: run npm run codegen:console`).toBe(content);
    }
  });
});

describe.skipIf(!chromiumFound)('the console in Chromium', () => {
  let server: TestServer;
  let stripe: FakeApi;
  let receiver: Receiver;
  let browser: Browser;
  let context: BrowserContext;
  /** Stripe's answer to the verification waits for this, so the page shows PENDING_VERIFY first. */
  let releaseStripe!: () => void;
  const stripeReleased = new Promise<void>((resolve) => (releaseStripe = resolve));
  const foreign = new Set<string>();
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    // npm install's build, again (under a second, and the same files when nothing changed): the
    // page under test is the checkout's, and a NODE_ENV set in the shell does not make it a
    // development build (checked below)
    execFileSync(process.execPath, [path.join(ROOT, 'console/build.mjs'), '--quiet'], {
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'development' },
    });
    const balance = stripeBalance(STRIPE_SECRET);
    stripe = await startFakeApi(async (req: Seen) => {
      await stripeReleased;
      return balance(req);
    });
    receiver = await startReceiver();
    server = await startTestServer({
      STRIPE_API_BASE_URL: stripe.url,
      // Clicksign's check reaches the same fake, which knows only Stripe's path: refused, ERROR
      CLICKSIGN_API_BASE_URL: stripe.url,
      WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    });
    const { origin, hostname } = new URL(server.url);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${hostname}`],
    });
    context = await browser.newContext({ viewport: { width: 1100, height: 760 }, serviceWorkers: 'block' });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('data:') || new URL(url).origin === origin) return route.continue();
      foreign.add(url);
      return route.abort('blockedbyclient');
    });
    if (SCREENSHOTS) await mkdir(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    releaseStripe?.();
    await context?.close();
    await browser?.close();
    await server?.close();
    await stripe?.close();
    await receiver?.close();
  });

  async function newPage(viewport?: { width: number; height: number }): Promise<Page> {
    const page = await context.newPage();
    if (viewport) await page.setViewportSize(viewport);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    return page;
  }

  async function signIn(page: Page, token: string, tenant: string) {
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('Token or API key').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('tenant').textContent()).toBe(tenant);
  }

  /** A screenshot for docs/, with the (throwaway) secrets on screen masked. */
  const shot = async (page: Page, name: string) => {
    if (!SCREENSHOTS) return;
    await page.evaluate(() => {
      for (const el of document.querySelectorAll('[data-testid="secret"], .callback code')) {
        el.textContent = el.textContent?.startsWith('whsec_')
          ? `whsec_${'•'.repeat(32)}`
          : (el.textContent ?? '').replace(/[^/]+$/, '•'.repeat(24));
      }
    });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
  };

  /** No sideways scrolling: the document is no wider than the viewport. */
  const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

  it('is React’s production build, though NODE_ENV said development when it was built', async () => {
    const html = await (await fetch(`${server.url}/console/`)).text();
    const script = /<script type="module" crossorigin src="([^"]+)"/.exec(html)?.[1];
    expect(script, html).toMatch(/^\/console\/assets\/index-[\w-]+\.js$/);
    const bundle = await (await fetch(`${server.url}${script}`)).text();
    expect(bundle.includes('react.transitional.element'), 'React is in the bundle').toBe(true);
    expect(bundle.includes('In HTML, %s'), 'a message only React’s development build carries').toBe(false);
  });

  it('signs in, shows a validation error beside its field, configures Stripe and turns ACTIVE without a reload', async () => {
    const page = await newPage();
    // a refused credential returns to the sign-in form and says why
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('Token or API key').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('That credential was refused');
    await signIn(page, await server.token({ tenant_id: 'console-tenant' }), 'console-tenant');
    await page.getByRole('link', { name: 'Providers' }).click();
    await page.getByRole('heading', { name: 'Stripe' }).waitFor();
    await shot(page, 'providers');

    await page.getByRole('link', { name: 'Connect Stripe' }).click();
    await page.getByRole('heading', { name: 'Connect Stripe' }).waitFor();
    const secret = page.getByLabel(/^Secret key/);
    expect(await secret.getAttribute('type'), 'a sensitive field is a password input').toBe('password');
    expect(await secret.inputValue()).toBe('');
    await page.getByLabel(/^Publishable key/).fill(STRIPE_PUBLISHABLE);
    await secret.fill('pk_test_wrong_field');
    await page.getByRole('button', { name: 'Connect Stripe' }).click();

    const secretError = page.locator('[data-field="secret_key"] .field-error');
    await secretError.waitFor();
    expect(await secretError.textContent()).toMatch(/publishable key/);
    expect(await page.locator('[data-field="publishable_key"] .field-error').count(), 'only the wrong field has an error').toBe(0);
    expect(await secret.getAttribute('aria-invalid')).toBe('true');
    expect(await secret.getAttribute('aria-describedby')).toContain('cred-secret_key-error');
    await shot(page, 'configure-validation');

    await secret.fill(STRIPE_SECRET);
    await page.getByRole('button', { name: 'Connect Stripe' }).click();
    const status = page.getByRole('region', { name: 'Connection status' });
    await expect.poll(() => status.textContent()).toContain('PENDING VERIFY');
    expect(await secret.inputValue(), 'the secret is not shown back').toBe('');

    // the list, opened without a reload, hears ACTIVE over integrationStatusChanged only (it never
    // polls): Stripe answers the check only once the row shows PENDING_VERIFY
    await page.getByRole('link', { name: 'Integrations' }).click();
    const row = page.locator('[data-integration="stripe"]');
    await expect.poll(() => row.locator('.badge').textContent()).toBe('PENDING VERIFY');
    const loads: string[] = [];
    page.on('load', () => loads.push(page.url()));
    releaseStripe();
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 15_000 }).toBe('ACTIVE');
    expect(loads, 'no reload').toEqual([]);
    expect(stripe.seen.some((r) => r.path === '/v1/balance' && r.headers.authorization === `Bearer ${STRIPE_SECRET}`)).toBe(true);
    await shot(page, 'integrations');

    await row.getByRole('link', { name: 'Stripe', exact: true }).click();
    await expect.poll(() => status.textContent()).toContain('ACTIVE');
    await page.getByRole('link', { name: 'Integrations' }).click();

    // a confirmation dialog: keyboard-usable, Escape cancels and nothing happens
    await row.getByRole('button', { name: 'Disable Stripe' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null), 'focus moved into the dialog').toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await row.locator('.badge').textContent()).toBe('ACTIVE');
    await page.close();
  }, 60_000);

  it('creates a webhook and shows its signing secret once', async () => {
    const page = await newPage();
    await signIn(page, await server.token({ tenant_id: 'console-tenant' }), 'console-tenant');
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('button', { name: 'New webhook' }).click();
    const dialog = page.getByRole('dialog', { name: 'New webhook' });
    await dialog.getByLabel('Name').fill('Orders');
    await dialog.getByLabel('Endpoint URL').fill(`${receiver.url}/orders`);
    await dialog.getByRole('checkbox').first().check();
    await dialog.getByRole('button', { name: 'Create webhook' }).click();

    const shown = page.getByTestId('secret');
    await shown.waitFor();
    const signingSecret = (await shown.textContent()) ?? '';
    expect(signingSecret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    await shot(page, 'webhooks');
    await page.getByRole('button', { name: 'Done, I have copied it' }).click();
    await shown.waitFor({ state: 'detached' });

    await page.getByRole('link', { name: 'Orders' }).click();
    await page.getByRole('heading', { name: /Orders/ }).waitFor();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    expect(await page.content(), 'the secret is never shown again').not.toContain(signingSecret);
    await page.close();
  }, 60_000);

  it('runs a webhook’s actions: a test event, its redelivery, pause and resume with the reason shown, a rotation with grace', async () => {
    const page = await newPage();
    await signIn(page, await server.token({ tenant_id: 'console-tenant' }), 'console-tenant');
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('link', { name: 'Orders' }).click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    // the page's answer to an action: a banner, ok (status) or error (alert)
    const notice = page.locator('p.banner[role="status"], p.banner[role="alert"]');
    const toOrders = () => receiver.received.filter((r) => r.path.endsWith('/orders') && r.body.includes('"webhook.test"')).length;
    const before = toOrders();

    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect.poll(() => notice.textContent()).toBe('Test event queued.');
    await expect.poll(toOrders, { timeout: 15_000 }).toBe(before + 1);
    const delivery = page.locator('details').filter({ hasText: 'webhook.test' }).first();
    await delivery.waitFor();
    await delivery.locator('summary').click();
    await delivery.getByRole('button', { name: 'Redeliver webhook.test' }).click();
    await expect.poll(() => notice.textContent()).toBe('Redelivery queued.');
    await expect.poll(toOrders, { timeout: 15_000 }).toBe(before + 2);
    await shot(page, 'webhook-deliveries');

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('dialog', { name: 'Pause this webhook?' }).getByRole('button', { name: 'Pause' }).click();
    await expect
      .poll(() => page.getByTestId('paused-why').textContent())
      .toMatch(/^Paused .*\. New events are kept and delivered on resume\.$/);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => notice.textContent()).toBe('Resumed: held deliveries go out now.');
    await page.getByTestId('paused-why').waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate the signing secret' });
    await rotate.getByLabel('Grace period (seconds)').fill('3600');
    await rotate.getByRole('button', { name: 'Rotate' }).click();
    const secret = (await page.getByTestId('secret').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    const listed = await server.gql(
      '{ webhooks(first: 5) { edges { node { name secretFingerprint } } } }',
      {},
      { token: await server.token({ tenant_id: 'console-tenant' }) },
    );
    const fingerprint = listed.data?.webhooks.edges.find((e: { node: { name: string } }) => e.node.name === 'Orders')?.node
      .secretFingerprint;
    await expect.poll(() => page.getByText(fingerprint).count(), { message: 'the page shows the new secret’s fingerprint' }).toBe(1);
    await page.close();
  }, 60_000);

  it('asks before replacing credentials, and says so when someone changed the integration meanwhile', async () => {
    const token = await server.token({ tenant_id: 'console-tenant' });
    const page = await newPage();
    await signIn(page, token, 'console-tenant');
    await page.goto(`${server.url}/console/providers/stripe`);
    await page.getByRole('heading', { name: 'Replace credentials' }).waitFor();
    // another operator changes it after this page loaded its version
    const listed = await server.gql('{ provider(name: "stripe") { integration { id version } } }', {}, { token });
    const stripeRow = listed.data?.provider.integration as { id: string; version: number };
    const changed = await server.gql(
      'mutation ($input: UpdateIntegrationInput!) { updateIntegration(input: $input) { __typename } }',
      { input: { id: stripeRow.id, metadata: { team: 'payments' }, expectedVersion: stripeRow.version } },
      { token },
    );
    expect(changed.data?.updateIntegration.__typename, changed.raw).toBe('UpdateIntegrationPayload');

    await page.getByLabel(/^Secret key/).fill(STRIPE_SECRET);
    await page.getByRole('button', { name: 'Save new credentials' }).click();
    const ask = page.getByRole('dialog', { name: "Replace Stripe's credentials?" });
    await ask.waitFor();
    await ask.getByRole('button', { name: 'Replace credentials' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/^Version conflict: someone changed this since you loaded it/);
    const after = await server.gql('{ provider(name: "stripe") { integration { status version } } }', {}, { token });
    expect(after.data?.provider.integration, 'nothing replaced').toEqual({ status: 'ACTIVE', version: stripeRow.version + 1 });
    await page.close();
  }, 60_000);

  it('routes a capability: a rule added shows who serves it now, and deleting it says nothing would', async () => {
    const page = await newPage();
    await signIn(page, await server.token({ tenant_id: 'console-tenant' }), 'console-tenant');
    await page.getByRole('link', { name: 'Routing' }).click();
    await page.getByLabel('Capability').selectOption('initiate_payment');
    const preview = page.getByRole('heading', { name: 'Serving initiate_payment now' }).locator('..');
    await expect.poll(() => preview.textContent()).toMatch(/no ACTIVE integration/i);
    await page.getByLabel('Integration', { exact: true }).selectOption({ label: 'Stripe (active)' });
    await page.getByLabel('Priority').fill('10');
    await page.getByLabel('Default rule').check();
    await page.getByRole('button', { name: 'Add rule' }).click();
    await expect.poll(() => preview.textContent()).toBe('Serving initiate_payment nowStripe ACTIVE');
    const rules = page.getByRole('table').locator('tbody tr');
    await expect.poll(() => rules.count()).toBe(1);
    expect(await rules.first().textContent()).toContain('10 (default)');
    await shot(page, 'routing');

    await rules.first().getByRole('button', { name: 'Delete rule 10' }).click();
    await page.getByRole('dialog', { name: 'Delete this rule?' }).getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => rules.count()).toBe(0);
    await expect.poll(() => preview.textContent()).toMatch(/no ACTIVE integration/i);
    await page.close();
  }, 60_000);

  it('creates an API key whose secret is shown once and works, then revokes it', async () => {
    const page = await newPage();
    await signIn(page, await server.token({ tenant_id: 'console-tenant' }), 'console-tenant');
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Name').fill('billing backend');
    await page.getByLabel('integrations:read').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByTestId('secret');
    await shown.waitFor();
    const secret = (await shown.textContent()) ?? '';
    expect(secret).toMatch(/^icp_/);
    await shot(page, 'api-keys');
    const read = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': secret },
      body: JSON.stringify({ query: '{ viewer { tenantId } }' }),
    });
    expect(await read.json()).toEqual({ data: { viewer: { tenantId: 'console-tenant' } } });

    await page.getByRole('button', { name: 'Done, I have copied it' }).click();
    await shown.waitFor({ state: 'detached' });
    expect(await page.content(), 'the secret is never shown again').not.toContain(secret);
    const row = page.getByRole('row').filter({ hasText: 'billing backend' });
    await row.getByRole('button', { name: 'Revoke billing backend' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row.textContent()).toContain('revoked');
    const refused = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': secret },
      body: JSON.stringify({ query: '{ viewer { tenantId } }' }),
    });
    expect(refused.status).toBe(401);
    await page.close();
  }, 60_000);

  it('lists operations with their status, error and attempts, filtered by status', async () => {
    const token = await server.token({ tenant_id: 'console-tenant' });
    const stripeId = (await server.gql('{ provider(name: "stripe") { integration { id } } }', {}, { token })).data?.provider.integration.id;
    const rule = await server.gql(
      'mutation ($input: CreateRoutingRuleInput!) { createRoutingRule(input: $input) { __typename } }',
      { input: { capability: 'initiate_payment', integrationId: stripeId, isDefault: true } },
      { token },
    );
    expect(rule.data?.createRoutingRule.__typename, rule.raw).toBe('CreateRoutingRulePayload');
    // the loopback Stripe knows only /v1/balance: the payment's call is answered 404
    const paid = await server.gql(
      'mutation ($input: InitiatePaymentInput!) { initiatePayment(input: $input) { ... on InitiatePaymentPayload { operation { status } } } }',
      { input: { amount: 1250, currency: 'usd', waitSeconds: 15 } },
      { token },
    );
    expect(paid.data?.initiatePayment.operation.status, paid.raw).toBe('FAILED');
    expect(stripe.seen.some((r) => r.method === 'POST' && r.path === '/v1/payment_intents')).toBe(true);

    const page = await newPage();
    await signIn(page, token, 'console-tenant');
    await page.getByRole('link', { name: 'Operations' }).click();
    await page.getByLabel('Status').selectOption('FAILED');
    const row = page.locator('li.row').filter({ hasText: 'initiate_payment' });
    await row.waitFor();
    expect(await row.locator('.badge').textContent()).toBe('FAILED');
    await row.locator('summary').click();
    const attempt = row.locator('tbody tr').first();
    expect(await attempt.textContent()).toContain('404');
    expect(await row.locator('dd.last-error').textContent()).toBeTruthy();
    await shot(page, 'operations');
    await page.getByLabel('Status').selectOption('SUCCEEDED');
    await page.getByText('No operations yet.').waitFor();
    await page.close();
  }, 60_000);

  it('draws an ENUM as a select with its default and a BOOLEAN as a checkbox, sends what was chosen, and shows a refusal', async () => {
    const page = await newPage();
    await signIn(page, await server.token({ tenant_id: 'console-tenant' }), 'console-tenant');
    await page.goto(`${server.url}/console/providers/clicksign`);
    await page.getByRole('heading', { name: 'Connect Clicksign' }).waitFor();
    const environment = page.getByLabel(/^Environment/);
    expect(await environment.evaluate((el) => el.tagName)).toBe('SELECT');
    expect(await environment.inputValue(), 'the default is chosen').toBe('stage');
    expect(await environment.locator('option').allTextContents()).toEqual(expect.arrayContaining(['stage', 'production']));
    const changeKeys = page.getByLabel(/^Normalise event keys/);
    expect(await changeKeys.getAttribute('type')).toBe('checkbox');
    expect(await changeKeys.isChecked()).toBe(false);

    const sent: unknown[] = [];
    page.on('request', (request) => {
      if (request.method() !== 'POST' || !request.url().endsWith('/graphql')) return;
      try {
        const body = request.postDataJSON() as { operationName?: string; variables?: unknown } | null;
        if (body?.operationName === 'ConsoleConfigureIntegration') sent.push(body.variables);
      } catch {
        // not JSON: not the mutation
      }
    });
    await page.getByLabel(/^Access token/).fill('clicksign-token-1');
    await environment.selectOption('production');
    await changeKeys.check();
    await page.getByRole('button', { name: 'Connect Clicksign' }).click();
    const status = page.getByRole('region', { name: 'Connection status' });
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toContain('ERROR');
    expect(sent).toEqual([
      {
        input: {
          provider: 'clicksign',
          credentials: expect.objectContaining({ access_token: 'clicksign-token-1', environment: 'production', changeKeys: true }),
        },
      },
    ]);
    expect(await status.locator('.last-error').textContent(), 'why, in words').toBeTruthy();
    expect(stripe.seen.some((r) => r.path.startsWith('/api/v3/envelopes') && r.headers.authorization === 'clicksign-token-1')).toBe(true);
    await page.close();
  }, 60_000);

  it('the connect page shows only the allowed provider, connects it live, and can read nothing else', async ({ skip }) => {
    const schema = await readFile(path.join(ROOT, 'schema.graphql'), 'utf8');
    if (!schema.includes('createConnectSession')) {
      skip('createConnectSession is not in schema.graphql yet (CONTRACT.md "Web console and connect sessions")');
      return;
    }
    const tenantToken = await server.token({ tenant_id: 'connect-tenant' });
    const created = await server.gql(
      'mutation ($input: CreateConnectSessionInput!) { createConnectSession(input: $input) { ... on CreateConnectSessionPayload { token url expiresAt } ... on Error { message } } }',
      { input: { allowedProviders: ['stripe'], expiresInSeconds: 600 } },
      { token: tenantToken },
    );
    const session = created.data?.createConnectSession as { token: string; url: string; expiresAt: string };
    expect(session?.token, created.raw).toBeTruthy();
    expect(session.url).toBe(`${server.url}/console/connect?session=${encodeURIComponent(session.token)}`);

    // the token reads nothing outside its scope
    const webhooks = await server.gql('{ webhooks(first: 1) { totalCount } }', {}, { token: session.token });
    expect(webhooks.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const providers = await server.gql('{ providers { name } }', {}, { token: session.token });
    expect(providers.data?.providers).toEqual([{ name: 'stripe' }]);

    const page = await newPage({ width: 375, height: 760 });
    await page.goto(session.url);
    await page.getByRole('heading', { name: 'Connect Stripe' }).waitFor();
    expect(page.url(), 'the token left the address bar').toBe(`${server.url}/console/connect`);
    const text = ((await page.locator('body').textContent()) ?? '').toLowerCase();
    for (const other of ['twilio', 'sendgrid', 'api keys', 'routing', 'sign out', 'connect-tenant']) expect(text).not.toContain(other);
    expect(await page.getByRole('navigation').count(), 'no console navigation').toBe(0);
    expect(await page.getByRole('link', { name: /webhooks|operations|integrations/i }).count()).toBe(0);
    expect(await overflow(page), 'no sideways scroll at 375px').toBeLessThanOrEqual(0);

    await page.getByLabel(/^Publishable key/).fill(STRIPE_PUBLISHABLE);
    await page.getByLabel(/^Secret key/).fill(STRIPE_SECRET);
    await page.getByRole('button', { name: 'Connect Stripe' }).click();
    const status = page.getByRole('region', { name: 'Connection status' });
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toContain('ACTIVE');
    await shot(page, 'connect-phone');
    const integrations = await server.gql('{ integrations { edges { node { status provider { name } } } } }', {}, { token: tenantToken });
    expect(integrations.data?.integrations.edges).toEqual([{ node: { status: 'ACTIVE', provider: { name: 'stripe' } } }]);

    // a link that no longer works says so
    const expired = await newPage({ width: 375, height: 760 });
    await expired.goto(`${server.url}/console/connect?session=icp_cs_${'x'.repeat(46)}`);
    await expired.getByRole('heading', { name: 'This link has expired' }).waitFor();
    await expired.close();

    // a page left open past the session's expiresAt says so by itself (the browser's clock is
    // moved on; the token is still good on the server, so nothing else could have told it)
    const open = await newPage({ width: 375, height: 760 });
    await open.clock.install();
    await open.goto(session.url);
    await open.getByRole('heading', { name: 'Connect Stripe' }).waitFor();
    const left = Date.parse(session.expiresAt) - Date.now();
    await open.clock.fastForward(left - 30_000);
    await open.getByRole('heading', { name: 'Connect Stripe' }).waitFor();
    await open.clock.fastForward(31_000);
    await open.getByRole('heading', { name: 'This link has expired' }).waitFor();
    expect(await open.evaluate(() => sessionStorage.getItem('icp.connect.session')), 'forgotten').toBeNull();
    await open.close();

    // a device whose clock runs an hour fast judges the expiry by the server's clock (its Date header)
    const fast = await newPage({ width: 375, height: 760 });
    await fast.clock.install({ time: Date.now() + 3_600_000 });
    await fast.goto(session.url);
    await fast.getByRole('heading', { name: 'Connect Stripe' }).waitFor();
    await fast.waitForTimeout(1_000);
    expect(await fast.getByRole('heading', { name: 'This link has expired' }).count()).toBe(0);
    await fast.close();
    await page.close();
  }, 60_000);

  it('the connect page works inside another site’s frame, and the console refuses to be framed', async () => {
    const created = await server.gql(
      'mutation ($input: CreateConnectSessionInput!) { createConnectSession(input: $input) { ... on CreateConnectSessionPayload { url } } }',
      { input: { allowedProviders: ['stripe'] } },
      { token: await server.token({ tenant_id: 'frame-tenant' }) },
    );
    const connectUrl = created.data?.createConnectSession.url as string;
    expect(connectUrl, created.raw).toBeTruthy();
    // a product's page on another origin that embeds both
    const embedder = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        `<!doctype html><title>Product</title><iframe id="connect" src="${connectUrl}" width="420" height="700"></iframe>` +
          `<iframe id="console" src="${server.url}/console/" width="420" height="300"></iframe>`,
      );
    });
    await new Promise<void>((resolve) => embedder.listen(0, '127.0.0.1', resolve));
    const embedderOrigin = `http://127.0.0.1:${(embedder.address() as AddressInfo).port}`;
    const framing = await browser.newContext({ serviceWorkers: 'block' });
    try {
      await framing.route('**/*', (route) => {
        const { origin } = new URL(route.request().url());
        return origin === new URL(server.url).origin || origin === embedderOrigin ? route.continue() : route.abort('blockedbyclient');
      });
      const page = await framing.newPage();
      await page.goto(embedderOrigin);
      await page.frameLocator('#connect').getByRole('heading', { name: 'Connect Stripe' }).waitFor();
      // the console's frame-ancestors 'none': Chromium shows its error page in that frame instead
      await expect.poll(() => page.frames().some((f) => f.url().startsWith('chrome-error://'))).toBe(true);
      expect(await page.frameLocator('#console').getByText('Integrations console').count()).toBe(0);
    } finally {
      await framing.close();
      await new Promise((resolve) => embedder.close(resolve));
    }
  }, 60_000);

  it('can be walked with the keyboard, each focused control ringed at 3:1 or more against what is behind it', async () => {
    const page = await newPage();
    await signIn(page, await server.token({ tenant_id: 'console-tenant' }), 'console-tenant');
    await page.goto(`${server.url}/console/webhooks`);
    await page.getByRole('heading', { name: 'Webhooks', exact: true }).waitFor();
    const seen: string[] = [];
    for (let i = 0; i < 14; i++) {
      await page.keyboard.press('Tab');
      const ring = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return null;
        const rgb = (css: string) => (css.match(/[\d.]+/g) ?? []).map(Number);
        const luminance = ([r, g, b]: number[]) => {
          const c = [r, g, b].map((v) => (v! / 255 <= 0.03928 ? v! / 255 / 12.92 : ((v! / 255 + 0.055) / 1.055) ** 2.4));
          return 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
        };
        // the ring sits outside the control (outline-offset), over its container's background
        let behind = el.parentElement;
        while (behind && (rgb(getComputedStyle(behind).backgroundColor)[3] ?? 1) === 0) behind = behind.parentElement;
        const style = getComputedStyle(el);
        const a = luminance(rgb(style.outlineColor));
        const b = luminance(rgb(getComputedStyle(behind ?? document.body).backgroundColor));
        return {
          what: `${el.tagName.toLowerCase()} ${el.textContent?.trim().slice(0, 30) ?? ''}`,
          style: style.outlineStyle,
          width: Number.parseFloat(style.outlineWidth),
          contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
        };
      });
      if (!ring) continue;
      seen.push(ring.what);
      expect(ring.style, ring.what).toBe('solid');
      expect(ring.width, ring.what).toBeGreaterThanOrEqual(2);
      expect(ring.contrast, ring.what).toBeGreaterThanOrEqual(3);
    }
    expect(seen[0], 'the first Tab reaches the skip link').toMatch(/^a skip/i);
    expect(
      seen.some((w) => w.includes('New webhook')),
      seen.join(' | '),
    ).toBe(true);
    await page.close();
  }, 60_000);

  it('fits a phone-width screen without sideways scrolling', async () => {
    const page = await newPage({ width: 375, height: 760 });
    await signIn(page, await server.token({ tenant_id: 'console-tenant' }), 'console-tenant');
    for (const [to, heading] of [
      ['integrations', 'Integrations'],
      ['providers', 'Providers'],
      ['providers/stripe', /Stripe$/],
      ['routing', 'Routing'],
      ['webhooks', 'Webhooks'],
      ['operations', 'Operations'],
      ['api-keys', 'API keys'],
    ] as const) {
      await page.goto(`${server.url}/console/${to}`);
      await page.getByRole('heading', { name: heading, exact: true }).first().waitFor();
      expect(await overflow(page), `${to} at 375px`).toBeLessThanOrEqual(0);
      if (to === 'integrations') await shot(page, 'integrations-phone');
    }
    await page.close();

    expect([...foreign], 'requests to another origin (aborted)').toEqual([]);
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
    expect(
      consoleErrors.filter((e) => !/status of 401/.test(e)),
      'console errors (a CSP violation shows here)',
    ).toEqual([]);
  }, 60_000);
});
