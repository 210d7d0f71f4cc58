import { describe, expect, it, vi } from 'vitest';
import { parseAllowHosts } from '../../src/config-values.ts';
import { checkWebhookUrl, classifyAddress, type ResolvedAddress } from '../../src/webhooks/ssrf.ts';

const NONE = new Set<string>();
/** IP literals must never reach DNS; a call here fails the test with a clear reason. */
const noDns = async (host: string): Promise<ResolvedAddress[]> => {
  throw new Error(`unexpected DNS lookup of ${host}`);
};
const resolvesTo =
  (...addresses: string[]) =>
  async (): Promise<ResolvedAddress[]> =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

async function reasonFor(url: string, allow: ReadonlySet<string> = NONE, resolve = noDns) {
  const result = await checkWebhookUrl(url, allow, resolve);
  return result.ok ? 'ALLOWED' : result.reason;
}

// [URL as the user writes it, the exact reason]. Decimal, octal, hex and short IPv4 hosts are
// normalised by WHATWG URL, so the reason shows the dotted address actually checked.
const REFUSED: [string, string][] = [
  ['http://0.0.0.0/', '0.0.0.0 is an unspecified address'],
  ['http://0.1.2.3/', '0.1.2.3 is an unspecified address'],
  ['http://255.255.255.255/', '255.255.255.255 is the broadcast address'],
  ['http://224.0.0.1/', '224.0.0.1 is a multicast address'],
  ['http://239.255.255.250:1900/', '239.255.255.250 is a multicast address'],
  ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is a link-local address'],
  ['http://169.254.0.1/', '169.254.0.1 is a link-local address'],
  ['http://127.0.0.1/', '127.0.0.1 is a loopback address'],
  ['http://127.255.255.254:8080/', '127.255.255.254 is a loopback address'],
  ['http://100.64.0.1/', '100.64.0.1 is a carrier-grade NAT address'],
  ['http://100.127.255.254/', '100.127.255.254 is a carrier-grade NAT address'],
  ['http://10.0.0.5/', '10.0.0.5 is a private address'],
  ['http://172.16.0.1/', '172.16.0.1 is a private address'],
  ['http://172.31.255.255/', '172.31.255.255 is a private address'],
  ['https://192.168.1.1/', '192.168.1.1 is a private address'],
  ['http://240.0.0.1/', '240.0.0.1 is a reserved address'],
  ['http://192.0.0.8/', '192.0.0.8 is a reserved address'],
  ['http://192.0.2.1/', '192.0.2.1 is a reserved address'],
  ['http://198.51.100.7/', '198.51.100.7 is a reserved address'],
  ['http://203.0.113.9/', '203.0.113.9 is a reserved address'],
  ['http://198.18.0.1/', '198.18.0.1 is a reserved address'],
  ['http://198.19.255.255/', '198.19.255.255 is a reserved address'],
  ['http://192.88.99.1/', '192.88.99.1 is a reserved address'],
  ['http://192.175.48.1/', '192.175.48.1 is a special-purpose address (as112)'],
  ['http://192.52.193.1/', '192.52.193.1 is a special-purpose address (amt)'],
  // decimal
  ['http://2130706433/', '127.0.0.1 is a loopback address'],
  ['http://167772165/', '10.0.0.5 is a private address'],
  ['http://2852039166/', '169.254.169.254 is a link-local address'],
  ['http://0/', '0.0.0.0 is an unspecified address'],
  // octal
  ['http://0177.0.0.1/', '127.0.0.1 is a loopback address'],
  ['http://012.0.0.5/', '10.0.0.5 is a private address'],
  ['http://0251.0376.0251.0376/', '169.254.169.254 is a link-local address'],
  // hex, short and mixed forms
  ['http://0x7f.1/', '127.0.0.1 is a loopback address'],
  ['http://0x7f000001/', '127.0.0.1 is a loopback address'],
  ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254 is a link-local address'],
  ['http://127.1/', '127.0.0.1 is a loopback address'],
  ['http://0xc0.168.1/', '192.168.0.1 is a private address'],
  // IPv4-mapped IPv6: the embedded range is named; a public one is refused anyway
  ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1 is an IPv4-mapped address of 127.0.0.1, a loopback address'],
  ['http://[::ffff:7f00:1]/', '::ffff:7f00:1 is an IPv4-mapped address of 127.0.0.1, a loopback address'],
  ['http://[::ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe is an IPv4-mapped address of 169.254.169.254, a link-local address'],
  ['http://[0:0:0:0:0:ffff:10.0.0.5]/', '::ffff:a00:5 is an IPv4-mapped address of 10.0.0.5, a private address'],
  ['http://[::ffff:8.8.8.8]/', '::ffff:808:808 is an IPv4-mapped address of 8.8.8.8'],
  // other IPv6 forms that embed an IPv4 address
  ['http://[::ffff:0:7f00:1]/', '::ffff:0:7f00:1 is an IPv4-translated address'],
  ['http://[64:ff9b::127.0.0.1]/', '64:ff9b::7f00:1 is a NAT64 address'],
  ['http://[64:ff9b::808:808]/', '64:ff9b::808:808 is a NAT64 address'],
  ['http://[64:ff9b:1::1]/', '64:ff9b:1::1 is a NAT64 address'],
  ['http://[2002:7f00:1::1]/', '2002:7f00:1::1 is a 6to4 address'],
  ['http://[2001::1]/', '2001::1 is a Teredo address'],
  ['http://[::127.0.0.1]/', '::7f00:1 is not a global unicast address'],
  // IPv6
  ['http://[::]/', ':: is an unspecified address'],
  ['http://[::1]/', '::1 is a loopback address'],
  ['http://[0:0:0:0:0:0:0:1]:8080/', '::1 is a loopback address'],
  ['http://[fe80::1]/', 'fe80::1 is a link-local address'],
  ['http://[febf::1]/', 'febf::1 is a link-local address'],
  ['http://[fc00::1]/', 'fc00::1 is a unique local address'],
  ['http://[fd12:3456::1]/', 'fd12:3456::1 is a unique local address'],
  ['http://[ff02::1]/', 'ff02::1 is a multicast address'],
  ['http://[ff05::1:3]/', 'ff05::1:3 is a multicast address'],
  ['http://[fec0::1]/', 'fec0::1 is a site-local address'],
  ['http://[2001:db8::1]/', '2001:db8::1 is a reserved address'],
  ['http://[2001:2::1]/', '2001:2::1 is a benchmarking address'],
  ['http://[100::1]/', '100::1 is a special-purpose address (discard)'],
  ['http://[4000::1]/', '4000::1 is not a global unicast address'],
];

