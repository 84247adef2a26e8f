#!/usr/bin/env node
// Regenerates docs/configuration.md from the one config schema (src/config/schema.ts, compiled).
//   node scripts/gen-config-doc.mjs          write the file (needs `npm run build` first)
//   node scripts/gen-config-doc.mjs --check  exit 1 when the file is out of date
// Types and defaults come from `z.toJSONSchema(configSchema)`, so they are exact. Meanings live in
// MEANINGS below, keyed by JSON path: a schema key without a meaning (or a meaning for a key that
// no longer exists) makes the generator throw, so a new setting cannot ship undocumented.
// The schema file is shared by several engineers, hence meanings here rather than `.describe()`.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainModule, writeOrCheck } from './generated-file.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'docs/configuration.md');

/** Placeholder shown for the keys of a map (JSON object with free keys), by the map's own key. */
const MAP_KEY_NAMES = { tenants: '<tenant>', per_tool: '<glob>' };

/**
 * What each key means. Paths: `a.b`, `list[].key` for list items, `map.<name>.key` for map
 * entries, `plugins[]{module}.key` / `plugins[]{command}.key` for the two kinds of plugin entry.
 * A section's own entry is the paragraph under its heading.
 */
export const MEANINGS = {
  server_name: 'Name Nexus gives itself in the MCP `initialize` answer (`serverInfo.name`) and in `nexus info`.',
  server_version: 'Version reported in `serverInfo.version`; unset: the Nexus package version.',
  host: 'Address the HTTP server binds (`nexus serve --host`). A non-loopback address is refused (`INSECURE_BIND`) unless authentication is configured.',
  port: 'Port of the HTTP server (`nexus serve --port`); 0 picks a free port.',
  log_level: 'Level of the JSON log lines written to stderr (`-l/--log-level`). One-shot commands (`run`, `tools`, `info`) default to `warn` unless a level is given.',
  json_logs: 'Accepted for compatibility with the original Nexus; logs are always JSON lines on stderr.',
  database_path: 'SQLite database file (memory, workflows, keys, tenants, audit); `null`: `<data_dir>/nexus.db`; `":memory:"`: in memory, gone at exit.',
  data_dir: 'Folder for the database and caches such as the offline embedder\'s word table (`--data-dir`). Created `0700` on first use.',
  extras_enabled: 'When `false` (or `--core-only`), only the original core tools are exposed (echo, get_time, uuid, fs read/write, cmd.exec, memory.store/recall/delete/list, http.request, env, sys.info, base64, json, hash, regex); conversations, search, workflows, fs.list_dir/stat are hidden. Plugin tools stay.',
  debug: 'Verbose logs plus one trace per tool call (tool, redacted arguments, duration, outcome, trace id) (`--debug`).',
  request_log: 'File that receives every JSON-RPC request and response as JSON lines, secrets redacted and large payloads truncated (`--request-log`); `null`: off.',
  tool_names: '`"dotted"` lists tools as `memory.store`; `"underscore"` as `memory_store`, for clients that reject dots. Calls by either form resolve.',
  page_size: 'Items per page of every MCP list result (tools, resources, prompts, templates).',
  shutdown_grace_secs: 'On SIGINT/SIGTERM, how long in-flight calls may finish before they are cancelled.',
  watch_config: 'Reload command plugins when the config file changes (clients get `tools/list_changed`). Other settings need a restart.',

  tools: 'Which tools are exposed. Globs match either name form (`memory.*` and `memory_*` are the same).',
  'tools.enabled': 'Globs of tools to expose; a tool must match one.',
  'tools.disabled': 'Globs of tools to hide, applied after `enabled` (a hidden tool cannot be called either).',

  plugins:
    'Plugins loaded at start-up. An entry with `module` is a module plugin (JavaScript loaded in-process); an entry with `command` is a command plugin (a program run per call). A bad entry stops start-up with a `PLUGIN_*` error naming it; see [tools.md](tools.md#command-plugins).',
  'plugins[]{module}': 'Module plugin: an ESM module exporting `definePlugin({name, version, setup(host)})` that registers tools, resources and prompts. It runs inside the Nexus process with its full rights, so only load code you trust.',
  'plugins[]{module}.module': 'Path (relative to the config file) or package name of the module.',
  'plugins[]{module}.name': 'When given, the plugin\'s declared name must equal it (guards against loading the wrong module).',
  'plugins[]{module}.config': 'The plugin\'s own settings, handed to it and validated by it.',
  'plugins[]{module}.enabled': '`false` skips the entry.',
  'plugins[]{command}':
    'Command plugin: one tool that runs a program. The program is trusted (it need not be in `security.allowed_commands`) but runs in the `cmd.exec` sandbox: no shell, each argument one argv element, environment = `security.command_env` + `env`, own process group killed on timeout, output capped at `security.max_output_bytes`.',
  'plugins[]{command}.name': 'Tool name (letters, digits, `_`, `.`, `-`); must not collide with another tool.',
  'plugins[]{command}.description': 'Tool description shown to clients; default `Runs <command> (command plugin)`.',
  'plugins[]{command}.command': 'Program: a name on the server\'s `PATH`, an absolute path, or a path relative to the config file; resolved when the plugin loads.',
  'plugins[]{command}.args_template': 'Argument list; `${param}` in an element is replaced by that argument (once, never shell-interpreted; `$${` is a literal `${`).',
  'plugins[]{command}.working_dir': 'Working directory (must exist); default: the config file\'s folder.',
  'plugins[]{command}.env': 'Extra environment variables for the program; values may use `${param}`.',
  'plugins[]{command}.timeout_secs': 'The process group is killed after this many seconds (`PLUGIN_TIMEOUT`).',
  'plugins[]{command}.input_schema': 'JSON Schema of the arguments: advertised as the tool\'s `inputSchema` and enforced before the program runs. Every `${param}` must be declared in its `properties`.',
  'plugins[]{command}.input_mode': '`args`: arguments only through `args_template`; `stdin`: also as one JSON object on stdin; `env`: also as `NEXUS_ARG_<NAME>` variables plus `NEXUS_ARGS_JSON`.',
  'plugins[]{command}.output_mode': '`text`: trimmed stdout; `json`: stdout parsed (an object becomes `structuredContent`).',
  'plugins[]{command}.title': 'Human-readable tool title.',
  'plugins[]{command}.annotations': 'MCP tool hints; unset hints take the cautious side (may write, not idempotent, open world).',
  'plugins[]{command}.annotations.readOnlyHint': 'The tool does not change anything (default false).',
  'plugins[]{command}.annotations.destructiveHint': 'The tool may delete or overwrite (default true).',
  'plugins[]{command}.annotations.idempotentHint': 'Repeating a call has no further effect (default false).',
  'plugins[]{command}.annotations.openWorldHint': 'The tool reaches outside systems (default true).',
  'plugins[]{command}.enabled': '`false` skips the entry.',

  security: 'The sandboxes of the built-in tools. Everything is denied until listed here. Read once at start-up: changes need a restart.',
  'security.allowed_read_paths':
    'Folders `fs.read_file`, `fs.list_dir` and `fs.stat` may read, and where `cmd.exec` may run. Resolved through symlinks at start-up; relative paths in a tool call resolve against the first entry. Outside them "missing" and "forbidden" both answer `PATH_NOT_ALLOWED`.',
  'security.allowed_write_paths': 'Folders `fs.write_file` may write to (not implied readable: list a folder in both to read and write it).',
  'security.allowed_commands': 'Programs `cmd.exec` may run: names (looked up on `PATH` at start-up) or absolute paths; no wildcards. Never a shell.',
  'security.tool_timeout_secs': 'Time limit of one tool call; past it the call is aborted with `TOOL_TIMEOUT`. Workflows and tools with their own limit may set another.',
  'security.max_read_bytes': 'Most bytes `fs.read_file` returns per call (page with `offset`/`length`).',
  'security.max_write_bytes': 'Largest content one `fs.write_file` call may write.',
  'security.max_output_bytes': 'Cap on stdout and on stderr (each) kept from `cmd.exec` and command plugins; the rest is read and discarded.',
  'security.env_allowlist': 'Globs of environment variable names `env.get`/`env.list` may show. Values of secret-looking names (…KEY…, …TOKEN…, …SECRET…, …PASSWORD…) are redacted even when listed.',
  'security.command_env': 'Variables copied from the server\'s environment into `cmd.exec` and command plugin processes; nothing else is passed.',
  'security.regex_timeout_ms': 'Deadline of one `regex.*` or JSONPath evaluation; past it the worker is killed (`REGEX_TIMEOUT`, `JSON_QUERY_TIMEOUT`).',

  auth: 'Who may call Nexus over HTTP. stdio and the CLI are the local user. Keys created with `nexus keys create` and OAuth are described in [security.md](security.md).',
  'auth.enabled': 'Require a credential on every HTTP request (also implied once an API key exists or `oauth` is set).',
  'auth.api_keys': 'The original\'s keys: lowercase hex SHA-256 digests of accepted keys (they act in the `default` tenant with every tool). Prefer `nexus keys create`.',
  'auth.allow_health_unauthenticated': 'Serve `/health` without credentials.',
  'auth.api_key_header': 'Header that carries an API key (besides `Authorization: Bearer`).',
  'auth.stdio_tenant': 'Tenant of the local user: stdio, the CLI and credential-less loopback HTTP.',
  'auth.oauth': 'OAuth 2.1 resource server (MCP authorization): accept JWT access tokens from these issuers. Unset: no OAuth.',
  'auth.oauth.resource': 'This server\'s canonical URI (e.g. `https://nexus.example.com/mcp`); tokens must carry it in `aud` (RFC 8707).',
  'auth.oauth.issuers': 'Trusted authorization servers (at least one).',
  'auth.oauth.issuers[].issuer': 'The exact `iss` of its tokens.',
  'auth.oauth.issuers[].jwks_uri': 'Where its signing keys are; unset: discovered from its RFC 8414 / OpenID Connect metadata.',
  'auth.oauth.issuers[].audience': 'Expected `aud` when the issuer cannot put the resource URI there; default `auth.oauth.resource`.',
  'auth.oauth.issuers[].tenant_claim': 'Claim naming the caller\'s tenant (which must exist); unset: every token acts in `tenant`.',
  'auth.oauth.issuers[].tenant': 'Tenant of this issuer\'s tokens when there is no `tenant_claim`.',
  'auth.oauth.issuers[].scopes_claim': 'Claim holding the scopes: a space-separated string (`scope`) or an array (`scp`). `tools:<glob>` scopes limit the tools a token may call.',
  'auth.oauth.issuers[].algorithms': 'Accepted JWS algorithms (asymmetric only); unset: what each JWKS key declares.',
  'auth.oauth.required_scopes': 'Scopes every token must carry; otherwise 403 `insufficient_scope`.',
  'auth.oauth.scopes_supported': 'Scopes advertised in the protected-resource metadata; unset: `required_scopes`.',
  'auth.oauth.clock_tolerance_secs': 'Leeway for `exp` and `nbf`.',
  'auth.oauth.jwks_cache_secs': 'How long fetched signing keys are trusted before a refetch.',

  rate_limit: 'Token buckets and concurrency caps. Buckets are keyed by the authenticated identity, never by client-supplied headers such as `X-Forwarded-For`.',
  'rate_limit.enabled': 'Switch the token buckets on (the concurrency cap applies regardless).',
  'rate_limit.requests_per_second': 'Refill rate of each caller\'s bucket (HTTP requests; per key or token subject, anonymous loopback callers per socket address). Refusal: HTTP 429 with `Retry-After`.',
  'rate_limit.burst_size': 'Capacity of each caller\'s bucket: requests allowed at once.',
  'rate_limit.per_tenant': 'A second bucket per tenant, for all its HTTP requests together; unset: none.',
  'rate_limit.per_tenant.requests_per_second': 'Refill rate of each tenant\'s bucket.',
  'rate_limit.per_tenant.burst_size': 'Capacity of each tenant\'s bucket.',
  'rate_limit.per_tool': 'Buckets for tool calls per tenant, keyed by tool glob (e.g. `"cmd.*"`). Refusal: tool error `RATE_LIMITED`.',
  'rate_limit.per_tool.<glob>.requests_per_second': 'Refill rate of the bucket for calls matching the glob.',
  'rate_limit.per_tool.<glob>.burst_size': 'Capacity of the bucket for calls matching the glob.',
  'rate_limit.max_concurrent_per_tenant': 'Tool calls running at once per tenant (0: no cap); more are refused with `RATE_LIMITED`. Applies even when `enabled` is false.',
  'rate_limit.max_buckets': 'Live buckets kept in memory before idle ones are forgotten.',

  quotas: 'Per-tenant limits for every tenant (`null`: unlimited); override them per tenant under `tenants`. Past a quota: `QUOTA_EXCEEDED`.',
  'quotas.calls_per_day': 'Tool calls per tenant per UTC day (counted from the audit log, so restarts do not reset it).',
  'quotas.stored_bytes': 'Bytes of stored data per tenant.',
  'quotas.memory_items': 'Stored memory items per tenant.',

  tenants: 'Per-tenant overrides, keyed by tenant id (create tenants with `nexus tenants create`). Unset keys inherit the global setting; every stored row is scoped by tenant.',
  'tenants.<tenant>.tools': 'Further restricts the globally enabled tools for this tenant (it can never widen them).',
  'tenants.<tenant>.tools.enabled': 'Globs of tools this tenant may use.',
  'tenants.<tenant>.tools.disabled': 'Globs of tools hidden from this tenant.',
  'tenants.<tenant>.rate_limit': 'This tenant\'s rate limits, replacing the global ones key by key.',
  'tenants.<tenant>.rate_limit.requests_per_second': 'Refill rate of each of this tenant\'s callers\' buckets.',
  'tenants.<tenant>.rate_limit.burst_size': 'Capacity of each of this tenant\'s callers\' buckets.',
  'tenants.<tenant>.rate_limit.per_tenant': 'This tenant\'s own bucket for all its HTTP requests.',
  'tenants.<tenant>.rate_limit.per_tenant.requests_per_second': 'Refill rate of the tenant bucket.',
  'tenants.<tenant>.rate_limit.per_tenant.burst_size': 'Capacity of the tenant bucket.',
  'tenants.<tenant>.rate_limit.per_tool': 'Tool-call buckets for this tenant, keyed by tool glob.',
  'tenants.<tenant>.rate_limit.per_tool.<glob>.requests_per_second': 'Refill rate of the bucket for calls matching the glob.',
  'tenants.<tenant>.rate_limit.per_tool.<glob>.burst_size': 'Capacity of the bucket for calls matching the glob.',
  'tenants.<tenant>.rate_limit.max_concurrent': 'Tool calls this tenant may run at once (0: no cap).',
  'tenants.<tenant>.quotas': 'This tenant\'s quotas, replacing the global ones key by key (`null`: unlimited).',
  'tenants.<tenant>.quotas.calls_per_day': 'Tool calls per UTC day.',
  'tenants.<tenant>.quotas.stored_bytes': 'Bytes of stored data.',
  'tenants.<tenant>.quotas.memory_items': 'Stored memory items.',
  'tenants.<tenant>.security':
    'This tenant\'s file sandbox roots, used instead of `security.allowed_read_paths`/`allowed_write_paths` (replaced, never merged). Once present, a list it omits allows no folder. Tenants without it use the global roots.',
  'tenants.<tenant>.security.allowed_read_paths': 'Folders this tenant\'s `fs.read_file`, `fs.list_dir`, `fs.stat` may read and `cmd.exec` may run in; its relative paths resolve against the first.',
  'tenants.<tenant>.security.allowed_write_paths': 'Folders this tenant\'s `fs.write_file` may write to.',

  audit: 'The audit log in SQLite: every tool call (refused ones included) and authentication decision, with the arguments only as a SHA-256 digest. Read it with `nexus audit query|tail`.',
  'audit.enabled': 'Record audit events.',
  'audit.retention_days': 'Records older than this are deleted by an hourly sweep.',
  'audit.flush_interval_ms': 'Records are written in batches off the request path, at most this long after the event.',
  'audit.batch_size': 'Records that trigger an early write.',

  http_client: 'Rules for `http.request`. Whatever the lists say, hosts resolving to loopback, private, link-local or metadata addresses are refused unless an allow entry names that exact target.',
  'http_client.timeout_secs': 'Default time limit of one request, redirects included (a call may ask for less).',
  'http_client.max_response_bytes': 'Largest response body read (decoded); reading stops there and the result says `truncated`.',
  'http_client.allowed_urls':
    'Regexes; when this or `allowed_hosts` is non-empty a URL must match an entry of either (`URL_NOT_ALLOWED`). An anchored regex spelling out scheme, host and port (`^http://127\\.0\\.0\\.1:8080/`) admits that exact target even if it is internal.',
  'http_client.blocked_urls': 'Regexes of URLs refused (tested on the normalised URL). The default is the original\'s five private-range patterns; an explicit allow entry overrides those five only.',
  'http_client.allowed_hosts': 'Hosts allowed: `host`, `host:port`, `[v6]:port` or `*.domain`. An entry without wildcard admits that exact host even if it is internal (every port when none is given).',
  'http_client.user_agent': '`User-Agent` sent; unset: `Nexus/<version>`.',
  'http_client.max_redirects': 'Redirects followed; each hop is checked again like the first URL.',

  http: 'The HTTP server (`nexus serve`): Streamable HTTP at `/mcp`, legacy SSE at `/sse` + `/messages`, `/health`, `/ready`.',
  'http.max_body_bytes': 'Largest request body accepted on `/mcp` and `/messages` (chunked bodies included); larger: 413.',
  'http.allowed_origins': 'Browser origins allowed besides loopback ones (e.g. `https://app.example.com`); any other `Origin` gets 403 (DNS-rebinding guard).',
  'http.allowed_hosts': '`Host` header values allowed besides loopback names and the bind address (e.g. your public host name behind a proxy).',
  'http.legacy_sse': 'Serve the deprecated HTTP+SSE transport (`/sse` + `/messages`) for old clients.',
  'http.json_response': 'Answer with plain JSON instead of an SSE stream when a request needs no streaming (`false`: always an SSE stream).',
  'http.session_idle_secs': 'Idle MCP sessions are closed after this many seconds.',
  'http.sse_retry_ms': 'SSE `retry` hint (ms) sent to clients for reconnection.',
  'http.event_history': 'Events kept per session, across all its SSE streams (oldest dropped first), for `Last-Event-ID` resumption.',

  storage: 'SQLite tuning. The file is `database_path` (default `<data_dir>/nexus.db`), in WAL mode.',
  'storage.busy_timeout_ms': 'How long one attempt waits for another process\'s write lock.',
  'storage.busy_retry_secs': 'After `busy_timeout_ms`, how long writes keep being retried (without blocking) before `DATABASE_BUSY`.',
  'storage.synchronous': '`normal`: a commit survives a process crash (`kill -9`); `full`: also power loss, at the cost of an fsync per commit.',

  memory: 'Persistent memory: key-value items, conversations and their search. See [memory.md](memory.md).',
  'memory.max_value_bytes': 'Largest stored value (serialised JSON) or message (content + metadata).',
  'memory.max_value_depth': 'Deepest JSON nesting accepted in a stored value.',
  'memory.sweep_interval_secs': 'How often expired key-value items are deleted.',
  'memory.embed_batch_size': 'Texts embedded per embedder call by the background queue.',
  'memory.embedder': 'What turns texts into vectors for semantic search.',
  'memory.embedder.provider': '`builtin`: offline GloVe word vectors (no download, no key; its table is built once into `data_dir`). `openai`: any OpenAI-compatible `/v1/embeddings` server (Ollama, llama.cpp, vLLM, OpenAI) — memory texts are then sent there.',
  'memory.embedder.url': 'Base URL such as `http://127.0.0.1:11434/v1` (or the full `…/embeddings` endpoint); required with `openai`.',
  'memory.embedder.model': 'Model name sent to the server; required with `openai`.',
  'memory.embedder.api_key': 'Bearer key for the server; write it as `"${ENV_NAME}"` to keep it out of the file.',
  'memory.embedder.batch_size': 'Most texts sent in one HTTP request.',
  'memory.embedder.timeout_secs': 'Time limit of one embedding request.',
  'memory.embedder.max_retries': 'Extra attempts after 429, 5xx, timeouts and network errors (exponential backoff).',

  workflows: 'Limits of the workflow engine (`workflow.run`, `tools.chain`, saved workflows). See [workflows.md](workflows.md).',
  'workflows.max_steps': 'Most tool steps in one workflow (parallel children count; foreach items do not).',
  'workflows.max_depth': 'Deepest nesting of workflows calling workflows (a top-level workflow is level 1).',
  'workflows.timeout_secs': 'Time limit of a whole run; a workflow\'s own `timeout_secs` may only lower it.',
  'workflows.max_foreach_items': 'Most items one `foreach` step may iterate.',
  'workflows.max_concurrency': 'Highest `concurrency` a `foreach` step may ask for.',
  'workflows.max_recorded_output_bytes': 'Largest workflow output kept in a run record (serialised JSON); larger outputs are recorded as truncated.',
  'workflows.run_retention_days': 'Finished run records older than this many days are deleted (at start-up and every few hours); 0 keeps them forever.',
};

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const isObjectSchema = (schema) => schema !== undefined && typeof schema === 'object' && schema.properties !== undefined;
/** A JSON object with free keys whose values are objects with known keys (tenants, per_tool). */
const mapValueSchema = (schema) =>
  schema.type === 'object' && schema.properties === undefined && isObjectSchema(schema.additionalProperties) ? schema.additionalProperties : undefined;
