/**
 * Provider calls on kept-alive connections: a connection the provider closed while idle fails
 * before any answer, and the call is made again once on a new connection instead of counting as a
 * failed attempt. The fake Twilio here resets every second request of a connection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { addRule, configureActive, gqlAs } from '../helpers/integrations.ts';

const SID = `AC${'4'.repeat(32)}`;
const AUTH = `Basic ${Buffer.from(`${SID}:reset-token`).toString('base64')}`;

let server: TestServer;
let twilio: Server;
let token: string;
let sends = 0;
let resets = 0;

beforeAll(async () => {
  const served = new WeakMap<object, number>();
  twilio = createServer((req, res) => {
    const count = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, count);
    const isSend = req.method === 'POST' && req.url === `/2010-04-01/Accounts/${SID}/Messages.json`;
    if (isSend && count > 1) {
      resets++;
      req.socket.destroy(); // the provider closed the idle connection: a reset, no answer
      return;
    }
    req.resume();
    req.on('end', () => {
      if (req.headers.authorization !== AUTH) return res.writeHead(401).end('{}');
      if (!isSend) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sid: SID }));
      sends++;
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sid: `SM${sends}`, status: 'queued' }));
    });
  });
  await new Promise<void>((resolve) => twilio.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(twilio.address() as AddressInfo).port}`;
  server = await startTestServer({ TWILIO_API_BASE_URL: url, OPERATION_RETRY_SCHEDULE: '10s' });
  token = await server.token();
  const { id } = await configureActive(gqlAs(server, { token }), 'twilio', {
    account_sid: SID,
    auth_token: 'reset-token',
    from_number: '+15550000001',
  });
  await addRule(gqlAs(server, { token }), { capability: 'send_sms', integrationId: id });
}, 60_000);

afterAll(async () => {
  await server?.close();
  twilio?.closeAllConnections();
  await new Promise((resolve) => twilio?.close(resolve));
});

it('sends again on a new connection when a kept-alive one was reset before answering', async () => {
  const send = async (to: string) => {
    const res = await server.gql(
      `mutation($to: String!) { sendSms(input: { to: $to, body: "hi", waitSeconds: 5 }) {
        ... on SendSmsPayload { operation { status attemptCount attempts { outcome } } } } }`,
      { to },
      { token },
    );
    return res.data.sendSms.operation;
  };
  for (const to of ['+15551110001', '+15551110002', '+15551110003']) {
    expect(await send(to)).toEqual({ status: 'SUCCEEDED', attemptCount: 1, attempts: [{ outcome: 'SUCCEEDED' }] });
  }
  expect(sends).toBe(3);
  expect(resets).toBeGreaterThan(0);
});
