/**
 * GraphiQL as a person uses it, in headless Chromium driven by playwright-core: in development
 * (embedded database on loopback) it opens signed in, its docs already filled from the schema, and a
 * query runs as is; a pasted token takes over. Any request to another origin is aborted and fails
 * the test. Without /usr/bin/chromium (or CHROMIUM_PATH) that part is skipped with a note. Then,
 * without a browser: which setups and which requests never get a token. docs/development.md.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { DEVELOPMENT_TOKEN, developmentTokenRefusal } from '../../src/graphql/graphiql.ts';
import { startTestServer, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, type TestServer } from '../helpers/app.ts';
import { freePort, startServerProcess } from '../helpers/process.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumFound = existsSync(CHROMIUM);

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

/**
 * Belt and braces: no host but the server's resolves, so even a request this test could not see
 * cannot leave the machine.
 */
const onlyResolve = (host: string) => `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${host}`;

/** Named, so GraphiQL titles the tab with it once it has parsed the new document. */
const QUERY = 'query BrowserCheck { viewer { tenantId authenticatedBy } providers(category: PAYMENT) { name } }';

/** startTestServer's database: embedded unless TEST_DATABASE_URL names a PostgreSQL server (then no token). */
const EMBEDDED = !process.env.TEST_DATABASE_URL;

