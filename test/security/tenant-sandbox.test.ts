import { mkdirSync, realpathSync, symlinkSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { loadConfig, parseConfig, type NexusConfigInput } from '../../src/config/index.js';
import { createSilentLogger } from '../../src/logging/index.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { SandboxResolver } from '../../src/security/sandbox-resolver.js';
import { tempDir } from '../support/runtime.js';

// Two tenants confined to their own folders, a third tenant and the local user on the global roots.
const base = tempDir('nexus-tenant-sandbox-');
const root = realpathSync(base.dir);
const dirs = { global: path.join(root, 'global'), acme: path.join(root, 'acme'), globex: path.join(root, 'globex') };

const acme: Principal = { id: 'key:acme', tenant: 'acme', kind: 'api-key' };
const globex: Principal = { id: 'key:globex', tenant: 'globex', kind: 'api-key' };
const initech: Principal = { id: 'key:initech', tenant: 'initech', kind: 'api-key' };

const config: NexusConfigInput = {
  data_dir: path.join(root, 'data'),
  security: { allowed_read_paths: [dirs.global], allowed_write_paths: [dirs.global], allowed_commands: ['pwd'] },
  tenants: {
    acme: { security: { allowed_read_paths: [dirs.acme], allowed_write_paths: [dirs.acme] } },
    // Reads only: the omitted write list is empty, not the global one.
    globex: { security: { allowed_read_paths: [dirs.globex] } },
    // An override of something else leaves the sandbox global.
    initech: { quotas: { calls_per_day: 1000 } },
  },
};

let runtime: Runtime;
beforeAll(async () => {
  for (const [name, dir] of Object.entries(dirs)) {
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'owner.txt'), name);
  }
  // A link planted in acme's folder that points into globex's.
  symlinkSync(path.join(dirs.globex, 'owner.txt'), path.join(dirs.acme, 'link-to-globex.txt'));
  runtime = await createRuntime(parseConfig(config), { logger: createSilentLogger() });
});
afterAll(async () => {
  await runtime.close();
  base.remove();
});

type Result = Awaited<ReturnType<Runtime['callTool']>>;
const content = (result: Result): Record<string, unknown> => result.structuredContent as Record<string, unknown>;

async function read(principal: Principal | undefined, file: string): Promise<Result> {
  return runtime.callTool('fs.read_file', { path: file }, principal);
}

function expectOwner(result: Result, owner: string): void {
  expect(result.isError, JSON.stringify(result.structuredContent)).toBeUndefined();
  expect(content(result)['content']).toBe(owner);
}

function expectNotAllowed(result: Result, setting?: string): void {
  expect(result.isError).toBe(true);
  expect(content(result)).toMatchObject({ code: 'PATH_NOT_ALLOWED', ...(setting === undefined ? {} : { details: { setting } }) });
}