const objectBranches = (schema) => (Array.isArray(schema.anyOf) && schema.anyOf.every(isObjectSchema) ? schema.anyOf : undefined);

/** Renders a JSON Schema as a short type: `integer 0–65535`, `string[]`, `"a" | "b"`, `map of string`. */
export function typeOf(schema) {
  if (schema === undefined || Object.keys(schema).filter((key) => key !== 'default').length === 0) return 'any';
  if (Array.isArray(schema.anyOf)) return schema.anyOf.map(typeOf).join(' | ');
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeOf({ ...schema, type })).join(' | ');
  switch (schema.type) {
    case 'array': {
      const item = typeOf(schema.items);
      return item.includes(' ') ? `(${item})[]` : `${item}[]`;
    }
    case 'object':
      if (schema.properties !== undefined) return 'object';
      return isObjectSchema(schema.additionalProperties) ? 'map of object' : `map of ${typeOf(schema.additionalProperties)}`;
    case 'integer':
    case 'number':
      return `${schema.type}${range(schema)}`;
    case 'string':
      return schema.format === 'uri' ? 'URL' : 'string';
    default:
      return String(schema.type);
  }
}

function range(schema) {
  const minimum = schema.minimum !== undefined && schema.minimum > -MAX_SAFE ? schema.minimum : undefined;
  const maximum = schema.maximum !== undefined && schema.maximum < MAX_SAFE ? schema.maximum : undefined;
  if (minimum !== undefined && maximum !== undefined) return ` ${minimum}–${maximum}`;
  const low = schema.exclusiveMinimum !== undefined ? `> ${schema.exclusiveMinimum}` : minimum !== undefined ? `≥ ${minimum}` : undefined;
  const parts = [low, maximum === undefined ? undefined : `≤ ${maximum}`].filter((part) => part !== undefined);
  return parts.length === 0 ? '' : ` ${parts.join(', ')}`;
}

