import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DecryptionError, open, rewrap, type Sealed, seal } from '../../src/crypto/envelope.ts';
import { type Kek, KeyringError, keyringFromKeys, loadOrCreateLocalKeyring, parseKeyring } from '../../src/crypto/keyring.ts';

const kek = (id: string): Kek => ({ id, key: randomBytes(32) });
const b64 = (k: Buffer) => k.toString('base64');
const aadFor = (tenant: string, id: string) => `integration-credentials|${tenant}|${id}`;

const PLAINTEXT = 'sk_live_canaryPLAINTEXTvalue1234567890';
const AAD = aadFor('tenant-a', 'row-1');

function flipBit(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[index] = copy[index]! ^ (1 << bit);
  return copy;
}

function expectDecryptionError(fn: () => unknown): DecryptionError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DecryptionError);
  return caught as DecryptionError;
}

describe('seal / open', () => {
  const ring = keyringFromKeys([kek('k1')]);

  it('round-trips the plaintext', () => {
    const sealed = seal(ring, Buffer.from(PLAINTEXT), AAD);
    expect(sealed.keyId).toBe('k1');
    expect(sealed.iv).toHaveLength(12);
    expect(sealed.tag).toHaveLength(16);
    expect(sealed.dataKey).toHaveLength(12 + 16 + 32);
    expect(open(ring, sealed, AAD).toString('utf8')).toBe(PLAINTEXT);
  });

  it('round-trips an empty plaintext and binary data', () => {
    const empty = seal(ring, new Uint8Array(0), AAD);
    expect(open(ring, empty, AAD)).toHaveLength(0);
    const binary = randomBytes(1000);
    expect(Buffer.compare(open(ring, seal(ring, binary, AAD), AAD), binary)).toBe(0);
  });

  it('does not put the plaintext in the ciphertext', () => {
    const sealed = seal(ring, Buffer.from(PLAINTEXT), AAD);
    expect(Buffer.from(sealed.ciphertext).includes(Buffer.from(PLAINTEXT))).toBe(false);
    expect(Buffer.from(sealed.ciphertext).toString('latin1')).not.toContain('canary');
  });

  it('two seals of the same plaintext differ (fresh data key and iv)', () => {
    const a = seal(ring, Buffer.from(PLAINTEXT), AAD);
    const b = seal(ring, Buffer.from(PLAINTEXT), AAD);
    expect(Buffer.from(a.iv).equals(Buffer.from(b.iv))).toBe(false);
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
    expect(Buffer.from(a.tag).equals(Buffer.from(b.tag))).toBe(false);
    expect(Buffer.from(a.dataKey).equals(Buffer.from(b.dataKey))).toBe(false);
    // the wrapped data key's own iv is fresh too
    expect(Buffer.from(a.dataKey.subarray(0, 12)).equals(Buffer.from(b.dataKey.subarray(0, 12)))).toBe(false);
  });

  it('each seal uses a fresh 256-bit data key (unwrapped by hand with the KEK)', () => {
    const k = kek('k1');
    const r = keyringFromKeys([k]);
    // dataKey layout (Sealed): iv (12) | tag (16) | wrapped key (32); wrap aad: dk|<keyId>|<aad>
    const unwrap = (s: Sealed) => {
      const d = Buffer.from(s.dataKey);
      const decipher = createDecipheriv('aes-256-gcm', k.key, d.subarray(0, 12), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(`dk|${s.keyId}|${AAD}`));
      decipher.setAuthTag(d.subarray(12, 28));
      return Buffer.concat([decipher.update(d.subarray(28)), decipher.final()]);
    };
    const a = unwrap(seal(r, Buffer.from(PLAINTEXT), AAD));
    const b = unwrap(seal(r, Buffer.from(PLAINTEXT), AAD));
    expect(a).toHaveLength(32);
    expect(a.equals(b)).toBe(false);
    expect(a.equals(k.key)).toBe(false);
    expect(a.equals(Buffer.alloc(32))).toBe(false);
  });

  describe('tampering fails with DecryptionError', () => {
    const sealed = seal(ring, Buffer.from(PLAINTEXT), AAD);
    const cases: [string, keyof Pick<Sealed, 'ciphertext' | 'tag' | 'iv' | 'dataKey'>, number][] = [
      ['ciphertext (first byte)', 'ciphertext', 0],
      ['ciphertext (last byte)', 'ciphertext', sealed.ciphertext.length - 1],
      ['tag (first byte)', 'tag', 0],
      ['tag (last byte)', 'tag', 15],
      ['iv (first byte)', 'iv', 0],
      ['iv (last byte)', 'iv', 11],
      ['wrapped dataKey: its iv', 'dataKey', 0],
      ['wrapped dataKey: its tag', 'dataKey', 12],
      ['wrapped dataKey: its ciphertext', 'dataKey', 12 + 16],
      ['wrapped dataKey: last byte', 'dataKey', 12 + 16 + 31],
    ];
    it.each(cases)('one bit of %s', (_name, field, index) => {
      for (const bit of [0, 7]) {
        const tampered: Sealed = { ...sealed, [field]: flipBit(sealed[field], index, bit) };
        expectDecryptionError(() => open(ring, tampered, AAD));
      }
      // the untampered record still opens
      expect(open(ring, sealed, AAD).toString()).toBe(PLAINTEXT);
    });
  });

  it('a truncated tag or iv is refused (no shortened-tag forgery)', () => {
    const sealed = seal(ring, Buffer.from(PLAINTEXT), AAD);
    for (const length of [4, 8, 12]) {
      expectDecryptionError(() => open(ring, { ...sealed, tag: sealed.tag.subarray(0, length) }, AAD));
    }
    expectDecryptionError(() => open(ring, { ...sealed, iv: sealed.iv.subarray(0, 8) }, AAD));
  });

  it('a ciphertext swapped between two records (different aad) fails to open', () => {
    const a = seal(ring, Buffer.from('secret-of-A'), aadFor('tenant-a', 'row-1'));
    const b = seal(ring, Buffer.from('secret-of-B'), aadFor('tenant-a', 'row-2'));
    // another record id, same tenant
    expectDecryptionError(() => open(ring, a, aadFor('tenant-a', 'row-2')));
    // another tenant, same record id
    expectDecryptionError(() => open(ring, a, aadFor('tenant-b', 'row-1')));
    // swapping the columns between the two rows
    expectDecryptionError(() => open(ring, b, aadFor('tenant-a', 'row-1')));
    // mixing: A's wrapped key with B's body, opened as either
    const mixed: Sealed = { ...b, dataKey: a.dataKey, keyId: a.keyId };
    expectDecryptionError(() => open(ring, mixed, aadFor('tenant-a', 'row-1')));
    expectDecryptionError(() => open(ring, mixed, aadFor('tenant-a', 'row-2')));
    expect(open(ring, a, aadFor('tenant-a', 'row-1')).toString()).toBe('secret-of-A');
    expect(open(ring, b, aadFor('tenant-a', 'row-2')).toString()).toBe('secret-of-B');
  });

  it('a keyId that is not in the keyring fails', () => {
    const sealed = seal(ring, Buffer.from(PLAINTEXT), AAD);
    const err = expectDecryptionError(() => open(ring, { ...sealed, keyId: 'unknown' }, AAD));
    expect(err.message).toContain('unknown');
    // a different ring that lacks k1
    expectDecryptionError(() => open(keyringFromKeys([kek('k2')]), sealed, AAD));
  });

  it('a different key under the same id fails', () => {
    const sealed = seal(ring, Buffer.from(PLAINTEXT), AAD);
    expectDecryptionError(() => open(keyringFromKeys([kek('k1')]), sealed, AAD));
  });

  it('a relabelled keyId (another KEK in the ring) fails even though that key exists', () => {
    const two = keyringFromKeys([kek('k1'), kek('k2')]);
    const sealed = seal(two, Buffer.from(PLAINTEXT), AAD);
    expectDecryptionError(() => open(two, { ...sealed, keyId: 'k2' }, AAD));
  });

  it('DecryptionError messages never contain the plaintext or key bytes', () => {
    const k = kek('k1');
    const r = keyringFromKeys([k]);
    const sealed = seal(r, Buffer.from(PLAINTEXT), AAD);
    const errors = [
      expectDecryptionError(() => open(r, { ...sealed, ciphertext: flipBit(sealed.ciphertext, 0) }, AAD)),
      expectDecryptionError(() => open(r, { ...sealed, tag: flipBit(sealed.tag, 0) }, AAD)),
      expectDecryptionError(() => open(r, { ...sealed, dataKey: flipBit(sealed.dataKey, 40) }, AAD)),
      expectDecryptionError(() => open(r, sealed, 'other-aad')),
      expectDecryptionError(() => open(r, { ...sealed, keyId: 'missing' }, AAD)),
    ];
    const forbidden = [
      PLAINTEXT,
      'canary',
      k.key.toString('base64'),
      k.key.toString('hex'),
      k.key.toString('latin1'),
      Buffer.from(sealed.ciphertext).toString('hex'),
      Buffer.from(sealed.dataKey).toString('base64'),
      AAD,
    ];
    for (const err of errors) {
      expect(err.message).toMatch(/^could not decrypt: /);
      for (const s of forbidden) expect(err.message).not.toContain(s);
      expect(String(err.stack)).not.toContain(PLAINTEXT);
    }
  });
});

