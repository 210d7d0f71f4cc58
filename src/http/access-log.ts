/**
 * One JSON line per GraphQL request when it ends: request id (the client's x-request-id when it
 * is sane, else a new one, echoed back), tenant, operation, status and duration. Never headers,
 * variables or bodies. The route starts the line; Yoga fills in what it learns.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../log.ts';

/** What the access log says of a request, filled in as Yoga learns it. */
export interface RequestInfo {
  requestId?: string;
  tenantId?: string;
  operationName?: string;
}

export interface AccessLog {
  /** Starts the request's line (written when the response finishes) and sets x-request-id. */
  begin(req: IncomingMessage, res: ServerResponse): void;
  /** The request's line so far, for Yoga's context and the audit plugin to fill in or read. */
  info(req: IncomingMessage): RequestInfo | undefined;
  /** Records the operation's name when it executes. */
  plugin: Plugin<{ req: IncomingMessage }>;
}

export function createAccessLog(logger: Logger): AccessLog {
  const requestInfo = new WeakMap<IncomingMessage, RequestInfo>();
  // its fields are fixed and none is a redaction path: the line skips pino's redaction pass
  // (a field added to it is written as it is)
  const accessLogger = logger.child({}, { redact: [] });
  return {
    begin(req, res) {
      const given = req.headers['x-request-id'];
      const requestId = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
      res.setHeader('x-request-id', requestId);
      const info: RequestInfo = { requestId };
      requestInfo.set(req, info);
      const started = performance.now();
      res.once('finish', () => {
        accessLogger.info(
          { method: req.method, status: res.statusCode, durationMs: Math.round(performance.now() - started), ...info },
          'graphql request',
        );
      });
    },
    info: (req) => requestInfo.get(req),
    plugin: {
      onExecute({ args }) {
        const info = requestInfo.get(args.contextValue.req);
        if (info) info.operationName = args.operationName ?? getOperationAST(args.document)?.name?.value ?? 'anonymous';
      },
    },
  };
}
