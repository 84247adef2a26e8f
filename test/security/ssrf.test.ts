import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NexusError } from '../../src/errors/index.js';
import { pinnedRequest } from '../../src/security/pinned-request.js';
import { classifyAddress } from '../../src/security/ssrf.js';
import { targetOfPattern, UrlPolicy } from '../../src/security/url-policy.js';

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'cloudMetadata'],
    ['169.254.1.1', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'cloudMetadata'],
    ['fc00::5', 'uniqueLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'cloudMetadata'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'ipv4Compatible'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
  ])('%s is not public (%s)', (address, range) => {
    expect(classifyAddress(address)).toMatchObject({ public: false, range });
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(classifyAddress(address).public).toBe(true);
  });
});

describe('URL policy', () => {
  it('reads the exact target an anchored pattern spells out, and nothing vaguer', () => {
    expect(targetOfPattern('^http://127\\.0\\.0\\.1:8080/')).toEqual({ protocol: 'http:', hostname: '127.0.0.1', port: '8080' });
    expect(targetOfPattern('^https://LOCALHOST/api')).toEqual({ protocol: 'https:', hostname: 'localhost', port: '443' });
    expect(targetOfPattern('^http://127.0.0.1:8080$')).toEqual({ protocol: 'http:', hostname: '127.0.0.1', port: '8080' });
    for (const vague of ['^https?://127\\.', '^http://127\\.0\\.0\\.1', 'http://127\\.0\\.0\\.1:8080/', '^http://127\\.0\\.0\\.1:808?/', '^(http://127\\.0\\.0\\.1:8080/)?', '^http://[a-z]+/', '.*']) {
      expect(targetOfPattern(vague), vague).toBeUndefined();
    }
  });

  it('checks the normalised URL, so hex, decimal, octal and upper-case forms meet the block list', () => {
    const policy = new UrlPolicy({ allowedUrls: [], blockedUrls: ['^https?://127\\.'], allowedHosts: [] });
    for (const raw of ['http://0x7f000001/', 'http://2130706433/', 'http://017700000001/', 'HTTP://127.1/', 'http://0177.0.0.1/']) {
      expect(() => policy.check(new URL(raw), raw), raw).toThrow(expect.objectContaining({ code: 'URL_NOT_ALLOWED' }) as Error);
    }
  });

  it('admits an exact allow-list target over block patterns, and only that target', () => {
    const policy = new UrlPolicy({ allowedUrls: [], blockedUrls: ['^https?://127\\.', '/admin'], privateRangePatterns: ['^https?://127\\.'], allowedHosts: ['127.0.0.1:8080', '*.example.com'] });
    expect(policy.check(new URL('http://127.0.0.1:8080/x'))).toEqual({ explicit: true });
    // Patterns other than the private-range ones still apply to an explicit target.
    expect(() => policy.check(new URL('http://127.0.0.1:8080/admin'))).toThrow(expect.objectContaining({ code: 'URL_NOT_ALLOWED' }) as Error);
    expect(policy.check(new URL('https://api.example.com/'))).toEqual({ explicit: false });
    expect(() => policy.check(new URL('http://127.0.0.1:8081/'))).toThrow(NexusError);
    expect(() => policy.check(new URL('http://example.com/'))).toThrow(NexusError);
    expect(() => policy.check(new URL('file:///etc/passwd'))).toThrow(expect.objectContaining({ code: 'URL_NOT_ALLOWED' }) as Error);
  });

  it('turns a malformed allowed_hosts entry into a config error', () => {
    expect(() => new UrlPolicy({ allowedUrls: [], blockedUrls: [], allowedHosts: ['http://x/'] })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
  });
});

describe('pinnedRequest', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  it('connects to the checked address without resolving the name again (no DNS rebinding window)', async () => {
    const seen: string[] = [];
    server = createServer((request: IncomingMessage, response) => {
      seen.push(String(request.headers.host));
      response.end('pinned');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // `.invalid` never resolves: reaching the server proves the pinned address was used.
    const url = new URL(`http://rebind.invalid:${port}/`);
    const response = await pinnedRequest({ url, addresses: [{ address: '127.0.0.1', family: 4 }], method: 'GET', headers: {}, body: undefined, signal: AbortSignal.timeout(10_000) });
    response.resume();
    expect(response.statusCode).toBe(200);
    expect(seen).toEqual([`rebind.invalid:${port}`]);
  });
});
