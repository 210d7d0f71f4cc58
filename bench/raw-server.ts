/**
 * The ceiling of `bench/requests.ts`: a bare `node:http` server in its own process that
 * reads each request body and answers about 200 bytes of JSON, the least any Node HTTP service
 * can do per request on this machine. Same IPC protocol as `bench/server.ts`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Message } from './server.ts';

if (!process.send) {
  console.error('bench/raw-server.ts is started by bench/requests.ts (it needs an IPC channel)');
  process.exit(2);
}
const send = (message: Message) => process.send!(message);

const body = JSON.stringify({
  data: {
    __typename: 'Query',
    viewer: { tenantId: 'bench-tenant', actorId: 'bench-user', scopes: ['integrations:read', 'integrations:write', 'webhooks:read'] },
    padding: 'x'.repeat(40),
  },
});
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

function stop() {
  server.closeAllConnections();
  server.close(() => process.exit(0));
}
process.on('message', (message: { type?: string }) => {
  if (message.type === 'stats') {
    const cpu = process.cpuUsage();
    send({ type: 'stats', statements: 0, transactionStatements: 0, rss: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system });
  } else if (message.type === 'stop') {
    stop();
  }
});
process.on('disconnect', stop);
send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, database: 'none' });
