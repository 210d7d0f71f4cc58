/**
 * Two roles on a PostgreSQL server: DATABASE_MIGRATION_URL's owns the schema (migrations, the
 * start-up key check, header sealing, key rotation), DATABASE_URL's only reads and writes rows, so
 * row-level security binds it without exception. After migrating, the owner grants the service's
 * role what it needs, and start-up refuses a role that could do more; with one role a warning says
 * what is lost. The model and its reasons: docs/security-model.md ("Two roles on PostgreSQL").
 */
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaClient } from '../generated/prisma/client.ts';
import { PostgresAdapterFactory } from './postgres-adapter.ts';

export interface OwnerConnection {
  prisma: PrismaClient;
  adapter: SqlMigrationAwareDriverAdapterFactory;
}

/**
 * A connection as the owner, with `search_path` set to `public` alone: no `"$user"` schema
 * (named like the owner role, made by whoever could) can shadow what the owner's statements name.
 */
export async function withOwnerConnection<T>(migrationUrl: string, fn: (owner: OwnerConnection) => Promise<T>): Promise<T> {
  const adapter = new PostgresAdapterFactory({ connectionString: migrationUrl, max: 2, options: '-c search_path=public' });
  const prisma = new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 60_000 } });
  try {
    return await fn({ prisma, adapter });
  } finally {
    await prisma.$disconnect();
  }
}

export class RoleSeparationError extends Error {}

/** The schema pg-boss uses (its default; the queue options name no other). */
export const QUEUE_SCHEMA = 'pgboss';

/**
 * The functions the service's role may call (EXECUTE is revoked from PUBLIC where they are made):
 * maintenance that runs as the owner and can do nothing else (operation retention, data retention).
 */
const SERVICE_FUNCTIONS = [
  'icp_purge_operation_payloads(integer, integer)',
  'icp_purge_expired(text, bigint, integer)',
  'icp_create_history_partition(integer, text[])',
  'icp_drop_expired_partition(text, bigint, text)',
  'icp_integration_page(text, text, text[], integer)',
  // not icp_webhook_page, its first version: kept for an instance of the previous release during a rolling
  // upgrade (migration 20261208090000), whose grant from that release stays; this release never calls it,
  // and a later migration drops it without this list having to change
  'icp_webhook_page_v2(text, text, text, text, text[], boolean, integer, integer, text, timestamp, boolean, boolean, boolean, integer, boolean)',
];

/**
 * Throws a RoleSeparationError unless `prisma`'s role is (a member of) the role that owns the
 * application's tables. Nothing to check before the first migration (no tables yet: whoever
 * migrates will own them). `serviceRole`: the DATABASE_URL role's name, when the connection is
 * DATABASE_MIGRATION_URL's (asked only on failure, to say what an earlier single-role deployment
 * left to fix, as checkRolesBeforeMigrating does).
 */
export async function assertActsAsTableOwner(prisma: PrismaClient, serviceRole?: () => Promise<string>): Promise<void> {
  const row = await one<{ me: string; owner: string | null; member: boolean | null }>(
    prisma,
    `SELECT current_user AS me, pg_get_userbyid(c.relowner) AS owner, pg_has_role(current_user, c.relowner, 'MEMBER') AS member
       FROM (SELECT to_regclass('public."Integration"') AS oid) t LEFT JOIN pg_catalog.pg_class c ON c.oid = t.oid`,
  );
  if (row.owner === null || row.member) return;
  if (serviceRole) await checkRolesBeforeMigrating(prisma, await serviceRole());
  throw new RoleSeparationError(
    serviceRole
      ? `DATABASE_MIGRATION_URL connects as "${row.me}", which is not the role that owns the tables ("${row.owner}") nor a member of it: ` +
          `set DATABASE_MIGRATION_URL to connect as "${row.owner}"; refusing to go on`
      : `the tables are owned by the role "${row.owner}", not by the DATABASE_URL role "${row.me}", and DATABASE_MIGRATION_URL is not set: ` +
          `row-level security hides every tenant's rows from maintenance (the start-up key check, sealing webhook header values, key rotation) ` +
          `run as "${row.me}", so it would see none of them. Set DATABASE_MIGRATION_URL to connect as "${row.owner}" (docs/configuration.md → Deploying on PostgreSQL); refusing to go on`,
  );
}

async function one<T>(prisma: PrismaClient, sql: string, ...values: unknown[]): Promise<T> {
  const [row] = await prisma.$queryRawUnsafe<T[]>(sql, ...values);
  return row!;
}

/** What of the schema `serviceRole` owns, or may do as its owner. */
function posture(owner: PrismaClient, serviceRole: string) {
  // role names compared as names: `$1::regrole` would parse them as identifiers (folding case)
  return one<{ owns: string | null; ownsSchemas: string | null; actsAsOwner: boolean; createsInPublic: boolean; createsSchemas: boolean }>(
    owner,
    `SELECT (SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = $1) AS owns,
            (SELECT string_agg(quote_ident(n.nspname), ', ' ORDER BY n.nspname) FROM pg_namespace n
              WHERE pg_get_userbyid(n.nspowner) = $1 AND n.nspname <> $2) AS "ownsSchemas",
            pg_has_role($1, current_user, 'MEMBER') AS "actsAsOwner",
            has_schema_privilege($1, 'public', 'CREATE') AS "createsInPublic",
            has_database_privilege($1, current_database(), 'CREATE') AS "createsSchemas"`,
    serviceRole,
    QUEUE_SCHEMA,
  );
}

function separationProblem(serviceRole: string, problems: (string | false | null)[]): RoleSeparationError | undefined {
  const found = problems.filter(Boolean);
  if (!found.length) return undefined;
  return new RoleSeparationError(
    `the DATABASE_URL role "${serviceRole}" must only read and write rows, so that row-level security binds it: ${found.join('; ')}`,
  );
}