describe('rewrap', () => {
  it('moves a record to the current KEK without touching the body, and it still opens', () => {
    const old = kek('old');
    const next = kek('new');
    const before = keyringFromKeys([old]);
    const sealed = seal(before, Buffer.from(PLAINTEXT), AAD);
    expect(sealed.keyId).toBe('old');

    const rotated = keyringFromKeys([next, old]); // new is current, old kept for unwrap
    const moved = rewrap(rotated, sealed, AAD);
    expect(moved.keyId).toBe('new');
    expect(Buffer.from(moved.ciphertext).equals(Buffer.from(sealed.ciphertext))).toBe(true);
    expect(Buffer.from(moved.iv).equals(Buffer.from(sealed.iv))).toBe(true);
    expect(Buffer.from(moved.tag).equals(Buffer.from(sealed.tag))).toBe(true);
    expect(Buffer.from(moved.dataKey).equals(Buffer.from(sealed.dataKey))).toBe(false);
    expect(open(rotated, moved, AAD).toString()).toBe(PLAINTEXT);

    // the old KEK can now leave the ring
    const onlyNew = keyringFromKeys([next]);
    expect(open(onlyNew, moved, AAD).toString()).toBe(PLAINTEXT);
    // while the un-rewrapped record needs it
    expectDecryptionError(() => open(onlyNew, sealed, AAD));
  });

  it('is a no-op for a record already under the current KEK', () => {
    const ring = keyringFromKeys([kek('k1')]);
    const sealed = seal(ring, Buffer.from(PLAINTEXT), AAD);
    expect(rewrap(ring, sealed, AAD)).toBe(sealed);
  });

  it('refuses the wrong aad (the data key is bound to the record)', () => {
    const old = kek('old');
    const sealed = seal(keyringFromKeys([old]), Buffer.from(PLAINTEXT), AAD);
    const rotated = keyringFromKeys([kek('new'), old]);
    expectDecryptionError(() => rewrap(rotated, sealed, aadFor('tenant-b', 'row-1')));
  });

  it('fails when the old KEK is no longer in the ring', () => {
    const sealed = seal(keyringFromKeys([kek('old')]), Buffer.from(PLAINTEXT), AAD);
    expectDecryptionError(() => rewrap(keyringFromKeys([kek('new')]), sealed, AAD));
  });
});