/** The development token in a GraphiQL page, if it carries one. */
const tokenIn = (html: string) => /"Authorization":\s*"Bearer (ey[\w-]+\.[\w-]+\.[\w-]+)"/.exec(html.replace(/\\"/g, '"'))?.[1];

/** Runs the query editor's document and answers the result panel's JSON once it shows one. */
async function runQuery(page: Page, name: string) {
  await page.locator('.graphiql-tab-button', { hasText: name }).waitFor();
  await Promise.all([
    page.waitForRequest((r) => r.method() === 'POST' && (r.postData() ?? '').includes(name)),
    page.getByRole('button', { name: /^Execute query/ }).click(),
  ]);
  let shown: unknown;
  await expect
    .poll(
      async () => {
        try {
          shown = JSON.parse(await editorText(page, '.graphiql-response'));
          return (shown as { data?: { viewer?: unknown } }).data?.viewer !== undefined || 'errors' in (shown as object);
        } catch {
          return false; // still empty, or being rendered
        }
      },
      { timeout: 30_000 },
    )
    .toBe(true);
  return shown;
}

/** Same origin as the server; blob: URLs carry their creator's origin (GraphiQL's Monaco workers). */
function isLocal(url: string, origin: string): boolean {
  if (url.startsWith('data:')) return true;
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** Monaco renders its lines with non-breaking spaces. */
// biome-ignore lint/performance/useDomNodeTextContent: the text as rendered (Monaco's line layout), as a person reads it
const editorText = async (page: Page, selector: string) => (await page.locator(selector).innerText()).replace(/\u00a0/g, ' ');

/** Focuses a Monaco editor, replaces its whole content with `text`, as a person pasting would. */
async function replaceEditorContent(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector).click();
  await page.keyboard.press('ControlOrMeta+KeyA');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

describe('GraphiQL in headless Chromium', () => {
  let server: TestServer | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  /** Every URL the browser requested, and those it tried to fetch from elsewhere (aborted). */
  const requested: string[] = [];
  const foreign = new Set<string>();
  const failed: string[] = [];
  const consoleErrors: { text: string; url: string }[] = [];
  const pageErrors: string[] = [];
  /** The Authorization header of each POST to /graphql, in order. */
  const sentAuthorization: (string | undefined)[] = [];

  beforeAll(async () => {
    if (!chromiumFound) return;
    server = await startTestServer();
    const { origin, hostname } = new URL(server.url);
    profile = await mkdtemp(path.join(tmpdir(), 'icp-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, onlyResolve(hostname)],
      serviceWorkers: 'block',
    });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLocal(url, origin)) return route.continue();
      foreign.add(url);
      return route.abort('blockedbyclient');
    });
    context.on('request', (request) => {
      const url = request.url();
      requested.push(url);
      if (!isLocal(url, origin)) foreign.add(url);
      if (request.method() === 'POST' && url === `${server!.url}/graphql`) sentAuthorization.push(request.headers().authorization);
    });
    context.on('requestfailed', (request) => {
      if (isLocal(request.url(), origin)) failed.push(`${request.url()}: ${request.failure()?.errorText}`);
    });
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('opens signed in with a development token, its docs filled, and runs a query; a pasted token takes over', async ({ skip }) => {
    if (!chromiumFound || !server || !context) {
      skip(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH) to run this test`);
      return;
    }
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push({ text: message.text(), url: message.location().url });
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('websocket', (socket) => foreign.add(socket.url()));
    const introspection = page.waitForResponse(
      (r) => r.request().method() === 'POST' && (r.request().postData() ?? '').includes('__schema'),
    );

    await page.goto(`${server.url}/graphql`);
    const queryEditor = '.graphiql-query-editor .monaco-editor';
    const headersEditor = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor';
    await page.locator(queryEditor).waitFor({ timeout: 60_000 });
    await page.locator(headersEditor).waitFor();
    await expect.poll(() => editorText(page, queryEditor)).toContain('Integrations control plane: the main flow');

    if (EMBEDDED) {
      // What the server pre-fills in development (src/graphql/graphiql.ts): a token, and a walk-through saying so.
      await expect.poll(() => editorText(page, headersEditor)).toMatch(/"Authorization": "Bearer ey/);
      await expect.poll(() => editorText(page, queryEditor)).toContain('GraphiQL opened signed in');
      // the schema loaded with it: introspection answered, and the docs list the root types
      expect((await introspection).status()).toBe(200);
      await page.getByRole('button', { name: /Show Documentation Explorer/i }).click();
      await page.locator('.graphiql-doc-explorer').getByText('Mutation', { exact: true }).waitFor();
      await expect.poll(() => page.locator('.graphiql-doc-explorer').textContent()).toContain('Subscription');

      await replaceEditorContent(page, queryEditor, QUERY);
      expect(await runQuery(page, 'BrowserCheck')).toEqual({
        data: { viewer: { tenantId: DEVELOPMENT_TOKEN.tenant, authenticatedBy: 'JWT' }, providers: [{ name: 'stripe' }] },
      });
      expect(sentAuthorization.at(-1), 'the run sent the development token').toMatch(/^Bearer ey/);
    } else {
      await expect.poll(() => editorText(page, headersEditor)).toContain('Bearer <paste the output of');
    }

    const token = await server.token({ tenant_id: 'browser-tenant' });
    await replaceEditorContent(page, headersEditor, JSON.stringify({ Authorization: `Bearer ${token}` }));
    await replaceEditorContent(page, queryEditor, QUERY.replace('BrowserCheck', 'PastedToken'));
    expect(await runQuery(page, 'PastedToken')).toEqual({
      data: { viewer: { tenantId: 'browser-tenant', authenticatedBy: 'JWT' }, providers: [{ name: 'stripe' }] },
    });
    expect(sentAuthorization.at(-1), 'the run sent the pasted token').toBe(`Bearer ${token}`);

    expect(requested.length).toBeGreaterThan(0);
    expect([...foreign], 'requests to another origin (aborted)').toEqual([]);
    expect(failed, 'requests to the server that failed').toEqual([]);
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
    // Without a development token GraphiQL fetches the schema before one is pasted: those answers
    // are 401s by design. Any other console error (a failed script, style or worker load) fails.
    const expected401 = (e: { text: string; url: string }) =>
      !EMBEDDED && e.url === `${server!.url}/graphql` && /status of 401 \(Unauthorized\)/.test(e.text);
    const unexpected = consoleErrors.filter((e) => !expected401(e));
    expect(unexpected, 'console errors').toEqual([]);
  }, 180_000);
});

describe('the development token stays in development', () => {
  /** The GraphiQL page as `headers` ask for it (node:http, which lets a test name another Host). */
  const page = async (server: { url: string }, headers: Record<string, string> = {}) => {
    const { status, html } = await new Promise<{ status?: number; html: string }>((resolve, reject) => {
      get(`${server.url}/graphql`, { headers: { accept: 'text/html', ...headers } }, (res) => {
        let html = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (html += chunk));
        res.on('end', () => resolve({ status: res.statusCode, html }));
      }).on('error', reject);
    });
    expect(status).toBe(200);
    expect(html, 'a GraphiQL page').toContain('Integrations control plane: the main flow');
    return html;
  };

  it.skipIf(!EMBEDDED)(
    'is a working token of the development tenant, only for a page opened on this machine under a loopback name',
    async () => {
      const server = await startTestServer();
      try {
        const token = tokenIn(await page(server));
        expect(token).toBeDefined();
        const res = await server.gql('{ viewer { tenantId scopes } }', {}, { token });
        expect(res.data.viewer.tenantId).toBe(DEVELOPMENT_TOKEN.tenant);
        expect(res.data.viewer.scopes.map(String).join(' ')).not.toMatch(/admin/i);
        const port = new URL(server.url).port;
        // a page of another name (DNS rebinding), a script's read (Yoga's CORS reflects Origin), a
        // frame, a proxy in front: the page as everywhere else
        const elsewhere: Record<string, string>[] = [
          { host: `attacker.example:${port}` },
          { origin: 'https://attacker.example' },
          { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
          { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' },
          { 'x-forwarded-for': '203.0.113.9' },
          { forwarded: 'for=203.0.113.9' },
        ];
        for (const headers of elsewhere) {
          const html = await page(server, headers);
          expect(tokenIn(html), JSON.stringify(headers)).toBeUndefined();
          expect(html).toContain('Bearer <paste the output of');
        }
        // a navigation from this machine, as a browser sends it, still gets one
        expect(
          tokenIn(await page(server, { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-fetch-site': 'none' })),
        ).toBeDefined();
      } finally {
        await server.close();
      }
    },
  );

  it('npm start on the embedded default: signs with the secret it generated in DATA_DIR, and says so when it starts', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'icp-graphiql-'));
    const server = await startServerProcess({ DATA_DIR: dataDir, LOG_LEVEL: 'info' }, await freePort());
    try {
      const token = tokenIn(await page(server));
      expect(token).toBeDefined();
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ viewer { tenantId } }' }),
      });
      expect(await res.json()).toEqual({ data: { viewer: { tenantId: DEVELOPMENT_TOKEN.tenant } } });
      expect(server.output()).toContain(`GraphiQL opens signed in as development tenant \\"${DEVELOPMENT_TOKEN.tenant}\\"`);
      expect(server.output()).toContain('"graphiqlToken":"development"');
      expect(server.output(), 'the token is not logged').not.toContain(token!);
    } finally {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('is never in the page of another setup: JWKS, a proxy, a public origin', async () => {
    const setups: Record<string, string>[] = [
      { AUTH_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json' },
      { TRUST_PROXY_HOPS: '1' },
      { PUBLIC_URL: 'https://icp.example.com' },
    ];
    for (const env of setups) {
      const server = await startTestServer(env);
      try {
        const html = await page(server);
        expect(tokenIn(html), JSON.stringify(env)).toBeUndefined();
        expect(html).toContain('Bearer <paste the output of');
      } finally {
        await server.close();
      }
    }
  });

  it('is refused by configuration for any DATABASE_URL and any HOST but loopback', () => {
    const base = { AUTH_JWT_SECRET: TEST_JWT_SECRET, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
    expect(developmentTokenRefusal(loadConfig(base))).toBeUndefined();
    expect(developmentTokenRefusal(loadConfig({ ...base, HOST: 'localhost' }))).toBeUndefined();
    expect(developmentTokenRefusal(loadConfig({ ...base, HOST: '::1' }))).toBeUndefined();
    expect(developmentTokenRefusal(loadConfig({ ...base, DATABASE_URL: 'postgres://app@127.0.0.1:5432/icp' }))).toBe('DATABASE_URL is set');
    for (const HOST of ['0.0.0.0', '::', '192.168.1.10', 'icp.internal']) {
      expect(developmentTokenRefusal(loadConfig({ ...base, HOST })), HOST).toBe('HOST is not a loopback address');
    }
  });
});
