/**
 * GET /console over real HTTP, from a small fake build in a temporary CONSOLE_DIR: the SPA's
 * index.html for its routes, assets with their types and caching, traversal refused (raw request
 * paths, encoded variants, a symlink), the console's and the connect page's framing headers, the
 * hint when nothing is built, and the answer while the service is not ready.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { DEFAULT_CONSOLE_DIR } from '../../src/http/console-static.ts';
import { answerWhileNotReady } from '../../src/http/routes.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const INDEX =
  '<!doctype html><html><head><script type="module" src="/console/assets/index-Ab12Cd34.js"></script></head><body><div id="root"></div></body></html>';
const SCRIPT = 'console.log("console")';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with its path sent exactly as written (fetch would normalise `..` away). */
function raw(base: string, rawPath: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: rawPath, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

let dir: string;
let emptyDir: string;
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'console-build-'));
  emptyDir = mkdtempSync(path.join(tmpdir(), 'console-none-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), INDEX);
  writeFileSync(path.join(dir, 'assets', 'index-Ab12Cd34.js'), SCRIPT);
  writeFileSync(path.join(dir, 'assets', 'index-Xy98Zw76.css'), 'body{margin:0}');
  writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  // links that lead out of the build: never followed
  symlinkSync(path.join(ROOT, 'package.json'), path.join(dir, 'leak.json'));
  symlinkSync(ROOT, path.join(dir, 'repo'));
  server = await startTestServer({ CONSOLE_DIR: dir });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(emptyDir, { recursive: true, force: true });
});

describe('the console', () => {
  it.each(['/console', '/console/', '/console/integrations', '/console/integrations/abc/edit', '/console/webhooks/'])(
    'answers %s with index.html, uncached and unframeable',
    async (p) => {
      const res = await raw(server.url, p);
      expect(res.status).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
    },
  );

  it('serves hashed assets with their type for a year, and other files revalidated', async () => {
    const js = await raw(server.url, '/console/assets/index-Ab12Cd34.js');
    expect(js.status).toBe(200);
    expect(js.body).toBe(SCRIPT);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const css = await raw(server.url, '/console/assets/index-Xy98Zw76.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const icon = await raw(server.url, '/console/favicon.svg');
    expect(icon.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    expect(icon.headers['cache-control']).toBe('no-cache');
    const etag = String(icon.headers.etag);
    const again = await raw(server.url, '/console/favicon.svg', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    const head = await raw(server.url, '/console/assets/index-Ab12Cd34.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(SCRIPT.length));
  });

  it('answers 404 for a missing file (a path with an extension), and 405 for other methods', async () => {
    const missing = await raw(server.url, '/console/assets/gone-12345678.js');
    expect(missing.status).toBe(404);
    expect(missing.body).not.toContain('<html');
    const post = await raw(server.url, '/console', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    // a path that only starts like the console is not the console
    expect((await raw(server.url, '/consolex')).status).toBe(404);
  });

  it.each([
    '/console/../package.json',
    '/console/assets/../../package.json',
    '/console/%2e%2e/package.json',
    '/console/..%2fpackage.json',
    '/console/%2e%2e%2f%2e%2e%2fpackage.json',
    '/console/assets/..%2F..%2Fpackage.json',
    '/console/..%5cpackage.json',
    '/console//etc/passwd.json',
    '/console/leak.json',
    '/console/repo/package.json',
    '/console/index.html%00.js',
  ])('never reads outside the build: %s', async (p) => {
    const res = await raw(server.url, p);
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('"name"');
    expect(res.body).not.toContain('root:');
  });

  it('answers 400 for a path that is not valid percent-encoding', async () => {
    expect((await raw(server.url, '/console/%E0%A4%A')).status).toBe(400);
  });
});

describe('the connect page', () => {
  it('may be framed by anyone by default, and sends no Referer', async () => {
    const res = await raw(server.url, '/console/connect?session=icp_cs_example');
    expect(res.status).toBe(200);
    expect(res.body).toBe(INDEX);
    expect(res.headers['x-frame-options']).toBeUndefined();
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain('frame-ancestors *');
    expect(csp).toContain("script-src 'self'");
  });

  it('may be framed only by CONNECT_FRAME_ANCESTORS when set; the console stays unframeable', async () => {
    const limited = await startTestServer({ CONSOLE_DIR: dir, CONNECT_FRAME_ANCESTORS: 'https://app.example.com, self' });
    try {
      const connect = await raw(limited.url, '/console/connect');
      expect(String(connect.headers['content-security-policy'])).toContain("frame-ancestors https://app.example.com 'self'");
      const console = await raw(limited.url, '/console/integrations');
      expect(String(console.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
      expect(console.headers['x-frame-options']).toBe('DENY');
    } finally {
      await limited.close();
    }
  });

  it.each(["https://a.example; script-src 'unsafe-inline'", 'javascript:alert(1)', "'none' https://a.example", 'ftp://files.example'])(
    'refuses CONNECT_FRAME_ANCESTORS=%s at start-up',
    (value) => {
      expect(() => loadConfig({ CONNECT_FRAME_ANCESTORS: value, DATA_DIR: emptyDir })).toThrow(/CONNECT_FRAME_ANCESTORS/);
    },
  );
});

describe('without a build', () => {
  it('answers 404 saying how to build it', async () => {
    const bare = await startTestServer({ CONSOLE_DIR: emptyDir });
    try {
      for (const p of ['/console', '/console/connect', '/console/assets/index-Ab12Cd34.js']) {
        const res = await raw(bare.url, p);
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
        expect(res.body).toContain('npm run build:console');
      }
    } finally {
      await bare.close();
    }
  });

  it('looks for console/dist of the checkout by default, from src/ and dist/ alike', () => {
    expect(DEFAULT_CONSOLE_DIR).toBe(path.join(ROOT, 'console', 'dist'));
  });
});

it('answers /console with 503 and Retry-After, in words, while the service is not ready', async () => {
  const starting = createServer((req, res) => answerWhileNotReady('migrating', req, res));
  await new Promise<void>((resolve) => starting.listen(0, '127.0.0.1', resolve));
  try {
    const res = await raw(`http://127.0.0.1:${(starting.address() as AddressInfo).port}`, '/console/integrations');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toContain('migrating');
  } finally {
    await new Promise((resolve) => starting.close(resolve));
  }
});