const ALLOWED: [string, ResolvedAddress][] = [
  ['https://93.184.216.34/hook', { address: '93.184.216.34', family: 4 }],
  ['http://8.8.8.8:8080/', { address: '8.8.8.8', family: 4 }],
  ['https://1.1.1.1/', { address: '1.1.1.1', family: 4 }],
  // just outside the refused ranges
  ['http://126.255.255.255/', { address: '126.255.255.255', family: 4 }],
  ['http://128.0.0.1/', { address: '128.0.0.1', family: 4 }],
  ['http://172.15.255.255/', { address: '172.15.255.255', family: 4 }],
  ['http://172.32.0.1/', { address: '172.32.0.1', family: 4 }],
  ['http://100.63.255.255/', { address: '100.63.255.255', family: 4 }],
  ['http://100.128.0.1/', { address: '100.128.0.1', family: 4 }],
  ['http://169.253.255.255/', { address: '169.253.255.255', family: 4 }],
  ['http://223.255.255.254/', { address: '223.255.255.254', family: 4 }],
  ['https://[2606:4700::1111]/', { address: '2606:4700::1111', family: 6 }],
  ['https://[2001:4860:4860::8888]:8443/', { address: '2001:4860:4860::8888', family: 6 }],
];

describe('checkWebhookUrl: IP literals', () => {
  it.each(REFUSED)('%s → "%s"', async (url, reason) => {
    expect(await reasonFor(url)).toBe(reason);
  });

  it.each(ALLOWED)('%s is allowed, pinned to %o', async (url, address) => {
    const result = await checkWebhookUrl(url, NONE, noDns);
    expect(result).toEqual({ ok: true, url: new URL(url), addresses: [address] });
  });
});

describe('classifyAddress', () => {
  it('names the address and its range', () => {
    expect(classifyAddress('127.0.0.1')).toEqual({ allowed: false, reason: '127.0.0.1 is a loopback address' });
    expect(classifyAddress('fd00::1')).toEqual({ allowed: false, reason: 'fd00::1 is a unique local address' });
    expect(classifyAddress('::ffff:169.254.169.254')).toEqual({
      allowed: false,
      reason: '::ffff:169.254.169.254 is an IPv4-mapped address of 169.254.169.254, a link-local address',
    });
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '2a00:1450:4001:80b::200e'])('%s is allowed', (ip) => {
    expect(classifyAddress(ip)).toEqual({ allowed: true });
  });

  // Spellings connect() would not read the same way are refused, not reinterpreted.
  it.each([
    '',
    'localhost',
    '127.1',
    '0x7f000001',
    '2130706433',
    '010.0.0.1',
    '1.2.3.4.5',
    '256.0.0.1',
    ' 8.8.8.8',
    '[::1]',
    '::g',
    'fe80::1%',
  ])('%j is not a valid IP address', (ip) => {
    expect(classifyAddress(ip)).toEqual({ allowed: false, reason: `${ip} is not a valid IP address` });
  });
});

