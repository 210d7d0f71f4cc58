/**
 * GET /console and /console/*: the web console's built files (console/dist, or CONSOLE_DIR), with
 * the SPA's index.html for paths without an extension. Nothing outside that folder is ever read
 * (symlinks included). Headers: a CSP with no inline code, nosniff, no Referer (the connect page's
 * URL holds its token); the console is never framed, the connect page per CONNECT_FRAME_ANCESTORS.
 * Policy and reasons: docs/console.md "Serving and headers", "Embedding the connect page".
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/** The console's folder in this checkout: the same from src/ (tsx) and dist/ (the build). */
export const DEFAULT_CONSOLE_DIR = path.resolve(import.meta.dirname, '../../console/dist');

export const CONSOLE_PATH = /^\/console(\/.*)?$/;

const MISSING_BUILD = 'The web console is not built. Run `npm run build:console` (npm install runs it too), then restart the service.\n';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite's output names: `assets/<name>-<hash>.<ext>`; their content never changes under that name. */
const HASHED_ASSET = /^assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/**
 * CONNECT_FRAME_ANCESTORS: who may put the connect page in a frame, as CSP frame-ancestors sources:
 * `*` (the default), `'self'`, `'none'`, or http(s) origins (a leading `*.` in the host allowed),
 * separated by spaces or commas. Anything else is refused at start-up.
 */
export function parseFrameAncestors(value: string | undefined): string {
  if (value === undefined || !value.trim()) return '*';
  const sources = value.split(/[\s,]+/).filter(Boolean);
  for (const source of sources) {
    const keyword = source.replace(/^'(.*)'$/, '$1');
    if (keyword === 'self' || keyword === 'none') continue;
    if (source === '*') continue;
    if (!/^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(source)) {
      throw new Error(`expected *, 'self', 'none' or http(s) origins such as https://app.example.com, got "${source}"`);
    }
  }
  const normalized = sources.map((s) => (/^'?(self|none)'?$/.test(s) ? `'${s.replace(/'/g, '')}'` : s));
  if (normalized.includes("'none'") && normalized.length > 1) throw new Error("'none' cannot be combined with other sources");
  return normalized.join(' ');
}

/** The CSP of every console response; only frame-ancestors differs between the console and the connect page. */
function contentSecurityPolicy(frameAncestors: string) {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    // GraphQL over POST, SSE and the graphql-ws WebSocket, all on this origin
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

export interface ConsoleOptions {
  /** The built console (CONSOLE_DIR); default: console/dist of this checkout. */
  dir?: string;
  /** CSP frame-ancestors of the connect page (parseFrameAncestors). */
  connectFrameAncestors: string;
}

function isConnectPage(rel: string) {
  return rel === 'connect' || rel.startsWith('connect/');
}

/** The security headers of a response to `rel` (the path below /console/). */
function securityHeaders(rel: string, frameAncestors: string): Record<string, string> {
  const common = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  if (isConnectPage(rel)) return { ...common, 'content-security-policy': contentSecurityPolicy(frameAncestors) };
  return {
    ...common,
    'content-security-policy': contentSecurityPolicy("'none'"),
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
}

function answer(res: ServerResponse, status: number, headers: Record<string, string>, body: string) {
  res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

/** The real path of `rel` below `root`, or undefined when it is not a file inside it. */
async function fileInside(root: string, rel: string): Promise<{ file: string; size: number; mtimeMs: number } | undefined> {
  const candidate = path.resolve(root, rel);
  if (candidate !== root && !candidate.startsWith(root + path.sep)) return undefined;
  try {
    // a symlink may point anywhere: what counts is where it leads
    const real = await realpath(candidate);
    if (!real.startsWith(root + path.sep)) return undefined;
    const info = await stat(real);
    return info.isFile() ? { file: real, size: info.size, mtimeMs: info.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

export function createConsoleHandler(options: ConsoleOptions) {
  const configured = path.resolve(options.dir ?? DEFAULT_CONSOLE_DIR);
  let root: string | undefined;

  return async function serveConsole(req: IncomingMessage, res: ServerResponse, subpath: string | undefined): Promise<void> {
    let rel: string;
    try {
      rel = decodeURIComponent((subpath ?? '/').slice(1));
    } catch {
      return answer(res, 400, securityHeaders('', options.connectFrameAncestors), 'Bad request: the path is not valid percent-encoding.\n');
    }
    const headers = securityHeaders(rel, options.connectFrameAncestors);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return answer(res, 405, { ...headers, allow: 'GET, HEAD' }, 'Method not allowed.\n');
    }
    if (rel.includes('\0')) return answer(res, 404, headers, 'Not found.\n');
    // the folder is looked up on each request until it exists (a build may come after start-up)
    root ??= await realpath(configured).catch(() => undefined);
    const index = root && (await fileInside(root, 'index.html'));
    if (!root || !index) return answer(res, 404, headers, MISSING_BUILD);

    const last = rel.split('/').pop() ?? '';
    const found = rel && !rel.endsWith('/') ? await fileInside(root, rel) : undefined;
    // the SPA's own routes (no extension) get index.html; a missing file with an extension is missing
    const target = found ?? (last.includes('.') ? undefined : index);
    if (!target) return answer(res, 404, headers, 'Not found.\n');

    const isIndex = target.file === index.file;
    const etag = `W/"${target.size.toString(16)}-${Math.floor(target.mtimeMs).toString(16)}"`;
    const cache = isIndex ? 'no-store' : HASHED_ASSET.test(rel) ? 'public, max-age=31536000, immutable' : 'no-cache';
    const type = TYPES[path.extname(target.file).toLowerCase()] ?? 'application/octet-stream';
    if (!isIndex && req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ...headers, etag, 'cache-control': cache });
      res.end();
      return;
    }
    res.writeHead(200, {
      ...headers,
      'content-type': type,
      'content-length': String(target.size),
      'cache-control': cache,
      ...(isIndex ? {} : { etag }),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(target.file);
      stream.on('error', reject);
      res.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  };
}
