/**
 * The process-wide services every use case, worker and resolver shares. A neutral home: use cases
 * take `Services` from here, never from the GraphQL context (src/context.ts).
 */
import type { Viewer } from './auth/viewer.ts';
import type { Config } from './config.ts';
import type { Keyring } from './crypto/keyring.ts';
import type { DecryptionAlarm } from './crypto/unreadable.ts';
import type { RawTransactions } from './db/raw-transaction.ts';
import type { RowReader } from './db/row-reader.ts';
import type { TenantDb } from './db/tenant.ts';
import type { Outbox } from './events/outbox.ts';
import type { PubSub } from './events/pubsub.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import type { JobQueue } from './jobs/queue.ts';
import type { Logger } from './log.ts';
import type { RoutingTable } from './routing/table.ts';

export interface Services {
  config: Config;
  /** The origin providers and browsers reach this server at: PUBLIC_URL, or the listening address. */
  publicUrl: string;
  logger: Logger;
  /** Unscoped: for authentication, workers and migrations, never for request data. */
  prisma: PrismaClient;
  /** Reads without Prisma's client, for the hottest pages (src/db/row-reader.ts). */
  reader: RowReader;
  /** Row-security transactions of raw statements, for the hottest writes (src/db/raw-transaction.ts). */
  transactions: RawTransactions;
  keyring: Keyring;
  /** A sealed record that did not open at run time: counted and logged (src/crypto/unreadable.ts). */
  decryptionFailed: DecryptionAlarm;
  queue: JobQueue;
  outbox: Outbox;
  pubsub: PubSub;
  /** Each tenant's rules and their integrations by capability, kept while unchanged (src/routing/table.ts). */
  routes: RoutingTable;
}

/** What a use case runs as: the caller, the caller's tenant-scoped data path, and the services. */
export interface RequestScope {
  viewer: Viewer;
  db: TenantDb;
  services: Services;
}
