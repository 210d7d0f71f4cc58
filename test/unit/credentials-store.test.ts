import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  credentialsAad,
  fromColumns,
  patchCredentials,
  revealCredentials,
  type SealedColumns,
  type StoredCredentials,
  storeCredentials,
  toColumns,
} from '../../src/crypto/credentials.ts';
import { DecryptionError } from '../../src/crypto/envelope.ts';
import { type Keyring, keyringFromKeys } from '../../src/crypto/keyring.ts';
import { stripe } from '../../src/providers/stripe.ts';

const ring = (id = 'k1'): Keyring => keyringFromKeys([{ id, key: randomBytes(32) }]);

const SECRET = 'sk_test_CANARYsecret0123456789abcdef';
const WEBHOOK = 'whsec_CANARYwebhook0123456789';
const PUBLISHABLE = 'pk_test_publicKey0123456789';

const TENANT = 'tenant-a';
const ID = 'int-1';
const AAD = credentialsAad(TENANT, ID);

type Row = { config: StoredCredentials['config']; secretKeys: string[] } & SealedColumns;
const toRow = (s: StoredCredentials): Row => ({ config: s.config, secretKeys: s.secretKeys, ...toColumns(s.sealed) });

function allBytes(s: StoredCredentials): Buffer[] {
  const sealed = s.sealed!;
  return [sealed.ciphertext, sealed.dataKey, sealed.iv, sealed.tag].map((b) => Buffer.from(b));
}

describe('storeCredentials', () => {
  it('splits sensitive values (sealed) from config (clear) per the stripe schema', () => {
    const keyring = ring();
    const stored = storeCredentials(
      keyring,
      stripe.credentialSchema,
      { publishable_key: PUBLISHABLE, secret_key: SECRET, webhook_secret: WEBHOOK },
      AAD,
    );
    expect(stored.config).toEqual({ publishable_key: PUBLISHABLE });
    expect(stored.secretKeys).toEqual(['secret_key', 'webhook_secret']);
    expect(stored.sealed).not.toBeNull();
    expect(stored.sealed!.keyId).toBe('k1');
    expect(JSON.stringify(stored.config)).not.toContain('CANARY');
  });

  it('no plaintext secret is visible in any of the sealed buffers', () => {
    const stored = storeCredentials(
      ring(),
      stripe.credentialSchema,
      { publishable_key: PUBLISHABLE, secret_key: SECRET, webhook_secret: WEBHOOK },
      AAD,
    );
    const needles = [SECRET, WEBHOOK, 'CANARY', '"secret_key"', 'secret_key', 'webhook_secret'];
    for (const buf of allBytes(stored)) {
      for (const needle of needles) {
        expect(buf.includes(Buffer.from(needle, 'utf8'))).toBe(false);
        expect(buf.includes(Buffer.from(needle, 'utf16le'))).toBe(false);
      }
    }
    const columns = toColumns(stored.sealed);
    for (const col of [columns.secretCiphertext, columns.secretDataKey, columns.secretIv, columns.secretTag]) {
      expect(Buffer.from(col!).includes(Buffer.from(SECRET))).toBe(false);
    }
  });

  it('drops nulls and keys outside the schema; no sensitive values → nothing sealed', () => {
    const stored = storeCredentials(
      ring(),
      stripe.credentialSchema,
      { publishable_key: PUBLISHABLE, webhook_secret: null, not_a_field: 'x' },
      AAD,
    );
    expect(stored).toEqual({ config: { publishable_key: PUBLISHABLE }, secretKeys: [], sealed: null });
    expect(toColumns(stored.sealed)).toEqual({
      secretKeyId: null,
      secretDataKey: null,
      secretIv: null,
      secretTag: null,
      secretCiphertext: null,
    });
  });
});

