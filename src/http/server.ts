/** The HTTP server's life: listening on HOST:PORT, the URL it answers at, and a graceful close. */
import type { Server } from 'node:http';
import type { Config } from '../config.ts';

/** `http://host:port`, with an IPv6 host in brackets. */
export function origin(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Listens on HOST:PORT (src/server.ts does this before createApp, to answer readiness early). */
export function listen(server: Server, config: Config): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function listeningUrl(server: Server, config: Config): string {
  const address = server.address();
  return origin(config.host, typeof address === 'object' && address ? address.port : config.port);
}

/** Stops accepting, lets in-flight requests finish until `deadline`, then cuts what is left. */
export async function closeServer(server: Server, deadline: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
  await closed;
  clearTimeout(cut);
}
