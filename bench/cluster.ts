/**
 * A fresh database and service role on any PostgreSQL server, so a bench never writes into a
 * database it did not create. (The throwaway cluster itself: test/helpers/pg-cluster.ts.)
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Where a bench on the server `databaseUrl` names writes: a new database owned by a new
 * service role (the service refuses a superuser: row-level security would not apply to it),
 * both dropped by `drop()`. When the URL's role may not create roles and databases, the bench
 * uses the URL's own database as it is (its tenants are named per run).
 */
export async function benchDatabase(databaseUrl: string): Promise<{ url: string; created: boolean; drop(): Promise<void> }> {
  const suffix = randomBytes(6).toString('hex');
  const name = `icp_bench_${suffix}`;
  const role = `icp_bench_${suffix}`;
  const password = randomBytes(16).toString('hex');
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${password}'`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    await admin.end();
    if (code !== '42501') throw err; // insufficient_privilege: not an administrator's URL
    return { url: databaseUrl, created: false, drop: async () => {} };
  }
  try {
    // a role that is not a superuser may only give a database to a role it is a member of
    await admin.query(`GRANT ${role} TO CURRENT_USER`);
    await admin.query(`CREATE DATABASE ${name} OWNER ${role}`);
  } catch (err) {
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin.end();
    throw err;
  }
  await admin.end();
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  url.username = role;
  url.password = password;
  return {
    url: url.toString(),
    created: true,
    drop: async () => {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${role}`);
      } finally {
        await c.end();
      }
    },
  };
}
