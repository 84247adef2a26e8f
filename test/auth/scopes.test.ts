import { describe, expect, it } from 'vitest';
import { compileToolScopes, parseToolScopes, ScopeMatcherCache } from '../../src/auth/scopes.js';
import { canonicalJson, argumentDigest } from '../../src/auth/digest.js';
import { AccessPolicy } from '../../src/auth/policy.js';
import { parseConfig } from '../../src/config/index.js';

describe('tool scopes', () => {
  it('parses comma lists and refuses malformed entries', () => {
    expect(parseToolScopes(' memory.* , echo ,')).toEqual(['memory.*', 'echo']);
    expect(parseToolScopes('')).toBeUndefined();
    expect(() => parseToolScopes('memory.*,rm -rf')).toThrow(/Invalid tool scope "rm -rf"/);
    expect(() => parseToolScopes('a/b')).toThrow(/Invalid tool scope/);
  });

  it('allows matching names in either spelling and subtracts "!" entries', () => {
    const memoryOnly = compileToolScopes(['memory.*']);
    expect(memoryOnly('memory.store')).toBe(true);
    expect(memoryOnly('cmd.exec')).toBe(false);
    expect(memoryOnly('memory')).toBe(false);
    const underscore = compileToolScopes(['memory_*']);
    expect(underscore('memory.search')).toBe(true);
    const allButCommands = compileToolScopes(['!cmd.*']);
    expect(allButCommands('fs.read_file')).toBe(true);
    expect(allButCommands('cmd.exec')).toBe(false);
    const mixed = compileToolScopes(['memory.*', 'echo', '!memory.delete']);
    expect(['memory.store', 'echo', 'memory.delete', 'cmd.exec'].map(mixed)).toEqual([true, true, false, false]);
  });

  it('treats undefined scopes as unrestricted', () => {
    const cache = new ScopeMatcherCache();
    expect(cache.allows(undefined, 'cmd.exec')).toBe(true);
    expect(cache.allows(['echo'], 'cmd.exec')).toBe(false);
    expect(cache.allows(['echo'], 'echo')).toBe(true);
  });
});

describe('access policy with tenant overrides', () => {
  const config = parseConfig({
    rate_limit: { per_tool: { 'cmd.*': { requests_per_second: 1, burst_size: 2 } }, max_concurrent_per_tenant: 8 },
    quotas: { calls_per_day: 1000 },
    tenants: {
      acme: { tools: { enabled: ['memory.*', 'echo'], disabled: ['memory.delete'] }, rate_limit: { max_concurrent: 2, per_tool: { 'echo': { requests_per_second: 5, burst_size: 5 } } }, quotas: { calls_per_day: null } },
    },
  });
  const policy = new AccessPolicy(config);

  it('narrows the tools a tenant sees and combines that with the principal scopes', () => {
    expect(policy.tenantAllows('acme', 'memory.store')).toBe(true);
    expect(policy.tenantAllows('acme', 'memory.delete')).toBe(false);
    expect(policy.tenantAllows('acme', 'cmd.exec')).toBe(false);
    expect(policy.tenantAllows('other', 'cmd.exec')).toBe(true);
    const principal = { id: 'key:1', tenant: 'acme', kind: 'api-key' as const, toolScopes: ['echo'] };
    expect(policy.visible(principal, 'echo')).toBe(true);
    expect(policy.visible(principal, 'memory.store')).toBe(false);
  });

  it('resolves limits and quotas per tenant, null meaning unlimited', () => {
    expect(policy.maxConcurrent('acme')).toBe(2);
    expect(policy.maxConcurrent('other')).toBe(8);
    expect(policy.quotas('acme').calls_per_day).toBeNull();
    expect(policy.quotas('other').calls_per_day).toBe(1000);
    expect(policy.toolBuckets('acme', 'cmd.exec')).toEqual([{ key: 'tool:acme:cmd.*', ratePerSecond: 1, burst: 2 }]);
    expect(policy.toolBuckets('other', 'echo')).toEqual([]);
    expect(policy.toolBuckets('acme', 'echo')).toEqual([{ key: 'tool:acme:echo', ratePerSecond: 5, burst: 5 }]);
  });
});

describe('argument digest', () => {
  it('does not depend on key order and changes with any value', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(argumentDigest({ a: 1, b: 'x' })).toBe(argumentDigest({ b: 'x', a: 1 }));
    expect(argumentDigest({ a: 1, b: 'x' })).not.toBe(argumentDigest({ a: 1, b: 'y' }));
    expect(argumentDigest({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });
});