describe('revealCredentials', () => {
  it('round-trips config and secrets through the stored columns', () => {
    const keyring = ring();
    const values = { publishable_key: PUBLISHABLE, secret_key: SECRET, webhook_secret: WEBHOOK };
    const row = toRow(storeCredentials(keyring, stripe.credentialSchema, values, AAD));
    expect(revealCredentials(keyring, row, AAD)).toEqual(values);
  });

  it('a row without sealed columns reveals its config only', () => {
    const row = toRow(storeCredentials(ring(), stripe.credentialSchema, { publishable_key: PUBLISHABLE }, AAD));
    expect(revealCredentials(ring('other'), row, AAD)).toEqual({ publishable_key: PUBLISHABLE });
  });

  it("a row's sealed columns copied onto another integration fail to reveal", () => {
    const keyring = ring();
    const a = toRow(storeCredentials(keyring, stripe.credentialSchema, { publishable_key: PUBLISHABLE, secret_key: SECRET }, AAD));
    const b = toRow(
      storeCredentials(
        keyring,
        stripe.credentialSchema,
        { publishable_key: PUBLISHABLE, secret_key: 'sk_test_other' },
        credentialsAad(TENANT, 'int-2'),
      ),
    );
    const copied: Row = { ...b, ...toColumns(fromColumns(a)) };
    expect(() => revealCredentials(keyring, copied, credentialsAad(TENANT, 'int-2'))).toThrow(DecryptionError);
    // same id in another tenant
    expect(() => revealCredentials(keyring, a, credentialsAad('tenant-b', ID))).toThrow(DecryptionError);
    // the originals still reveal
    expect(revealCredentials(keyring, a, AAD).secret_key).toBe(SECRET);
    expect(revealCredentials(keyring, b, credentialsAad(TENANT, 'int-2')).secret_key).toBe('sk_test_other');
  });

  it('a keyring without the key fails', () => {
    const row = toRow(storeCredentials(ring(), stripe.credentialSchema, { publishable_key: PUBLISHABLE, secret_key: SECRET }, AAD));
    expect(() => revealCredentials(ring(), row, AAD)).toThrow(DecryptionError);
  });
});

