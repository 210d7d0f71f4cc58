/**
 * An EventTarget for Yoga's pub/sub across every instance on one PostgreSQL database: NOTIFY sends,
 * and one LISTEN connection delivers every instance's events (its own included) to this process's
 * subscribers. Payloads are small JSON (ids, never data). A lost LISTEN connection is made again
 * with a growing delay; a NOTIFY that fails meanwhile is logged and dropped (queries still show
 * the truth).
 */
import pg from 'pg';
import type { Logger } from '../log.ts';
import { unboundedEventTarget } from './pubsub.ts';

export const CHANNEL = 'icp_pubsub';

/**
 * Dispatched to this process's listeners (no payload) when the LISTEN connection is lost, and
 * when it listens again: what was announced in between went unheard.
 */
export const LISTEN_LOST = 'listen:lost';
export const LISTEN_RESTORED = 'listen:restored';
const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 5000];
/**
 * A connection that died without a word (a partition, a frozen server) looks like a quiet
 * channel: it is asked `SELECT 1` this often and given up when no answer comes in time (TCP
 * keep-alive would take the system's 11 minutes).
 */
const HEARTBEAT_MS = 10_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;

/**
 * Dispatches one notification of the channel (`{ topic, data }` JSON, from `dispatchEvent` below
 * or from a trigger) to `target`'s listeners as a CustomEvent named by its topic.
 */
export function dispatchNotification(target: EventTarget, payload: string, logger: Logger): void {
  try {
    const { topic, data } = JSON.parse(payload) as { topic: string; data: unknown };
    target.dispatchEvent(new CustomEvent(topic, { detail: data }));
  } catch (err) {
    logger.warn({ err }, 'ignored a malformed pub/sub notification');
  }
}

export interface PgEventTarget extends EventTarget {
  close(): Promise<void>;
}

export async function createPgEventTarget(connectionString: string, logger: Logger): Promise<PgEventTarget> {
  const local = unboundedEventTarget();
  const sender = new pg.Pool({ connectionString, max: 2, application_name: 'icp-pubsub-notify' });
  // an idle pooled connection the server drops reports here; without a listener it would crash the process
  sender.on('error', (err) => logger.warn({ err }, 'pub/sub NOTIFY connection lost'));
  let listener: pg.Client | undefined;
  let closed = false;
  let failures = 0;

  function deliver(message: pg.Notification) {
    if (message.channel === CHANNEL && message.payload) dispatchNotification(local, message.payload, logger);
  }

  /** Connects and listens; a first attempt that fails throws (the app does not start), a later one tries again. */
  async function listen(first = false): Promise<void> {
    const client = new pg.Client({ connectionString, application_name: 'icp-pubsub-listen', query_timeout: HEARTBEAT_TIMEOUT_MS });
    client.on('notification', deliver);
    let lost = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const reconnect = (err?: Error) => {
      clearInterval(heartbeat);
      if (lost || closed) return;
      lost = true;
      if (err) logger.error({ err }, 'pub/sub LISTEN connection lost; reconnecting');
      local.dispatchEvent(new Event(LISTEN_LOST));
      client.end().catch(() => {});
      setTimeout(() => void listen(), RECONNECT_DELAYS_MS[Math.min(failures++, RECONNECT_DELAYS_MS.length - 1)]).unref();
    };
    client.on('error', reconnect);
    client.on('end', () => reconnect());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      if (closed) return void client.end().catch(() => {});
      listener = client;
      heartbeat = setInterval(() => void client.query('SELECT 1').catch((err: Error) => reconnect(err)), HEARTBEAT_MS).unref();
      if (!first) {
        logger.info('pub/sub LISTEN connection restored');
        local.dispatchEvent(new Event(LISTEN_RESTORED));
      }
      failures = 0;
    } catch (err) {
      if (!first) return reconnect(err as Error);
      lost = true;
      client.end().catch(() => {});
      throw err;
    }
  }

  await listen(true).catch(async (err: unknown) => {
    await sender.end().catch(() => {});
    throw err;
  });

  /**
   * The events dispatched in one turn of the event loop go out in one statement (a delivery worker
   * publishes one per attempt). PostgreSQL delivers them in order, and folds identical payloads
   * of one statement into one notification, which for these ids-only events loses nothing.
   */
  let pending: string[] = [];
  function notify(): Promise<unknown> {
    const payloads = pending;
    pending = [];
    if (!payloads.length) return Promise.resolve();
    return sender
      .query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [CHANNEL, payloads])
      .catch((err: unknown) => logger.error({ err, events: payloads.length }, 'pub/sub NOTIFY failed'));
  }

  const target = {
    addEventListener: local.addEventListener.bind(local),
    removeEventListener: local.removeEventListener.bind(local),
    dispatchEvent(event: Event) {
      pending.push(JSON.stringify({ topic: event.type, data: (event as CustomEvent).detail }));
      if (pending.length === 1) setImmediate(() => void notify());
      return true;
    },
    async close() {
      closed = true;
      await notify();
      await listener?.end().catch(() => {});
      await sender.end().catch(() => {});
    },
  };
  return target as PgEventTarget;
}
