/**
 * Reading a callback's headers and body. Checks run on the raw bytes first; these readers run
 * after, so a body is only interpreted once its signature (where there is one) has passed.
 *
 * Policy: a JSON body is accepted when the Content-Type is JSON (`application/json`, `text/json`,
 * `…+json`) or absent, since some providers send none; anything else, or bytes that do not
 * parse, is a 400. Forms must say `application/x-www-form-urlencoded`.
 */
import type { InboundRequest } from '../types.ts';
import type { InboundFailure } from './results.ts';
import { badRequest } from './results.ts';

export type Parsed<T> = { ok: true; value: T } | InboundFailure;
export type Fields = Record<string, unknown>;

/** A header's trimmed value; undefined when absent or blank. */
export function header(req: InboundRequest, name: string): string | undefined {
  const value = req.headers[name]?.trim();
  return value ? value : undefined;
}

/** The Content-Type without parameters, lower-cased; '' when absent. */
export function mediaType(req: InboundRequest): string {
  return (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

export const isForm = (req: InboundRequest): boolean => mediaType(req) === 'application/x-www-form-urlencoded';

export function isJson(req: InboundRequest): boolean {
  const type = mediaType(req);
  return type === '' || type === 'application/json' || type === 'text/json' || type.endsWith('+json');
}

export function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseJson(req: InboundRequest): Parsed<unknown> {
  if (!isJson(req)) return badRequest('expected a JSON body (Content-Type application/json)');
  try {
    return { ok: true, value: JSON.parse(req.rawBody.toString('utf8')) as unknown };
  } catch {
    return badRequest('body is not valid JSON');
  }
}

export function parseJsonObject(req: InboundRequest): Parsed<Fields> {
  const parsed = parseJson(req);
  if (!parsed.ok) return parsed;
  return isRecord(parsed.value) ? { ok: true, value: parsed.value } : badRequest('body is not a JSON object');
}

/** The form's pairs in body order, decoded (`+` is a space), repeats kept. */
export function parseForm(req: InboundRequest): [string, string][] {
  return [...new URLSearchParams(req.rawBody.toString('utf8'))];
}

/** The value at `path` as text when it is a non-empty string or a finite number. */
export function textAt(value: unknown, ...path: string[]): string | undefined {
  let node = value;
  for (const key of path) node = isRecord(node) ? node[key] : undefined;
  if (typeof node === 'string') return node.length > 0 ? node : undefined;
  return typeof node === 'number' && Number.isFinite(node) ? String(node) : undefined;
}