describe('patchCredentials', () => {
  const initial = (keyring: Keyring) =>
    toRow(
      storeCredentials(
        keyring,
        stripe.credentialSchema,
        { publishable_key: PUBLISHABLE, secret_key: SECRET, webhook_secret: WEBHOOK },
        AAD,
      ),
    );

  it('a non-sensitive patch keeps the sealed columns untouched and never opens them', () => {
    const keyring = ring();
    const row = initial(keyring);
    const before = toColumns(fromColumns(row));
    const lacking = ring('k-other'); // cannot open k1
    const patched = patchCredentials(lacking, stripe.credentialSchema, row, { publishable_key: 'pk_live_new123' }, AAD);

    expect(patched.config).toEqual({ publishable_key: 'pk_live_new123' });
    expect(patched.secretKeys).toEqual(['secret_key', 'webhook_secret']);
    expect(patched.changedKeys).toEqual(['publishable_key']);
    expect(toColumns(patched.sealed)).toEqual(before);
    expect(patched.sealed!.keyId).toBe('k1');
    // and the result still reveals with the original keyring
    expect(revealCredentials(keyring, toRow(patched), AAD)).toEqual({
      publishable_key: 'pk_live_new123',
      secret_key: SECRET,
      webhook_secret: WEBHOOK,
    });
  });

  it('a sensitive patch re-seals under a new data key and merges by key', () => {
    const keyring = ring();
    const row = initial(keyring);
    const patched = patchCredentials(keyring, stripe.credentialSchema, row, { secret_key: 'sk_live_rotated999' }, AAD);

    expect(patched.changedKeys).toEqual(['secret_key']);
    expect(patched.config).toEqual({ publishable_key: PUBLISHABLE });
    expect(patched.secretKeys).toEqual(['secret_key', 'webhook_secret']);
    const cols = toColumns(patched.sealed);
    expect(Buffer.from(cols.secretDataKey!).equals(Buffer.from(row.secretDataKey!))).toBe(false);
    expect(Buffer.from(cols.secretIv!).equals(Buffer.from(row.secretIv!))).toBe(false);
    expect(Buffer.from(cols.secretCiphertext!).includes(Buffer.from('sk_live_rotated999'))).toBe(false);
    expect(revealCredentials(keyring, toRow(patched), AAD)).toEqual({
      publishable_key: PUBLISHABLE,
      secret_key: 'sk_live_rotated999',
      webhook_secret: WEBHOOK,
    });
  });

  it('a sensitive patch needs the key that sealed the current secrets', () => {
    const row = initial(ring());
    expect(() => patchCredentials(ring(), stripe.credentialSchema, row, { secret_key: 'sk_test_x' }, AAD)).toThrow(DecryptionError);
  });

  it('a sensitive patch re-seals under the keyring’s current KEK', () => {
    const old = { id: 'old', key: randomBytes(32) };
    const row = initial(keyringFromKeys([old]));
    const rotated = keyringFromKeys([{ id: 'new', key: randomBytes(32) }, old]);
    const patched = patchCredentials(rotated, stripe.credentialSchema, row, { webhook_secret: 'whsec_next' }, AAD);
    expect(patched.sealed!.keyId).toBe('new');
    expect(revealCredentials(keyringFromKeys([rotated.current]), toRow(patched), AAD).webhook_secret).toBe('whsec_next');
  });

  it('null removes an optional sensitive key', () => {
    const keyring = ring();
    const patched = patchCredentials(keyring, stripe.credentialSchema, initial(keyring), { webhook_secret: null }, AAD);
    expect(patched.changedKeys).toEqual(['webhook_secret']);
    expect(patched.secretKeys).toEqual(['secret_key']);
    expect(revealCredentials(keyring, toRow(patched), AAD)).toEqual({ publishable_key: PUBLISHABLE, secret_key: SECRET });
  });

  it('null on a key that is not set changes nothing', () => {
    const keyring = ring();
    const row = toRow(storeCredentials(keyring, stripe.credentialSchema, { publishable_key: PUBLISHABLE, secret_key: SECRET }, AAD));
    const patched = patchCredentials(keyring, stripe.credentialSchema, row, { webhook_secret: null }, AAD);
    expect(patched.changedKeys).toEqual([]);
    expect(patched.secretKeys).toEqual(['secret_key']);
    expect(revealCredentials(keyring, toRow(patched), AAD)).toEqual({ publishable_key: PUBLISHABLE, secret_key: SECRET });
  });

  it('removing the last secret leaves nothing sealed', () => {
    const keyring = ring();
    const row = toRow(storeCredentials(keyring, stripe.credentialSchema, { publishable_key: PUBLISHABLE, webhook_secret: WEBHOOK }, AAD));
    const patched = patchCredentials(keyring, stripe.credentialSchema, row, { webhook_secret: null }, AAD);
    expect(patched.sealed).toBeNull();
    expect(patched.secretKeys).toEqual([]);
  });

  it('changedKeys lists exactly the keys whose value changed', () => {
    const keyring = ring();
    const patched = patchCredentials(
      keyring,
      stripe.credentialSchema,
      initial(keyring),
      { publishable_key: PUBLISHABLE, secret_key: SECRET, webhook_secret: 'whsec_changed' },
      AAD,
    );
    expect(patched.changedKeys).toEqual(['webhook_secret']);

    const none = patchCredentials(keyring, stripe.credentialSchema, initial(keyring), { publishable_key: PUBLISHABLE }, AAD);
    expect(none.changedKeys).toEqual([]);

    const both = patchCredentials(
      keyring,
      stripe.credentialSchema,
      initial(keyring),
      { publishable_key: 'pk_live_b', secret_key: 'sk_live_b' },
      AAD,
    );
    expect([...both.changedKeys].sort()).toEqual(['publishable_key', 'secret_key']);
    expect(revealCredentials(keyring, toRow(both), AAD)).toEqual({
      publishable_key: 'pk_live_b',
      secret_key: 'sk_live_b',
      webhook_secret: WEBHOOK,
    });
  });

  it('a sensitive patch under another integration’s aad fails (no cross-row merge)', () => {
    const keyring = ring();
    const row = initial(keyring);
    expect(() =>
      patchCredentials(keyring, stripe.credentialSchema, row, { secret_key: 'sk_test_x' }, credentialsAad(TENANT, 'int-2')),
    ).toThrow(DecryptionError);
  });
});
