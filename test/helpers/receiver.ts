/** A real TCP webhook receiver on 127.0.0.1 that records every request and answers as told. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (the sender's timeout must fire). */
  hang?: boolean;
}

export interface Receiver {
  url: string;
  /** `127.0.0.1:<port>`, for WEBHOOK_ALLOW_HOSTS. */
  hostPort: string;
  received: Received[];
  answer: (req: Received) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(answer: (req: Received) => Answer = () => ({ status: 200 })): Promise<Receiver> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: Received = { headers: req.headers, body: Buffer.concat(chunks).toString(), path: req.url ?? '/', at: Date.now() };
      receiver.received.push(received);
      const reply = receiver.answer(received);
      if (reply.hang) return;
      res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    hostPort: `127.0.0.1:${port}`,
    received: [],
    answer,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return receiver;
}