/**
 * Run as the owner before migrating: the two URLs name two roles, and the service's role owns
 * nothing yet (a database an earlier single-role deployment made is the service role's until
 * reassigned: the owner could not even read its migrations table).
 */
export async function checkRolesBeforeMigrating(owner: PrismaClient, serviceRole: string): Promise<void> {
  const { me } = await one<{ me: string }>(owner, 'SELECT current_user AS me');
  if (me === serviceRole) {
    throw new RoleSeparationError(
      `DATABASE_MIGRATION_URL connects as "${me}", the role of DATABASE_URL: name the role that owns the schema there, and a role that does not own it in DATABASE_URL`,
    );
  }
  const found = await posture(owner, serviceRole);
  const problem = separationProblem(serviceRole, [
    found.owns &&
      `it owns ${found.owns} (as a superuser: REASSIGN OWNED BY ${await quoted(owner, serviceRole)} TO ${await quoted(owner, me)}, then start again)`,
    found.actsAsOwner &&
      `it is a member of the owner role "${me}" (REVOKE ${await quoted(owner, me)} FROM ${await quoted(owner, serviceRole)})`,
  ]);
  if (problem) throw problem;
}

/**
 * Run as the owner, after migrating: grants `serviceRole` row access, and checks it cannot do
 * more (see the module comment). Idempotent; run at every start, so tables a migration added
 * are granted too. `installQueue` installs pg-boss's schema as the service's role; it is called
 * only while that schema does not exist, with CREATE on the database granted for its duration.
 */
export async function grantServiceRole(owner: PrismaClient, serviceRole: string, installQueue: () => Promise<void>): Promise<void> {
  const { me, db } = await one<{ me: string; db: string }>(owner, 'SELECT current_user AS me, quote_ident(current_database()) AS db');
  const role = await quoted(owner, serviceRole);
  const run = (sql: string) => owner.$executeRawUnsafe(sql);
  await run(`GRANT USAGE ON SCHEMA public TO ${role}`);
  await run(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
  await run(`REVOKE INSERT, UPDATE, DELETE ON public."_prisma_migrations" FROM ${role}`);
  // partitions of history are read and written through their partitioned tables, whose policies
  // apply there; named directly they have row-level security and no policy, and no grant either
  const partitions = await owner.$queryRawUnsafe<{ name: string }[]>(
    `SELECT format('public.%I', c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relispartition AND c.relkind IN ('r', 'p')`,
  );
  if (partitions.length) await run(`REVOKE ALL ON ${partitions.map((p) => p.name).join(', ')} FROM ${role}`);
  await run(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
  for (const fn of SERVICE_FUNCTIONS) await run(`GRANT EXECUTE ON FUNCTION public.${fn} TO ${role}`);

  const queueState = () =>
    one<{ exists: boolean; ownedByService: boolean }>(
      owner,
      `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $2) AS exists,
              EXISTS (SELECT FROM pg_namespace WHERE nspname = $2 AND pg_get_userbyid(nspowner) = $1) AS "ownedByService"`,
      serviceRole,
      QUEUE_SCHEMA,
    );
  let queue = await queueState();
  if (!queue.exists) {
    // pg-boss creates its schema itself (CREATE SCHEMA needs CREATE on the database, even with
    // IF NOT EXISTS), and owns it so that its own migrations can alter its tables later
    await run(`GRANT CREATE ON DATABASE ${db} TO ${role}`);
    try {
      await installQueue();
    } finally {
      await run(`REVOKE CREATE ON DATABASE ${db} FROM ${role}`);
    }
    queue = await queueState();
  }
  // never left granted, whoever granted it
  await run(`REVOKE CREATE ON DATABASE ${db} FROM ${role}`);
  if (queue.exists && !queue.ownedByService) {
    // made by an earlier single-role deployment (whose role is now the owner): rows only
    await run(`GRANT USAGE ON SCHEMA ${QUEUE_SCHEMA} TO ${role}`);
    await run(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${QUEUE_SCHEMA} TO ${role}`);
    await run(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${QUEUE_SCHEMA} TO ${role}`);
  }

  let found = await posture(owner, serviceRole);
  if (found.createsInPublic) {
    // PostgreSQL before 15 lets every role create in public; the schema's owner can take that back
    await run(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`).catch(() => {});
    await run(`REVOKE CREATE ON SCHEMA public FROM ${role}`).catch(() => {});
    found = await posture(owner, serviceRole);
  }
  const problem = separationProblem(serviceRole, [
    found.owns && `it owns ${found.owns} (as a superuser: REASSIGN OWNED BY ${role} TO ${await quoted(owner, me)}, then start again)`,
    found.actsAsOwner && `it is a member of the owner role "${me}" (REVOKE ${await quoted(owner, me)} FROM ${role})`,
    found.createsInPublic && `it may create objects in schema public (REVOKE CREATE ON SCHEMA public FROM PUBLIC, ${role})`,
    found.createsSchemas &&
      `it may create schemas (it owns the database, or CREATE on it is granted to PUBLIC or a role it is a member of: REVOKE CREATE ON DATABASE ${db} FROM PUBLIC, or make the owner role own the database)`,
    found.ownsSchemas &&
      `it owns the schema${found.ownsSchemas.includes(',') ? 's' : ''} ${found.ownsSchemas} (as a superuser: DROP SCHEMA it, or ALTER SCHEMA … OWNER TO ${await quoted(owner, me)})`,
  ]);
  if (problem) throw problem;
}

async function quoted(prisma: PrismaClient, name: string): Promise<string> {
  return (await one<{ q: string }>(prisma, 'SELECT quote_ident($1) AS q', name)).q;
}
