/**
 * Request bodies read with a size limit: past it the request is refused (413), not buffered.
 * The rest of a refused body is read and dropped (up to DISCARD_LIMIT_BYTES, then the
 * connection is cut), so the client, still uploading, can read the 413 instead of meeting a
 * reset connection.
 */
import type { IncomingMessage } from 'node:http';

export const MAX_BODY_BYTES = 1024 * 1024;
const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request bodies are limited to ${limit} bytes`);
  }
}

/**
 * A larger limit some requests may reach: `admit()` is asked once a body passes the normal limit
 * (false refuses it there), and `release()` is called when a body it admitted is done.
 */
export interface LargerLimit {
  limit: number;
  /** A body admitted to it must have arrived within this time, else the connection is cut. */
  readWithinMs: number;
  admit(): boolean;
  release(): void;
}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES, larger?: LargerLimit): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    let admitted = false;
    let max = limit;
    let deadline: NodeJS.Timeout | undefined;
    const release = () => {
      clearTimeout(deadline);
      if (admitted) larger?.release();
      admitted = false;
    };
    const refuse = () => {
      refused = true;
      chunks.length = 0;
      release();
      reject(new BodyTooLarge(limit));
    };
    /** Whether `bytes` fit, admitting the body to the larger limit when they need it and may. */
    const fits = (bytes: number) => {
      if (bytes <= max) return true;
      if (!larger || admitted || bytes > larger.limit || !larger.admit()) return false;
      admitted = true;
      max = larger.limit;
      deadline = setTimeout(() => {
        release();
        refused = true;
        chunks.length = 0;
        req.destroy();
        reject(new BodyTooLarge(limit));
      }, larger.readWithinMs);
      return true;
    };
    // chunked bodies have no length to check up front; declared ones are refused at once
    if (!fits(Number(req.headers['content-length'] ?? 0))) refuse();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (refused) {
        if (size > max + DISCARD_LIMIT_BYTES) req.destroy();
        return;
      }
      if (!fits(size)) return refuse();
      chunks.push(chunk);
    });
    req.once('end', () => {
      release();
      if (!refused) resolve(Buffer.concat(chunks));
    });
    req.once('error', (err) => {
      release();
      if (!refused) reject(err);
    });
  });
}
