import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BLOCKED_URLS, loadConfig, parseConfig, type ConfigProblem, type LoadConfigOptions } from '../src/config/index.js';
import { NexusError } from '../src/errors/index.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/runtime.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A temp folder that doubles as HOME and CWD, so no real ~/.nexus/nexus.json leaks into a test. */
function sandbox(): { dir: string; write(name: string, text: string): string; load(options?: LoadConfigOptions): ReturnType<typeof loadConfig> } {
  const temp = tempDir('nexus-config-');
  cleanups.push(() => temp.remove());
  return {
    dir: temp.dir,
    write(name, text) {
      const file = path.join(temp.dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    load(options = {}) {
      return loadConfig({ cwd: temp.dir, ...options, env: { HOME: temp.dir, ...options.env } });
    },
  };
}

function failure(run: () => unknown): NexusError {
  try {
    run();
  } catch (error) {
    if (NexusError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a NexusError');
}

function problemsOf(error: NexusError): ConfigProblem[] {
  return (error.details['problems'] ?? []) as ConfigProblem[];
}

describe('config precedence: defaults < file < NEXUS_* env < flags', () => {
  it('takes each key from the highest layer that sets it', () => {
    const box = sandbox();
    const file = box.write('conf.json', JSON.stringify({ port: 1111, server_name: 'from-file', log_level: 'warn', security: { tool_timeout_secs: 5, max_read_bytes: 100 } }));
    const { config, configFile } = box.load({
      configPath: file,
      env: { NEXUS_PORT: '2222', NEXUS_SERVER_NAME: 'from-env', NEXUS_SECURITY__TOOL_TIMEOUT_SECS: '7' },
      overrides: { port: 3333 },
    });
    expect(configFile).toBe(file);
    expect(config.port).toBe(3333); // flag beats env and file
    expect(config.server_name).toBe('from-env'); // env beats file
    expect(config.security.tool_timeout_secs).toBe(7); // nested env (double underscore) beats file
    expect(config.security.max_read_bytes).toBe(100); // file beats default, siblings of env keys survive
    expect(config.log_level).toBe('warn'); // file beats default
    expect(config.page_size).toBe(100); // default
  });

  it('keeps string-valued env variables as strings even when they look like JSON', () => {
    const box = sandbox();
    const { config } = box.load({ env: { NEXUS_SERVER_NAME: '123', NEXUS_SERVER_VERSION: '1.0', NEXUS_JSON_LOGS: 'false', NEXUS_HTTP__ALLOWED_ORIGINS: '["https://app.example.com"]' } });
    expect(config.server_name).toBe('123');
    expect(config.server_version).toBe('1.0');
    expect(config.json_logs).toBe(false);
    expect(config.http.allowed_origins).toEqual(['https://app.example.com']);
  });

  it('ignores NEXUS_* variables that name no config key (plugin arguments use that prefix)', () => {
    const box = sandbox();
    const { config } = box.load({ env: { NEXUS_ARG_CITY: 'Paris', NEXUS_ARGS_JSON: '{}' } });
    expect(config).toEqual(box.load().config);
  });

  it('reports a bad env value by its variable, not by a line of the file', () => {
    const box = sandbox();
    const file = box.write('nexus.json', '{\n  "port": 9000\n}\n');
    const error = failure(() => box.load({ configPath: file, env: { NEXUS_PORT: 'not-a-port' } }));
    expect(error.code).toBe('CONFIG_INVALID');
    const [problem] = problemsOf(error);
    expect(problem?.path).toBe('$.port');
    expect(problem?.line).toBeUndefined();
    expect(error.message).toContain('NEXUS_PORT');
  });

  it('finds ./nexus.json, then ~/.nexus/nexus.json, else runs on defaults', () => {
    const box = sandbox();
    expect(box.load().configFile).toBeNull();
    const home = box.write('.nexus/nexus.json', '{"server_name":"home"}');
    expect(box.load().configFile).toBe(home);
    expect(box.load().config.server_name).toBe('home');
    const local = box.write('nexus.json', '{"server_name":"local"}');
    expect(box.load().configFile).toBe(local);
    expect(box.load().config.server_name).toBe('local');
    expect(box.load({ env: { NEXUS_CONFIG: home } }).config.server_name).toBe('home');
  });

  it('refuses an explicit config file that does not exist', () => {
    const box = sandbox();
    const error = failure(() => box.load({ configPath: 'missing.json' }));
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.message).toContain(path.join(box.dir, 'missing.json'));
  });
});

describe('config errors name the problem and where it is', () => {
  it('an unknown top-level key: names the key and its line', () => {
    const box = sandbox();
    const file = box.write('c.json', '{\n  "port": 9000,\n  "colour": "blue"\n}\n');
    const error = failure(() => box.load({ configPath: file }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(problemsOf(error)).toEqual([expect.objectContaining({ path: '$.colour', line: 3 })]);
    expect(error.message).toContain('$.colour (line 3)');
    expect(error.message).toContain('unknown key "colour"');
  });

  it('a misspelt nested key: names the full path and its line', () => {
    const box = sandbox();
    const file = box.write('c.json', '{\n  "security": {\n    "allowed_read_paths": ["/tmp"],\n    "allowed_comands": ["ls"]\n  }\n}\n');
    const error = failure(() => box.load({ configPath: file }));
    expect(problemsOf(error)).toEqual([expect.objectContaining({ path: '$.security.allowed_comands', line: 4 })]);
    expect(error.message).toContain('unknown key "allowed_comands"');
  });

  it('a misspelt key inside a plugin entry is located in the array', () => {
    const box = sandbox();
    const file = box.write('c.json', '{\n  "plugins": [\n    { "name": "x", "command": "echo",\n      "args": ["hi"] }\n  ]\n}\n');
    const error = failure(() => box.load({ configPath: file }));
    expect(problemsOf(error)).toEqual([expect.objectContaining({ path: '$.plugins[0].args', line: 4 })]);
  });

  it('bad JSON: names the line and column and does not fall back to defaults', () => {
    const box = sandbox();
    const file = box.write('c.json', '{\n  "port": 9000,\n  "host": \n}\n');
    const error = failure(() => box.load({ configPath: file }));
    expect(error.code).toBe('CONFIG_PARSE_ERROR');
    expect(error.details).toMatchObject({ file, line: 4, column: 1 });
    expect(error.message).toContain(`${file}:4:1`);
  });

  it('trailing commas are JSON errors too; comments are tolerated', () => {
    const box = sandbox();
    const trailing = box.write('t.json', '{\n  "port": 9000,\n}\n');
    expect(failure(() => box.load({ configPath: trailing })).details).toMatchObject({ line: 3 });
    const commented = box.write('k.json', '{\n  // the port\n  "port": 9001\n}\n');
    expect(box.load({ configPath: commented }).config.port).toBe(9001);
  });

  it('a key given twice is an error at its second line, not "last one wins"', () => {
    const box = sandbox();
    const file = box.write('c.json', '{\n  "port": 9000,\n  "security": { "tool_timeout_secs": 5 },\n  "port": 9001\n}\n');
    const error = failure(() => box.load({ configPath: file }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(problemsOf(error)).toEqual([expect.objectContaining({ path: '$.port', line: 4, message: 'duplicate key "port"' })]);
  });

  it('a config path that is a folder is a config error (exit 2), not an internal fault', () => {
    const box = sandbox();
    const error = failure(() => box.load({ configPath: box.dir }));
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.message).toContain('cannot be read');
  });

  it('an empty file is an error, not defaults', () => {
    const box = sandbox();
    expect(failure(() => box.load({ configPath: box.write('e.json', '') })).code).toBe('CONFIG_PARSE_ERROR');
  });

  it('a wrong type: names the JSON path and the line', () => {
    const box = sandbox();
    const file = box.write('c.json', '{\n  "auth": {\n    "enabled": "yes"\n  }\n}\n');
    const error = failure(() => box.load({ configPath: file }));
    expect(problemsOf(error)).toEqual([expect.objectContaining({ path: '$.auth.enabled', line: 3 })]);
    expect(error.message).toMatch(/\$\.auth\.enabled \(line 3\): .*boolean/);
  });

  it('reports every problem at once', () => {
    const box = sandbox();
    const file = box.write('c.json', '{\n  "port": "x",\n  "bogus": 1,\n  "http_client": { "blocked_urls": ["(unclosed"] }\n}\n');
    const paths = problemsOf(failure(() => box.load({ configPath: file }))).map((problem) => problem.path);
    expect(paths.sort()).toEqual(['$.bogus', '$.http_client.blocked_urls[0]', '$.port']);
  });
});

describe('original (Rust) configs are accepted unchanged', () => {
  // The shape of the original's config/nexus.production.json (§3.1 keys only).
  const production = {
    server_name: 'nexus-production',
    server_version: '0.2.0',
    host: '0.0.0.0',
    port: 9000,
    log_level: 'info',
    json_logs: true,
    database_path: '/var/lib/nexus/nexus.db',
    extras_enabled: true,
    plugins: [
      { name: 'weather.get', description: 'Weather for a city', command: 'curl', args_template: ['-s', 'wttr.in/${city}?format=3'], timeout_secs: 10, input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      { name: 'system.uptime', command: 'uptime', input_mode: 'args', output_mode: 'text' },
    ],
    security: {
      allowed_read_paths: ['/home', '/tmp', '/var/log'],
      allowed_write_paths: ['/tmp'],
      allowed_commands: ['echo', 'date', 'whoami', 'pwd', 'ls', 'cat', 'head', 'tail', 'wc', 'grep', 'uname', 'df'],
      tool_timeout_secs: 30,
    },
    auth: { enabled: true, api_keys: ['5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8'], allow_health_unauthenticated: true, api_key_header: 'X-API-Key' },
    rate_limit: { enabled: true, requests_per_second: 100, burst_size: 50 },
    http_client: { timeout_secs: 30, max_response_bytes: 10485760, allowed_urls: [], blocked_urls: ['^https?://localhost', '^https?://127\\.'], user_agent: 'Nexus/0.2.0' },
  };

  it('loads with the same meaning', () => {
    const box = sandbox();
    const file = box.write('nexus.production.json', JSON.stringify(production, null, 2));
    const { config } = box.load({ configPath: file });
    expect(config).toMatchObject({
      server_name: 'nexus-production',
      server_version: '0.2.0',
      host: '0.0.0.0',
      port: 9000,
      database_path: '/var/lib/nexus/nexus.db',
      extras_enabled: true,
      security: { allowed_read_paths: ['/home', '/tmp', '/var/log'], allowed_write_paths: ['/tmp'], tool_timeout_secs: 30 },
      auth: { enabled: true, api_keys: production.auth.api_keys, api_key_header: 'X-API-Key' },
      rate_limit: { enabled: true, requests_per_second: 100, burst_size: 50 },
      http_client: { blocked_urls: production.http_client.blocked_urls, user_agent: 'Nexus/0.2.0', allowed_urls: [] },
    });
    expect(config.security.allowed_commands).toHaveLength(12);
    expect(config.plugins.map((plugin) => plugin.name)).toEqual(['weather.get', 'system.uptime']);
    expect(config.plugins[0]).toMatchObject({ command: 'curl', args_template: ['-s', 'wttr.in/${city}?format=3'], input_mode: 'args', output_mode: 'text' });
  });

  it('a hash that is not SHA-256 hex is refused rather than silently never matching', () => {
    const error = failure(() => parseConfig({ auth: { enabled: true, api_keys: ['changeme'] } }));
    expect(problemsOf(error)[0]?.path).toBe('$.auth.api_keys[0]');
  });
});

describe('list defaults survive when their section is present', () => {
  it('{"http_client":{}} keeps the SSRF block list; {"security":{}} keeps its defaults', () => {
    const config = parseConfig({ http_client: {}, security: {}, tools: {} });
    expect(config.http_client.blocked_urls).toEqual(DEFAULT_BLOCKED_URLS);
    expect(config.http_client.blocked_urls.length).toBeGreaterThan(0);
    expect(config.security.command_env).toEqual(['PATH', 'LANG', 'LC_ALL', 'TZ']);
    expect(config.tools.enabled).toEqual(['*']);
    expect(config).toEqual(parseConfig({}));
  });

  it('a section with one key keeps the defaults of its other keys', () => {
    const config = parseConfig({ http_client: { timeout_secs: 5 } });
    expect(config.http_client.timeout_secs).toBe(5);
    expect(config.http_client.blocked_urls).toEqual(DEFAULT_BLOCKED_URLS);
  });
});

describe('path expansion', () => {
  it('expands ~ and ${ENV}, and resolves relative paths against the config file', () => {
    const box = sandbox();
    const file = box.write('conf/nexus.json', JSON.stringify({ data_dir: '~/nexus-data', database_path: '${DB_DIR}/nexus.db', request_log: 'logs/requests.jsonl', security: { allowed_read_paths: ['~', '${DB_DIR}', './docs'] } }));
    const { config } = box.load({ configPath: file, env: { DB_DIR: '/srv/db' } });
    expect(config.data_dir).toBe(path.join(box.dir, 'nexus-data'));
    expect(config.database_path).toBe('/srv/db/nexus.db');
    expect(config.request_log).toBe(path.join(box.dir, 'conf', 'logs', 'requests.jsonl'));
    expect(config.security.allowed_read_paths).toEqual([box.dir, '/srv/db', path.join(box.dir, 'conf', 'docs')]);
  });

  it('keeps :memory: as it is', () => {
    expect(sandbox().load({ overrides: { database_path: ':memory:' } }).config.database_path).toBe(':memory:');
  });

  it('an unset variable is an error naming it, never an empty string', () => {
    const box = sandbox();
    const file = box.write('nexus.json', JSON.stringify({ data_dir: '${NEXUS_TEST_UNSET_DIR}/data' }));
    const error = failure(() => box.load({ configPath: file }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('NEXUS_TEST_UNSET_DIR');
    expect(error.details).toMatchObject({ variable: 'NEXUS_TEST_UNSET_DIR' });
  });
});

describe('the CLI: nexus config check and exit codes', () => {
  it('prints every problem with its path and line, and exits 2', async () => {
    const box = sandbox();
    const file = box.write('broken.json', '{\n  "port": "nine",\n  "security": {\n    "allowed_comands": ["ls"]\n  },\n  "colour": "blue"\n}\n');
    const run = await runCli(['config', 'check', file], { cwd: box.dir, env: { HOME: box.dir } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CONFIG_INVALID');
    expect(run.stderr).toContain('$.port (line 2)');
    expect(run.stderr).toContain('$.security.allowed_comands (line 4)');
    expect(run.stderr).toContain('$.colour (line 6)');
    expect(run.stdout).toBe('');
  });

  it('reports bad JSON with line and column, exit 2', async () => {
    const box = sandbox();
    const file = box.write('bad.json', '{\n  "port": 9000\n  "host": "x"\n}\n');
    const run = await runCli(['config', 'check', file], { cwd: box.dir, env: { HOME: box.dir } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`CONFIG_PARSE_ERROR: ${file}:3:3`);
  });

  it('exits 0 and names the file for a valid config', async () => {
    const box = sandbox();
    const file = box.write('good.json', '{"port": 9100, "http_client": {}}');
    const run = await runCli(['config', 'check', file], { cwd: box.dir, env: { HOME: box.dir } });
    expect(run).toMatchObject({ code: 0, stdout: `ok: ${file}\n` });
  });

  it('exit codes: 2 for usage errors, 1 for runtime failures, one line without a stack', async () => {
    const box = sandbox();
    const options = { cwd: box.dir, env: { HOME: box.dir } };
    const unknownOption = await runCli(['--no-such-flag'], options);
    expect(unknownOption.code).toBe(2);
    const badArgs = await runCli(['--data-dir', box.dir, 'run', 'echo', '--args', '{not json'], options);
    expect(badArgs.code).toBe(2);
    expect(badArgs.stderr).toContain('USAGE_ERROR');
    const unknownTool = await runCli(['--data-dir', box.dir, 'run', 'no.such.tool'], options);
    expect(unknownTool.code).toBe(1);
    expect(unknownTool.stderr.trim()).toBe('nexus: TOOL_NOT_FOUND: Unknown tool: no.such.tool');
    const ok = await runCli(['--data-dir', box.dir, 'run', 'echo', '--args', '{"text":"hi"}'], options);
    expect(ok).toMatchObject({ code: 0, stdout: 'hi\n' });
  });

  it('--debug adds the stack to a CLI failure', async () => {
    const box = sandbox();
    const run = await runCli(['--debug', 'config', 'check', path.join(box.dir, 'missing.json')], { cwd: box.dir, env: { HOME: box.dir } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/CONFIG_NOT_FOUND[\s\S]*\n\s+at /);
  });
});
