/**
 * An EventTarget for Yoga's pub/sub that spans every instance on one PostgreSQL database:
 * `dispatchEvent` sends the event with NOTIFY, and a dedicated LISTEN connection delivers every
 * instance's events (its own included) to this process's subscribers. Payloads are small JSON
 * (ids, never data), well under NOTIFY's 8000-byte limit.
 */
import pg from 'pg';
import type { Logger } from '../log.ts';

const CHANNEL = 'icp_pubsub';

export interface PgEventTarget extends EventTarget {
  close(): Promise<void>;
}

export async function createPgEventTarget(connectionString: string, logger: Logger): Promise<PgEventTarget> {
  const local = new EventTarget();
  const listener = new pg.Client({ connectionString, application_name: 'icp-pubsub-listen' });
  const sender = new pg.Pool({ connectionString, max: 2, application_name: 'icp-pubsub-notify' });
  listener.on('notification', (message) => {
    if (message.channel !== CHANNEL || !message.payload) return;
    try {
      const { topic, data } = JSON.parse(message.payload) as { topic: string; data: unknown };
      local.dispatchEvent(new CustomEvent(topic, { detail: data }));
    } catch (err) {
      logger.warn({ err }, 'ignored a malformed pub/sub notification');
    }
  });
  listener.on('error', (err) => logger.error({ err }, 'pub/sub LISTEN connection failed'));
  await listener.connect();
  await listener.query(`LISTEN ${CHANNEL}`);

  const target = {
    addEventListener: local.addEventListener.bind(local),
    removeEventListener: local.removeEventListener.bind(local),
    dispatchEvent(event: Event) {
      const payload = JSON.stringify({ topic: event.type, data: (event as CustomEvent).detail });
      sender.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]).catch((err: unknown) => logger.error({ err }, 'pub/sub NOTIFY failed'));
      return true;
    },
    async close() {
      await listener.end().catch(() => {});
      await sender.end().catch(() => {});
    },
  };
  return target as PgEventTarget;
}
