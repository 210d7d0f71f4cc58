/**
 * `npm run keys:rotate`: re-wraps every stored data key under the first key of ENCRYPTION_KEYS
 * (see src/crypto/rotate.ts). Put the new key first, keep the old ones after it, run this, then
 * drop the old ones. Resumable: run it again after an interruption.
 */
import { loadConfig } from '../config.ts';
import { loadOrCreateLocalKeyring, parseKeyring } from '../crypto/keyring.ts';
import { rotateKeys } from '../crypto/rotate.ts';
import { openDatabase } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../log.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
try {
  await migrate(database, logger);
  const keyring = parseKeyring(config.encryption) ?? (await loadOrCreateLocalKeyring(config.dataDir, () => {}));
  logger.info({ currentKey: keyring.current.id, keys: [...keyring.byId.keys()] }, 'rotating data keys to the current key');
  const done = await rotateKeys(database.prisma, keyring, (p) => logger.info(p, 'key rotation progress'));
  logger.info(done, 'every data key is wrapped by the current key: the other keys of ENCRYPTION_KEYS can be dropped');
} finally {
  await database.close();
}
