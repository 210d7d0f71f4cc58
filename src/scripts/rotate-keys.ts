/**
 * `npm run keys:rotate`: re-wraps every stored data key under the first key of ENCRYPTION_KEYS
 * (see src/crypto/rotate.ts). Put the new key first, keep the old ones after it, run this, then
 * drop the old ones. Resumable: run it again after an interruption.
 */
import { KeyCheckError } from '../crypto/key-check.ts';
import { loadOrCreateLocalKeyring, parseKeyring } from '../crypto/keyring.ts';
import { rotateKeys } from '../crypto/rotate.ts';
import { openDatabase } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { RoleSeparationError } from '../db/owner.ts';
import { createLogger, exitOnOperatorError } from '../log.ts';
import { loadConfigOrExit } from '../process.ts';
import { DATABASE_ENV, parseCommandLine } from './cli.ts';

parseCommandLine({
  usage: 'npm run keys:rotate',
  summary:
    'Re-wraps every stored data key under the first key of ENCRYPTION_KEYS (migrating first). Put the new key first, keep the old ones after it, run this, then drop the old ones; resumable.',
  env: {
    ENCRYPTION_KEYS: 'keyring id:base64,…: the first key wraps, all unwrap; unset: the key generated in DATA_DIR',
    ENCRYPTION_KEY: 'a single key-encryption key (base64, 32 bytes), when ENCRYPTION_KEYS is unset',
    ...DATABASE_ENV,
    LOG_LEVEL: 'pino level of its log lines (default info)',
  },
});

// a maintenance script: it authenticates no caller, so no AUTH_* setting is asked for
const config = loadConfigOrExit(process.env, { runsService: false });
const logger = createLogger(config.logLevel);
const database = await openDatabase({
  databaseUrl: config.databaseUrl,
  migrationUrl: config.databaseMigrationUrl,
  dataDir: config.dataDir,
  logger,
  connectTimeoutMs: config.databaseConnectTimeoutMs,
}).catch((err: unknown) => exitOnOperatorError(logger, err));
try {
  await migrate(database, logger);
  const keyring = parseKeyring(config.encryption) ?? (await loadOrCreateLocalKeyring(config.dataDir, () => {}));
  logger.info({ currentKey: keyring.current.id, keys: [...keyring.byId.keys()] }, 'rotating data keys to the current key');
  // every tenant's rows: the schema's owner's task (src/db/owner.ts)
  const done = await database.asOwner((owner) => rotateKeys(owner.prisma, keyring, (p) => logger.info(p, 'key rotation progress')));
  logger.info(done, 'every data key is wrapped by the current key: the other keys of ENCRYPTION_KEYS can be dropped');
} catch (err) {
  // a keyring that cannot read what is stored: its message names the variable and key ids, no key;
  // or a connection that is not the tables' owner's, which would see (and re-wrap) no row at all
  if (!(err instanceof KeyCheckError || err instanceof RoleSeparationError)) throw err;
  logger.error(err.message);
  process.exitCode = 1;
} finally {
  await database.close();
}
// done: a migration run above leaves the schema engine's 10 s timer, which would hold the process
process.exit(process.exitCode ?? 0);