/** `NEXUS_SECURITY__TOOL_TIMEOUT_SECS` for a path of plain keys; none inside lists and maps. */
function envName(segments) {
  if (segments.some((segment) => /[[<{]/.test(segment) || segment !== segment.toLowerCase())) return undefined;
  return `NEXUS_${segments.join('__').toUpperCase()}`;
}

/**
 * Every documented setting, in schema order: `{key, path, section, type, default, env}`.
 * `key` indexes MEANINGS; `path` is what the reader sees (branch tags removed).
 */
export function configRows(jsonSchema) {
  const rows = [];
  const visit = (schema, segments, { section, required }) => {
    const key = segments.join('.');
    rows.push({
      key,
      path: key.replace(/\{[a-z]+\}/g, ''),
      section,
      type: typeOf(schema),
      default: 'default' in schema ? JSON.stringify(schema.default) : required ? 'required' : 'unset',
      env: envName(segments),
    });
    children(schema, segments, section);
  };
  const children = (schema, segments, section) => {
    const owner = segments.at(-1) ?? '';
    const nested = schema.type === 'array' ? schema.items : schema;
    const base = schema.type === 'array' ? [...segments.slice(0, -1), `${owner}[]`] : segments;
    const branches = nested === undefined ? undefined : objectBranches(nested);
    if (branches !== undefined) {
      for (const branch of branches) {
        const tag = branchTag(branch, branches);
        const tagged = [...base.slice(0, -1), `${base.at(-1)}{${tag}}`];
        rows.push({ key: tagged.join('.'), path: tagged.join('.').replace(/\{[a-z]+\}/g, ''), section, branch: tag, type: 'object', default: '', env: undefined, heading: true });
        properties(branch, tagged, section);
      }
      return;
    }
    if (isObjectSchema(nested)) return properties(nested, base, section);
    const value = mapValueSchema(schema);
    if (value !== undefined) properties(value, [...segments, MAP_KEY_NAMES[owner] ?? '<key>'], section);
  };
  const properties = (schema, segments, section) => {
    const required = new Set(schema.required ?? []);
    for (const [name, property] of Object.entries(schema.properties)) visit(property, [...segments, name], { section, required: required.has(name) });
  };
  for (const [name, property] of Object.entries(jsonSchema.properties)) {
    const isSection = isObjectSchema(property) || mapValueSchema(property) !== undefined || (property.type === 'array' && (isObjectSchema(property.items) || (property.items && objectBranches(property.items))));
    if (!isSection) {
      visit(property, [name], { section: '', required: (jsonSchema.required ?? []).includes(name) });
      continue;
    }
    rows.push({ key: name, path: name, section: name, type: typeOf(property), default: JSON.stringify(property.default), env: envName([name]), heading: true });
    children(property, [name], name);
  }
  return rows;
}

/** A name for one kind of list entry: its first required key that the other kinds lack (`module`, `command`). */
function branchTag(branch, branches) {
  const others = branches.filter((other) => other !== branch);
  const tag = (branch.required ?? []).find((name) => others.every((other) => !(name in other.properties)));
  if (tag === undefined) throw new Error(`cannot tell this kind of entry apart: ${JSON.stringify(Object.keys(branch.properties))}`);
  return tag;
}

const cell = (text) => String(text).replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (text) => (text === undefined || text === '' ? '—' : `\`${text}\``);

/** Throws unless every row has a meaning and every meaning a row: the doc is complete and current. */
export function checkMeanings(rows, meanings = MEANINGS) {
  const keys = new Set(rows.map((row) => row.key));
  const missing = rows.filter((row) => typeof meanings[row.key] !== 'string' || meanings[row.key].trim() === '').map((row) => row.key);
  const stale = Object.keys(meanings).filter((key) => !keys.has(key));
  if (missing.length > 0 || stale.length > 0) {
    const lines = [
      ...(missing.length > 0 ? [`config keys without a meaning in scripts/gen-config-doc.mjs MEANINGS: ${missing.join(', ')}`] : []),
      ...(stale.length > 0 ? [`MEANINGS entries for keys the schema no longer has: ${stale.join(', ')}`] : []),
    ];
    throw new Error(lines.join('\n'));
  }
}

function table(rows, meanings) {
  return [
    '| Key | Type | Default | Environment variable | Meaning |',
    '|---|---|---|---|---|',
    ...rows.map((row) => `| \`${cell(row.path)}\` | ${cell(row.type)} | ${row.default === 'required' || row.default === 'unset' ? row.default : code(cell(row.default))} | ${code(row.env)} | ${cell(meanings[row.key])} |`),
  ];
}

const INTRO = `# Configuration

<!-- Generated from src/config/schema.ts by \`node scripts/gen-config-doc.mjs\` (after \`npm run build\`); do not edit by hand. -->

Nexus reads one JSON file (comments allowed, trailing commas not). Every key is optional: with no
file at all Nexus runs on the defaults below, which deny file, command, environment and internal
network access until you open them.

## Where the file is

The first of: \`-c/--config FILE\`; the \`NEXUS_CONFIG\` environment variable; \`./nexus.json\` in the
current folder; \`~/.nexus/nexus.json\`. An explicit file that does not exist is an error
(\`CONFIG_NOT_FOUND\`, exit 2). \`nexus info\` shows the file in use; \`nexus config check [FILE]\`
validates one and prints every problem.

## Precedence

Each layer overrides the one before, key by key (objects merge; a list replaces the whole list):

1. **Defaults** (the tables below).
2. **The config file.**
3. **Environment variables** \`NEXUS_<KEY>\`: the JSON path in upper case with \`__\` between levels,
   e.g. \`NEXUS_PORT=9001\`, \`NEXUS_LOG_LEVEL=debug\`, \`NEXUS_SECURITY__TOOL_TIMEOUT_SECS=60\`.
   Values are JSON for numbers, booleans, lists and objects
   (\`NEXUS_SECURITY__ALLOWED_COMMANDS='["git","ls"]'\`, \`NEXUS_AUTH__OAUTH='{…}'\`) and plain text for
   string keys (\`NEXUS_SERVER_VERSION=1.0\` stays a string). Keys inside lists and maps (plugin
   entries, tenants) can only be set by giving the whole list or map. \`NEXUS_*\` variables that name
   no key (such as \`NEXUS_ARG_*\` of command plugins) are ignored.
4. **Command-line flags**: \`--data-dir\` (\`data_dir\`), \`-l/--log-level\` (\`log_level\`), \`--debug\`
   (\`debug\`), \`--request-log\` (\`request_log\`), \`--core-only\` (\`extras_enabled: false\`), and for
   \`nexus serve\`: \`--host\` (\`host\`), \`--port\` (\`port\`).

## Validation

Every object is strict: an unknown or misspelt key, a wrong type, a value out of range, an invalid
regex in \`http_client\` lists or a key given twice is an error naming its JSON path and line (or the
environment variable or flag it came from), and Nexus does not start (\`CONFIG_INVALID\`, exit 2). A
section that is present keeps the defaults of the keys it omits (\`{"http_client": {}}\` keeps the
default block list). A config written for the original Rust Nexus is accepted unchanged.

## Paths

\`data_dir\`, \`database_path\`, \`request_log\`, \`security.allowed_read_paths\`,
\`security.allowed_write_paths\` (and their \`tenants.<tenant>.security\` overrides), module plugin
paths and command plugin \`working_dir\` expand
\`~\` (home folder) and \`\${NAME}\` (an environment variable; unset is an error). Relative paths
resolve against the config file's folder (the current folder when there is no file); paths given as
flags resolve against the current folder. \`memory.embedder.api_key\` also expands \`\${NAME}\`, so keys
stay out of the file.

## Reloading

With \`watch_config: true\` (the default) saving the file reloads the command plugins of a running
server. Everything else, security settings included, is read once at start-up: restart to apply it.

## Reference

Types: \`integer 0–65535\` is a range, \`> 0\` a strict lower bound, \`string[]\` a list, \`map of X\` an
object with free keys. Default \`unset\` means the key is absent unless you set it; \`required\` keys
must be given when their enclosing object is.
`;

const SECTION_TITLES = { '': 'Top level' };

/** The whole docs/configuration.md for a JSON Schema of the config (`z.toJSONSchema(configSchema, {io: 'input'})`). */
export function renderConfigDoc(jsonSchema, meanings = MEANINGS) {
  const rows = configRows(jsonSchema);
  checkMeanings(rows, meanings);
  const out = [INTRO];
  const sections = [...new Set(rows.map((row) => row.section))];
  for (const section of sections) {
    const inSection = rows.filter((row) => row.section === section);
    out.push(`### ${SECTION_TITLES[section] ?? `\`${section}\``}`, '');
    const head = inSection.find((row) => row.heading && row.key === section);
    if (head) {
      out.push(meanings[head.key], '');
      // Entries of a list or map cannot be set one by one from the environment.
      if (head.env && head.type !== 'object') out.push(`From the environment: the whole ${head.type.startsWith('map') ? 'map' : 'list'} as JSON in \`${head.env}\`.`, '');
    }
    // Lists with several kinds of entry (plugins) get one table per kind.
    const groups = [{ head: undefined, rows: [] }];
    for (const row of inSection.filter((row) => row !== head)) {
      if (row.heading) groups.push({ head: row, rows: [] });
      else groups.at(-1).rows.push(row);
    }
    for (const group of groups.filter((entry) => entry.head !== undefined || entry.rows.length > 0)) {
      if (group.head) out.push(`#### \`${group.head.path}\` entries with \`${group.head.branch}\``, '', meanings[group.head.key], '');
      out.push(...table(group.rows, meanings), '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** The JSON Schema of the compiled config schema (dist/). */
async function compiledJsonSchema() {
  const { z } = await import('zod');
  const { configSchema } = await import(pathToFileURL(path.join(root, 'dist/config/schema.js')).href);
  return z.toJSONSchema(configSchema, { io: 'input' });
}

if (isMainModule(import.meta.url)) {
  const jsonSchema = await compiledJsonSchema();
  writeOrCheck(target, renderConfigDoc(jsonSchema), {
    regenerate: 'npm run build && node scripts/gen-config-doc.mjs',
    written: `wrote ${path.relative(root, target)} (${configRows(jsonSchema).length} keys)`,
  });
}
