/**
 * Webhook static headers at rest: their values (often the receiver's own credential) are sealed
 * like signing secrets, one envelope per webhook bound to its tenant and id, and the `headers`
 * column keeps the names with null values, which is what the API shows. A row that still holds
 * clear values is read as it is until `sealPlaintextHeaders` seals it (at every start, and by
 * `npm run keys:rotate`).
 */
import { open, ownBytes, type Sealed, seal } from '../crypto/envelope.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { cachedOpener } from '../crypto/opened-cache.ts';
import { transactionInRowScope } from '../db/row-security.ts';
import type { PrismaClient, Webhook } from '../generated/prisma/client.ts';

export type StaticHeaders = Record<string, string>;

type HeaderRow = Pick<
  Webhook,
  'id' | 'tenantId' | 'headers' | 'headersKeyId' | 'headersDataKey' | 'headersIv' | 'headersTag' | 'headersCiphertext'
>;

export function webhookHeadersAad(tenantId: string, webhookId: string) {
  return `webhook-headers|${tenantId}|${webhookId}`;
}

/** The columns that store `headers`: names in `headers` (values null), values sealed; no envelope when there are none. */
export function sealHeaders(keyring: Keyring, tenantId: string, webhookId: string, headers: StaticHeaders) {
  const names = Object.fromEntries(Object.keys(headers).map((name) => [name, null]));
  if (!Object.keys(headers).length) {
    return { headers: names, headersKeyId: null, headersDataKey: null, headersIv: null, headersTag: null, headersCiphertext: null };
  }
  const s = seal(keyring, Buffer.from(JSON.stringify(headers)), webhookHeadersAad(tenantId, webhookId));
  return {
    headers: names,
    headersKeyId: s.keyId,
    headersDataKey: ownBytes(s.dataKey),
    headersIv: ownBytes(s.iv),
    headersTag: ownBytes(s.tag),
    headersCiphertext: ownBytes(s.ciphertext),
  };
}

/** The headers' envelope, if they are sealed. */
export function sealedHeaders(row: HeaderRow): Sealed | null {
  const { headersKeyId: keyId, headersDataKey: dataKey, headersIv: iv, headersTag: tag, headersCiphertext: ciphertext } = row;
  return keyId && dataKey && iv && tag && ciphertext ? { keyId, dataKey, iv, tag, ciphertext } : null;
}

function storedObject(row: Pick<Webhook, 'headers'>): Record<string, unknown> {
  const value = row.headers;
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** What reads show: every header's name, with the value null. */
export function headerNames(row: Pick<Webhook, 'headers'>): Record<string, null> {
  return Object.fromEntries(Object.keys(storedObject(row)).map((name) => [name, null]));
}

/** The values a row written before sealing still holds in clear, or null when it holds none. */
export function plaintextHeaders(row: HeaderRow): StaticHeaders | null {
  if (sealedHeaders(row)) return null;
  const entries = Object.entries(storedObject(row)).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
  return entries.length ? Object.fromEntries(entries) : null;
}

type OpenSealed = (sealed: Sealed, context: string) => StaticHeaders;

const decodeHeaders = (plaintext: Buffer) => JSON.parse(plaintext.toString('utf8')) as StaticHeaders;

const openWithKeyring =
  (keyring: Keyring): OpenSealed =>
  (sealed, context) =>
    decodeHeaders(open(keyring, sealed, context));

/** The headers to send: the opened envelope, else the clear values of an older row. Throws DecryptionError. */
export function revealHeaders(keyring: Keyring, row: HeaderRow, openSealed: OpenSealed = openWithKeyring(keyring)): StaticHeaders {
  const sealed = sealedHeaders(row);
  if (sealed) return openSealed(sealed, webhookHeadersAad(row.tenantId, row.id));
  return plaintextHeaders(row) ?? {};
}

/** `revealHeaders` for the delivery worker: each envelope opened once and kept (src/crypto/opened-cache.ts). */
export function headersOpener(keyring: Keyring): (row: HeaderRow) => StaticHeaders {
  const cached: OpenSealed = cachedOpener(keyring, decodeHeaders);
  return (row) => revealHeaders(keyring, row, cached);
}

const BATCH = 100;

/**
 * Seals the header values of every row (every tenant's, deleted ones included) that still holds
 * them in clear; returns how many it sealed. Idempotent and safe beside running instances: a row
 * is only written while it still holds no envelope. Runs under the key-maintenance row-security
 * setting, the one `npm run keys:rotate` uses for the same rows.
 */
export async function sealPlaintextHeaders(prisma: PrismaClient, keyring: Keyring): Promise<number> {
  let sealed = 0;
  let after = '';
  for (;;) {
    const done = await transactionInRowScope(prisma, { maintenance: 'rotate-keys' }, async (tx) => {
      const rows = await tx.webhook.findMany({
        where: { id: { gt: after }, headersKeyId: null, NOT: { headers: { equals: {} } } },
        orderBy: { id: 'asc' },
        take: BATCH,
      });
      for (const row of rows) {
        const clear = plaintextHeaders(row);
        if (!clear) continue;
        const { count } = await tx.webhook.updateMany({
          // unless a change through the API got there first
          where: { id: row.id, headersKeyId: null, headers: { equals: row.headers ?? {} } },
          data: sealHeaders(keyring, row.tenantId, row.id, clear),
        });
        sealed += count;
      }
      after = rows.at(-1)?.id ?? after;
      return rows.length < BATCH;
    });
    if (done) return sealed;
  }
}
