/**
 * Secrets the embedded default generates for itself (the encryption key, the development JWT
 * secret): created once under DATA_DIR with mode 0600, then read back on every start.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function readOrCreateSecretFile(
  dataDir: string,
  name: string,
  bytes: number,
  onCreate: (file: string) => void,
): Promise<string> {
  const file = path.join(dataDir, name);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const value = randomBytes(bytes).toString('base64');
  try {
    // 'wx' fails when another process created the file first; then theirs is read back.
    await writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
    onCreate(file);
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readFile(file, 'utf8')).trim();
  }
}