describe('parseKeyring', () => {
  it('ENCRYPTION_KEYS: the first key is current, all of them decrypt', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const ring = parseKeyring({ ENCRYPTION_KEYS: `primary:${b64(k1)}, old-2024.1:${b64(k2)}` })!;
    expect(ring.current.id).toBe('primary');
    expect(ring.current.key.equals(k1)).toBe(true);
    expect([...ring.byId.keys()]).toEqual(['primary', 'old-2024.1']);
    expect(ring.byId.get('old-2024.1')!.key.equals(k2)).toBe(true);

    const sealedUnderOld = seal(keyringFromKeys([{ id: 'old-2024.1', key: k2 }]), Buffer.from(PLAINTEXT), AAD);
    expect(open(ring, sealedUnderOld, AAD).toString()).toBe(PLAINTEXT);
    const sealedNow = seal(ring, Buffer.from(PLAINTEXT), AAD);
    expect(sealedNow.keyId).toBe('primary');
    expect(open(ring, sealedNow, AAD).toString()).toBe(PLAINTEXT);
  });

  it('ENCRYPTION_KEYS wins over ENCRYPTION_KEY', () => {
    const ring = parseKeyring({ ENCRYPTION_KEYS: `a:${b64(randomBytes(32))}`, ENCRYPTION_KEY: b64(randomBytes(32)) })!;
    expect(ring.current.id).toBe('a');
    expect(ring.byId.size).toBe(1);
  });

  it('refuses duplicate ids', () => {
    expect(() => parseKeyring({ ENCRYPTION_KEYS: `a:${b64(randomBytes(32))},a:${b64(randomBytes(32))}` })).toThrow(
      /key id "a" appears twice/,
    );
  });

  it('refuses a key that is not 32 bytes, naming the entry and not the key', () => {
    const short = b64(randomBytes(16));
    let err: unknown;
    try {
      parseKeyring({ ENCRYPTION_KEYS: `a:${b64(randomBytes(32))},b:${short}` });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeyringError);
    expect((err as Error).message).toMatch(/entry 2: a key must be 32 bytes/);
    expect((err as Error).message).toContain('got 16 bytes');
    expect((err as Error).message).not.toContain(short);
    expect(() => parseKeyring({ ENCRYPTION_KEYS: `a:${b64(randomBytes(33))}` })).toThrow(KeyringError);
    expect(() => parseKeyring({ ENCRYPTION_KEYS: 'a:' })).toThrow(KeyringError);
  });

  it.each([
    ['an empty id', () => `:${b64(randomBytes(32))}`],
    ['no colon', () => b64(randomBytes(32))],
    ['a space in the id', () => `my key:${b64(randomBytes(32))}`],
    ['a slash in the id', () => `a/b:${b64(randomBytes(32))}`],
    ['an id of 33 characters', () => `${'x'.repeat(33)}:${b64(randomBytes(32))}`],
  ])('refuses %s', (_name, value) => {
    expect(() => parseKeyring({ ENCRYPTION_KEYS: value() })).toThrow(KeyringError);
  });

  it('accepts an id of 32 characters', () => {
    expect(parseKeyring({ ENCRYPTION_KEYS: `${'x'.repeat(32)}:${b64(randomBytes(32))}` })!.current.id).toBe('x'.repeat(32));
  });

  it('ENCRYPTION_KEY: a one-key ring whose id is a stable fingerprint', () => {
    const key = randomBytes(32);
    const a = parseKeyring({ ENCRYPTION_KEY: b64(key) })!;
    const b = parseKeyring({ ENCRYPTION_KEY: ` ${b64(key)}\n` })!;
    expect(a.current.id).toMatch(/^[0-9a-f]{8}$/);
    expect(a.current.id).toBe(createHash('sha256').update(key).digest('hex').slice(0, 8));
    expect(b.current.id).toBe(a.current.id);
    expect(a.byId.size).toBe(1);
    expect(a.current.key.equals(key)).toBe(true);
    expect(parseKeyring({ ENCRYPTION_KEY: b64(randomBytes(32)) })!.current.id).not.toBe(a.current.id);
    // a record sealed with one parse opens with another
    expect(open(b, seal(a, Buffer.from(PLAINTEXT), AAD), AAD).toString()).toBe(PLAINTEXT);
  });

  it('ENCRYPTION_KEY of the wrong length is refused', () => {
    expect(() => parseKeyring({ ENCRYPTION_KEY: b64(randomBytes(31)) })).toThrow(/ENCRYPTION_KEY: a key must be 32 bytes/);
  });

  it('neither set (or blank) → undefined', () => {
    expect(parseKeyring({})).toBeUndefined();
    expect(parseKeyring({ ENCRYPTION_KEYS: '  ', ENCRYPTION_KEY: '' })).toBeUndefined();
  });
});