describe('checkWebhookUrl: DNS names', () => {
  it('resolves the hostname once and returns every address when all are public', async () => {
    const resolve = vi.fn(resolvesTo('93.184.216.34', '2606:4700::1111'));
    const result = await checkWebhookUrl('https://Webhook.Example/path?q=1', NONE, resolve);
    expect(result).toEqual({
      ok: true,
      url: new URL('https://webhook.example/path?q=1'),
      addresses: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:4700::1111', family: 6 },
      ],
    });
    expect(resolve.mock.calls).toEqual([['webhook.example']]);
  });

  it('refuses when any one address is refused, naming the host and that address', async () => {
    expect(await reasonFor('https://webhook.example/', NONE, resolvesTo('93.184.216.34', '10.0.0.5'))).toBe(
      'webhook.example resolves to 10.0.0.5, a private address',
    );
    expect(await reasonFor('https://webhook.example/', NONE, resolvesTo('2606:4700::1111', 'fd00::5'))).toBe(
      'webhook.example resolves to fd00::5, a unique local address',
    );
    expect(await reasonFor('https://webhook.example/', NONE, resolvesTo('169.254.169.254'))).toBe(
      'webhook.example resolves to 169.254.169.254, a link-local address',
    );
  });

  it('refuses a resolver answer that is not an IP address', async () => {
    expect(await reasonFor('https://webhook.example/', NONE, resolvesTo('8.8.8.8', 'evil.example'))).toBe(
      'webhook.example resolves to evil.example, not a valid IP address',
    );
  });

  it('refuses when resolution fails or finds nothing', async () => {
    const notFound = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
    };
    expect(await reasonFor('https://nowhere.example/', NONE, notFound)).toBe('nowhere.example could not be resolved (ENOTFOUND)');
    expect(await reasonFor('https://nowhere.example/', NONE, async () => Promise.reject(new Error('boom')))).toBe(
      'nowhere.example could not be resolved',
    );
    expect(await reasonFor('https://empty.example/', NONE, resolvesTo())).toBe('empty.example does not resolve to any address');
  });

  it('uses dns.lookup by default (localhost is loopback)', async () => {
    const result = await checkWebhookUrl('http://localhost:9/', NONE);
    expect(result.ok ? 'ALLOWED' : result.reason).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), a loopback address$/);
  });
});

