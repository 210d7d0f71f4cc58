/**
 * GraphiQL as a person uses it, in headless Chromium driven by playwright-core: a bearer token in
 * the Headers editor, a query in the query editor, run, the tenant's data in the result panel. Any
 * request to another origin is aborted and fails the test (no CDN, font or telemetry host). Without
 * /usr/bin/chromium (or CHROMIUM_PATH) it is skipped with a note. docs/development.md ("Browser
 * test").
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';

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

  it('runs a query with a bearer token and shows the result, with no request leaving the server', async ({ skip }) => {
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

    await page.goto(`${server.url}/graphql`);
    const queryEditor = '.graphiql-query-editor .monaco-editor';
    const headersEditor = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor';
    await page.locator(queryEditor).waitFor({ timeout: 60_000 });
    await page.locator(headersEditor).waitFor();

    // What the server pre-fills (src/graphql/graphiql.ts): the walk-through and the header placeholder.
    await expect.poll(() => editorText(page, queryEditor)).toContain('Integrations control plane: the main flow');
    await expect.poll(() => editorText(page, headersEditor)).toContain('Bearer <paste the output of');

    const token = await server.token({ tenant_id: 'browser-tenant' });
    await replaceEditorContent(page, headersEditor, JSON.stringify({ Authorization: `Bearer ${token}` }));
    await replaceEditorContent(page, queryEditor, QUERY);
    // GraphiQL parses the editor's document after a debounce; until then the operations of
    // the default document are current and the run button opens a menu to pick one. The tab
    // title changes when the new document is parsed.
    await page.locator('.graphiql-tab-button', { hasText: 'BrowserCheck' }).waitFor();
    await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && (r.postData() ?? '').includes('BrowserCheck')),
      page.getByRole('button', { name: /^Execute query/ }).click(),
    ]);

    await expect
      .poll(
        async () => {
          try {
            return JSON.parse(await editorText(page, '.graphiql-response'));
          } catch {
            return undefined; // still empty, or being rendered
          }
        },
        { timeout: 30_000 },
      )
      .toEqual({
        data: {
          viewer: { tenantId: 'browser-tenant', authenticatedBy: 'JWT' },
          providers: [{ name: 'stripe' }],
        },
      });
    expect(sentAuthorization.at(-1), 'the run sent the pasted token').toBe(`Bearer ${token}`);

    expect(requested.length).toBeGreaterThan(0);
    expect([...foreign], 'requests to another origin (aborted)').toEqual([]);
    expect(failed, 'requests to the server that failed').toEqual([]);
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
    // GraphiQL fetches the schema as soon as it opens, before a token is pasted: those answers are
    // 401s by design. Any other console error (a failed script, style or worker load) fails.
    const unexpected = consoleErrors.filter((e) => !(e.url === `${server!.url}/graphql` && /status of 401 \(Unauthorized\)/.test(e.text)));
    expect(unexpected, 'console errors').toEqual([]);
  }, 180_000);
});