describe('loadOrCreateLocalKeyring', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('creates DATA_DIR/encryption.key (0600) once, then reads the same key back', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'icp-keyring-'));
    dirs.push(root);
    const dataDir = path.join(root, 'data');
    const created: string[] = [];

    const first = await loadOrCreateLocalKeyring(dataDir, (file) => created.push(file));
    const file = path.join(dataDir, 'encryption.key');
    expect(created).toEqual([file]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    expect(stored.equals(first.current.key)).toBe(true);
    expect(first.current.key).toHaveLength(32);
    expect(first.current.id).toBe(createHash('sha256').update(stored).digest('hex').slice(0, 8));

    const second = await loadOrCreateLocalKeyring(dataDir, (f) => created.push(f));
    expect(created).toHaveLength(1);
    expect(second.current.id).toBe(first.current.id);
    expect(second.current.key.equals(first.current.key)).toBe(true);
    expect(open(second, seal(first, Buffer.from(PLAINTEXT), AAD), AAD).toString()).toBe(PLAINTEXT);
  });

  it('two directories get different keys', async () => {
    const a = await mkdtemp(path.join(tmpdir(), 'icp-keyring-'));
    const b = await mkdtemp(path.join(tmpdir(), 'icp-keyring-'));
    dirs.push(a, b);
    const ka = await loadOrCreateLocalKeyring(a, () => {});
    const kb = await loadOrCreateLocalKeyring(b, () => {});
    expect(ka.current.key.equals(kb.current.key)).toBe(false);
  });
});
