import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { exitOf, runCli, spawnCli, StderrLines } from '../support/cli.js';
import { tempDir } from '../support/runtime.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// The real `nexus keys|tenants|audit` commands against a real `nexus serve` (needs dist/). Each
// command is a fresh process that opens the runtime, so the test gets a generous time limit.
describe('nexus keys, tenants and audit', () => {
  it('creates a tenant and a scoped key, serves with it, revokes it live, audits, deletes the tenant', async () => {
    const temp = tempDir('nexus-auth-cli-');
    cleanups.push(() => temp.remove());
    const cli = (...args: string[]) => runCli([...args, '--data-dir', temp.dir], { cwd: temp.dir, env: { HOME: temp.dir } });

    expect((await cli('tenants', 'create', 'acme', '--note', 'first')).stdout).toBe('created tenant acme\n');
    const noTenant = await cli('keys', 'create', '--tenant', 'ghost');
    expect(noTenant.stderr).toMatch(/TENANT_NOT_FOUND: No tenant "ghost"; create it with: nexus tenants create ghost/);

    const created = await cli('keys', 'create', '--tenant', 'acme', '--scopes', 'echo', '--expires', '30d', '--name', 'ci');
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^nxk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/only time the key is shown/);
    const id = key.slice(4, 20);

    const listed = JSON.parse((await cli('keys', 'list', '--format', 'json')).stdout) as Array<Record<string, unknown>>;
    expect(listed).toEqual([expect.objectContaining({ id, tenant: 'acme', name: 'ci', scopes: ['echo'], status: 'active' })]);
    expect(JSON.stringify(listed)).not.toContain(key.slice(21));

    const server = spawnCli(['serve', '--port', '0', '--data-dir', temp.dir], { cwd: temp.dir, env: { HOME: temp.dir } });
    cleanups.push(async () => {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
      await exitOf(server);
    });
    const listening = await new StderrLines(server).waitFor((record) => typeof record['url'] === 'string');
    const mcpUrl = new URL(String(listening['url']));
    const anonymous = await fetch(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();

    const client = new Client({ name: 'e2e-auth', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['echo']);
    expect((await client.callTool({ name: 'echo', arguments: { text: 'from acme' } })).structuredContent).toEqual({ text: 'from acme' });

    // Revoked by another process: the running server refuses the key on its next request.
    expect((await cli('keys', 'revoke', id)).stdout).toBe(`revoked ${id}\n`);
    await expect(client.callTool({ name: 'echo', arguments: { text: 'again' } })).rejects.toThrow(/This API key has been revoked/);
    await client.close().catch(() => undefined);

    server.kill('SIGTERM');
    expect(await exitOf(server)).toBe(0);

    const calls = JSON.parse((await cli('audit', 'query', '--tenant', 'acme', '--event', 'tool_call', '--format', 'json')).stdout) as Array<Record<string, unknown>>;
    expect(calls).toEqual([expect.objectContaining({ tenant: 'acme', principal: `key:${id}`, tool: 'echo', outcome: 'ok' })]);
    const denied = (await cli('audit', 'query', '--outcome', 'denied', '--since', '1h')).stdout;
    expect(denied).toMatch(/denied\s+-\s+127\.0\.0\.1\s+auth POST \/mcp reason=missing\s+UNAUTHORIZED/);
    expect(denied).toMatch(new RegExp(`denied\\s+-\\s+key:${id}\\s+auth POST /mcp reason=revoked\\s+UNAUTHORIZED`));
    const tail = (await cli('audit', 'tail', '-n', '2')).stdout.trim().split('\n');
    expect(tail).toHaveLength(2);

    expect((await cli('tenants', 'delete', 'acme', '--yes')).stdout).toMatch(/^deleted tenant acme \(.*api_keys: 1.*\)\n$/);
    expect((await cli('keys', 'list')).stdout.trim().split('\n')).toHaveLength(1);
    expect((await cli('tenants', 'list')).stdout).not.toMatch(/acme/);
  }, 180_000);
});
