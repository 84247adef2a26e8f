import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configRows, MEANINGS, renderConfigDoc } from '../scripts/gen-config-doc.mjs';
import { configSchema, loadConfig } from '../src/config/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const jsonSchema = (): Record<string, unknown> => z.toJSONSchema(configSchema, { io: 'input' });

describe('docs/configuration.md', () => {
  it('is exactly what scripts/gen-config-doc.mjs renders from the schema (regenerate: npm run build && node scripts/gen-config-doc.mjs)', () => {
    expect(readFileSync(path.join(root, 'docs/configuration.md'), 'utf8')).toBe(renderConfigDoc(jsonSchema()));
  });

  it('documents every key of the schema, down to plugin entries, tenant overrides and per-tool buckets', () => {
    const paths = configRows(jsonSchema()).map((row) => row.path);
    for (const expected of ['port', 'security.allowed_commands', 'auth.oauth.issuers[].tenant_claim', 'plugins[].module', 'plugins[].args_template', 'tenants.<tenant>.quotas.calls_per_day', 'rate_limit.per_tool.<glob>.burst_size', 'memory.embedder.api_key']) {
      expect(paths).toContain(expected);
    }
    for (const key of Object.keys(configSchema.shape)) expect(paths.some((p) => p === key || p.startsWith(`${key}.`) || p.startsWith(`${key}[]`)), key).toBe(true);
  });

  it('fails loudly when a schema key has no meaning, or a meaning names a key that no longer exists', () => {
    const schema = jsonSchema();
    const properties = schema['properties'] as Record<string, unknown>;
    const withNewKey = { ...schema, properties: { ...properties, brand_new_setting: { type: 'boolean', default: false } } };
    expect(() => renderConfigDoc(withNewKey)).toThrow(/without a meaning.*brand_new_setting/);
    expect(() => renderConfigDoc(schema, { ...MEANINGS, 'security.no_such_key': 'gone' })).toThrow(/no longer has: security\.no_such_key/);
  });

  it('shows the exact defaults and the environment variable that really sets each key', () => {
    const rows = new Map(configRows(jsonSchema()).map((row) => [row.path, row]));
    expect(rows.get('security.tool_timeout_secs')).toMatchObject({ default: '30', env: 'NEXUS_SECURITY__TOOL_TIMEOUT_SECS' });
    expect(rows.get('security.command_env')?.default).toBe(JSON.stringify(configSchema.parse({}).security.command_env));
    expect(rows.get('plugins[].command')).toMatchObject({ default: 'required', env: undefined });
    // Every advertised variable name is one loadConfig reads: set each to its own default and compare.
    const defaults = configSchema.parse({});
    const env: Record<string, string> = {};
    // Keys inside an optional object (auth.oauth, rate_limit.per_tenant) would create that object: left out.
    const insideOptional = (key: string): boolean => [...rows.values()].some((other) => other.default === 'unset' && key.startsWith(`${other.path}.`));
    for (const row of rows.values()) {
      if (row.env === undefined || row.heading === true || row.default === 'unset' || row.default === 'required' || insideOptional(row.path)) continue;
      const value: unknown = JSON.parse(row.default);
      if (value === null) continue; // a string-or-null key reads its variable as text: null has no spelling
      env[row.env] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    expect(Object.keys(env).length).toBeGreaterThan(60);
    const loaded = loadConfig({ env: { ...env, HOME: root }, cwd: path.join(root, 'docs') });
    expect(loaded.config.security).toEqual({ ...defaults.security });
    expect(loaded.config.http_client).toEqual(defaults.http_client);
    // A changed value proves the variable is read, not just tolerated.
    expect(loadConfig({ env: { NEXUS_SECURITY__TOOL_TIMEOUT_SECS: '61', HOME: root }, cwd: path.join(root, 'docs') }).config.security.tool_timeout_secs).toBe(61);
  });
});
