/**
 * The job queues' depth and age, read from pg-boss's job table in one statement per scrape.
 * A job is `ready` when it could run now (created or retrying, its start time passed),
 * `scheduled` when it waits for a later start (a delivery's next retry), `active` while a worker
 * holds it. The age is how long the oldest ready job has been waiting since it could have run:
 * a growing value means the workers do not keep up.
 */
import type PgBoss from 'pg-boss';

export interface QueueStats {
  queue: string;
  ready: number;
  scheduled: number;
  active: number;
  oldestReadySeconds: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** pg-boss's states are an ordered enum: created < retry < active < completed < cancelled < failed. */
function statsQuery(schema: string): string {
  if (!IDENTIFIER.test(schema)) throw new Error(`unexpected pg-boss schema name "${schema}"`);
  return `SELECT name,
       count(*) FILTER (WHERE state < 'active' AND start_after <= now())::int AS ready,
       count(*) FILTER (WHERE state < 'active' AND start_after > now())::int AS scheduled,
       count(*) FILTER (WHERE state = 'active')::int AS active,
       coalesce(extract(epoch FROM now() - min(start_after) FILTER (WHERE state < 'active' AND start_after <= now())), 0)::float8 AS oldest
  FROM "${schema}".job
 WHERE state <= 'active'
 GROUP BY name`;
}

/** Stats of every queue that has unfinished jobs, and zeros for the `known` queues that have none. */
export async function readQueueStats(db: PgBoss.Db, known: string[], schema = 'pgboss'): Promise<QueueStats[]> {
  const { rows } = await db.executeSql(statsQuery(schema), []);
  const stats = new Map<string, QueueStats>(
    known.map((queue) => [queue, { queue, ready: 0, scheduled: 0, active: 0, oldestReadySeconds: 0 }]),
  );
  for (const row of rows as { name: string; ready: number; scheduled: number; active: number; oldest: number }[]) {
    stats.set(row.name, {
      queue: row.name,
      ready: Number(row.ready),
      scheduled: Number(row.scheduled),
      active: Number(row.active),
      oldestReadySeconds: Math.max(0, Number(row.oldest)),
    });
  }
  return [...stats.values()];
}