describe('per-tenant sandbox roots', () => {
  it('tenant A reads its root and is refused tenant B’s root and the global one, and vice versa', async () => {
    expectOwner(await read(acme, path.join(dirs.acme, 'owner.txt')), 'acme');
    expectNotAllowed(await read(acme, path.join(dirs.globex, 'owner.txt')), 'tenants.acme.security.allowed_read_paths');
    expectNotAllowed(await read(acme, path.join(dirs.global, 'owner.txt')));
    expectOwner(await read(globex, path.join(dirs.globex, 'owner.txt')), 'globex');
    expectNotAllowed(await read(globex, path.join(dirs.acme, 'owner.txt')), 'tenants.globex.security.allowed_read_paths');
    expectNotAllowed(await read(globex, path.join(dirs.global, 'owner.txt')));
  });

  it('relative paths resolve against the tenant’s own first root; escapes by ".." or a symlink are refused', async () => {
    expectOwner(await read(acme, 'owner.txt'), 'acme');
    expectOwner(await read(globex, 'owner.txt'), 'globex');
    expectNotAllowed(await read(acme, '../globex/owner.txt'));
    expectNotAllowed(await read(acme, 'link-to-globex.txt'));
    // A foreign folder's existence is not revealed: a missing file there answers the same.
    expectNotAllowed(await read(acme, path.join(dirs.globex, 'missing.txt')));
    const listing = await runtime.callTool('fs.list_dir', { path: dirs.globex }, acme);
    expectNotAllowed(listing);
    expect((await runtime.callTool('fs.stat', { path: dirs.acme }, acme)).isError).toBeUndefined();
    expectNotAllowed(await runtime.callTool('fs.stat', { path: dirs.globex }, acme));
  });

  it('a tenant without a sandbox override, and the local user, use the global roots', async () => {
    for (const principal of [initech, undefined]) {
      expectOwner(await read(principal, 'owner.txt'), 'global');
      expectNotAllowed(await read(principal, path.join(dirs.acme, 'owner.txt')), 'security.allowed_read_paths');
      expectNotAllowed(await read(principal, path.join(dirs.globex, 'owner.txt')));
    }
  });

  it('writes follow the tenant’s write roots; an omitted write list allows no folder', async () => {
    const write = (principal: Principal, file: string): Promise<Result> => runtime.callTool('fs.write_file', { path: file, content: principal.tenant }, principal);
    expect((await write(acme, 'written.txt')).isError).toBeUndefined();
    expect(readFileSync(path.join(dirs.acme, 'written.txt'), 'utf8')).toBe('acme');
    expectNotAllowed(await write(acme, path.join(dirs.global, 'from-acme.txt')), 'tenants.acme.security.allowed_write_paths');
    expectNotAllowed(await write(acme, path.join(dirs.globex, 'from-acme.txt')));
    expectNotAllowed(await write(globex, path.join(dirs.globex, 'from-globex.txt')), 'tenants.globex.security.allowed_write_paths');
    expectNotAllowed(await write(globex, path.join(dirs.global, 'from-globex.txt')));
    expect(existsSync(path.join(dirs.global, 'from-acme.txt')) || existsSync(path.join(dirs.globex, 'from-acme.txt'))).toBe(false);
    expect(existsSync(path.join(dirs.globex, 'from-globex.txt')) || existsSync(path.join(dirs.global, 'from-globex.txt'))).toBe(false);
    expect((await write(initech, path.join(dirs.global, 'from-initech.txt'))).isError).toBeUndefined();
    expect(readFileSync(path.join(dirs.global, 'from-initech.txt'), 'utf8')).toBe('initech');
  });

  it('cmd.exec runs in the tenant’s first read root and refuses a working directory outside its roots', async () => {
    const pwd = async (principal: Principal | undefined, cwd?: string): Promise<Result> => runtime.callTool('cmd.exec', { command: 'pwd', ...(cwd === undefined ? {} : { cwd }) }, principal);
    const stdout = (result: Result): string => {
      expect(result.isError, JSON.stringify(result.structuredContent)).toBeFalsy();
      return String(content(result)['stdout']).trim();
    };
    expect(stdout(await pwd(acme))).toBe(dirs.acme);
    expect(stdout(await pwd(globex))).toBe(dirs.globex);
    expect(stdout(await pwd(initech))).toBe(dirs.global);
    expect(stdout(await pwd(undefined))).toBe(dirs.global);
    expectNotAllowed(await pwd(acme, dirs.globex), 'tenants.acme.security.allowed_read_paths');
    expectNotAllowed(await pwd(acme, dirs.global));
    expectNotAllowed(await pwd(initech, dirs.acme), 'security.allowed_read_paths');
  });
});

describe('SandboxResolver', () => {
  it('builds a tenant’s sandbox once and shares the global one among tenants without an override', () => {
    const resolver = new SandboxResolver({ config: parseConfig(config), logger: createSilentLogger() });
    const own = resolver.forTenant('acme');
    expect(resolver.forTenant('acme')).toBe(own);
    expect(own.readRoots).toEqual([dirs.acme]);
    expect(resolver.forTenant('globex').writeRoots).toEqual([]);
    expect(resolver.forTenant('initech')).toBe(resolver.forTenant('default'));
    expect(resolver.forTenant('initech').readRoots).toEqual([dirs.global]);
    // Names of Object.prototype members are tenants like any other, not overrides.
    expect(resolver.forTenant('constructor')).toBe(resolver.forTenant('default'));
  });
});

describe('tenants.<id>.security in a config file', () => {
  it('expands relative paths against the config file, "~" and ${ENV}, like the global roots', () => {
    const folder = path.join(root, 'conf');
    mkdirSync(folder, { recursive: true });
    const file = path.join(folder, 'nexus.json');
    writeFileSync(file, JSON.stringify({ tenants: { acme: { security: { allowed_read_paths: ['./acme', '~/home-acme', '${ACME_ROOT}/x'], allowed_write_paths: ['w'] } }, globex: { tools: { enabled: ['echo'] } } } }));
    const { config: loaded } = loadConfig({ configPath: file, env: { HOME: '/home/tester', ACME_ROOT: '/srv/acme' }, cwd: '/' });
    expect(loaded.tenants['acme']?.security).toEqual({ allowed_read_paths: [path.join(folder, 'acme'), '/home/tester/home-acme', '/srv/acme/x'], allowed_write_paths: [path.join(folder, 'w')] });
    expect(loaded.tenants['globex']?.security).toBeUndefined();
  });

  it('refuses unknown keys and unset variables', () => {
    expect(() => parseConfig({ tenants: { acme: { security: { allowed_commands: ['sh'] } } } })).toThrow(/tenants\.acme\.security/);
    const file = path.join(root, 'conf', 'unset.json');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ tenants: { acme: { security: { allowed_read_paths: ['${NOT_SET_ANYWHERE}'] } } } }));
    expect(() => loadConfig({ configPath: file, env: { HOME: '/home/tester' }, cwd: '/' })).toThrow(/NOT_SET_ANYWHERE/);
  });
});
