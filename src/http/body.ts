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

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const refuse = () => {
      refused = true;
      chunks.length = 0;
      reject(new BodyTooLarge(limit));
    };
    // chunked bodies have no length to check up front; declared ones are refused at once
    if (Number(req.headers['content-length'] ?? 0) > limit) refuse();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (refused) {
        if (size > limit + DISCARD_LIMIT_BYTES) req.destroy();
        return;
      }
      if (size > limit) return refuse();
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (!refused) resolve(Buffer.concat(chunks));
    });
    req.once('error', (err) => {
      if (!refused) reject(err);
    });
  });
}