describe('WEBHOOK_ALLOW_HOSTS', () => {
  const loopback = resolvesTo('127.0.0.1');

  it('parses a trimmed, lowercased comma list into canonical keys', () => {
    expect([...parseAllowHosts(' LocalHost:8080 , ,[::0:1]:9000,0x7f.1, Receiver.Test ')]).toEqual([
      'localhost:8080',
      '[::1]:9000',
      '127.0.0.1',
      'receiver.test',
    ]);
    expect(parseAllowHosts(undefined).size).toBe(0);
    expect(parseAllowHosts('').size).toBe(0);
  });

  it.each(['host:0', 'host:65536', 'host:port', ':8080', 'a b', 'user@host', 'host/path', '[::1', '[nope]:80', '::1'])(
    'refuses the malformed entry %j',
    (entry) => {
      expect(() => parseAllowHosts(`ok.example,${entry}`)).toThrow(`invalid entry "${entry}"`);
    },
  );

  it('host:port exempts exactly that host and port', async () => {
    const allow = parseAllowHosts('127.0.0.1:8080');
    expect(await checkWebhookUrl('http://127.0.0.1:8080/hook', allow, noDns)).toEqual({
      ok: true,
      url: new URL('http://127.0.0.1:8080/hook'),
      addresses: [{ address: '127.0.0.1', family: 4 }],
    });
    expect(await reasonFor('https://127.0.0.1:8080/', allow)).toBe('ALLOWED');
    expect(await reasonFor('http://127.0.0.1:8081/', allow)).toBe('127.0.0.1 is a loopback address');
    expect(await reasonFor('http://127.0.0.1/', allow)).toBe('127.0.0.1 is a loopback address');
    expect(await reasonFor('http://127.0.0.2:8080/', allow)).toBe('127.0.0.2 is a loopback address');
    expect(await reasonFor('http://localhost:8080/', allow, loopback)).toBe('localhost resolves to 127.0.0.1, a loopback address');
  });

  it('a host without a port exempts only the default port of the URL scheme', async () => {
    const allow = parseAllowHosts('localhost');
    expect(await reasonFor('http://localhost/', allow, loopback)).toBe('ALLOWED');
    expect(await reasonFor('http://localhost:80/', allow, loopback)).toBe('ALLOWED');
    expect(await reasonFor('https://localhost/', allow, loopback)).toBe('ALLOWED');
    const refused = 'localhost resolves to 127.0.0.1, a loopback address';
    expect(await reasonFor('http://localhost:443/', allow, loopback)).toBe(refused);
    expect(await reasonFor('https://localhost:80/', allow, loopback)).toBe(refused);
    expect(await reasonFor('http://localhost:8080/', allow, loopback)).toBe(refused);
  });

  it('an explicit default port stays bound to that port, whatever the scheme', async () => {
    const allow = parseAllowHosts('localhost:80');
    expect(await reasonFor('http://localhost/', allow, loopback)).toBe('ALLOWED');
    expect(await reasonFor('https://localhost:80/', allow, loopback)).toBe('ALLOWED');
    expect(await reasonFor('https://localhost/', allow, loopback)).toBe('localhost resolves to 127.0.0.1, a loopback address');
  });

  it('exempts bracketed IPv6 and DNS names, returning the resolved addresses unclassified', async () => {
    expect(await checkWebhookUrl('http://[::1]:8080/', parseAllowHosts('[::1]:8080'), noDns)).toMatchObject({
      ok: true,
      addresses: [{ address: '::1', family: 6 }],
    });
    expect(
      await checkWebhookUrl('http://receiver.test:9000/', parseAllowHosts('receiver.test:9000'), resolvesTo('10.0.0.5')),
    ).toMatchObject({
      ok: true,
      addresses: [{ address: '10.0.0.5', family: 4 }],
    });
  });

  it('an exempt host still needs to resolve', async () => {
    expect(await reasonFor('http://receiver.test/', parseAllowHosts('receiver.test'), resolvesTo())).toBe(
      'receiver.test does not resolve to any address',
    );
  });
});

describe('checkWebhookUrl: URL shape', () => {
  it.each([
    'ftp://example.com/',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'ws://example.com/',
    'data:text/plain,hi',
    'gopher://example.com/',
  ])('%s → scheme refused', async (url) => {
    expect(await reasonFor(url)).toBe('URL must use http or https');
  });

  it.each(['https://user:pass@example.com/', 'https://user@example.com/', 'http://:secret@8.8.8.8/'])(
    '%s → userinfo refused',
    async (url) => {
      expect(await reasonFor(url)).toBe('URL must not contain a username or password');
    },
  );

  it.each(['http://', 'https://:443/', 'http:///', '', 'not a url', '/relative/path', 'http://exa mple/', 'http://[fe80::1%25eth0]/'])(
    '%j → not a valid URL (http(s) URLs without a host do not parse)',
    async (url) => {
      expect(await reasonFor(url)).toBe('URL is not valid');
    },
  );

  it.each(['http://8.8.8.8:0/', 'https://8.8.8.8:00/hooks', 'http://[2606:4700::1111]:0/'])('%s → port 0 refused', async (url) => {
    expect(await reasonFor(url)).toBe('URL port must be from 1 to 65535');
  });

  it('allows ports 1 and 65535 (WHATWG refuses anything above)', async () => {
    expect(await reasonFor('http://8.8.8.8:1/')).toBe('ALLOWED');
    expect(await reasonFor('http://8.8.8.8:65535/')).toBe('ALLOWED');
    expect(await reasonFor('http://8.8.8.8:65536/')).toBe('URL is not valid');
  });

  it('allows 2048 characters and refuses one more, before parsing anything', async () => {
    const base = 'https://8.8.8.8/';
    expect(await reasonFor(base + 'a'.repeat(2048 - base.length))).toBe('ALLOWED');
    expect(await reasonFor(base + 'a'.repeat(2049 - base.length))).toBe('URL must be at most 2048 characters');
    expect(await reasonFor(`https://${'a'.repeat(900_000)}.example/`)).toBe('URL must be at most 2048 characters');
  });

  it('counts the URL as it is sent: percent-encoding that lengthens it past 2048 is refused', async () => {
    // 700 characters of é: 716 as given, 4216 once percent-encoded
    expect(await reasonFor(`https://8.8.8.8/${'é'.repeat(700)}`)).toBe('URL must be at most 2048 characters');
  });
});
