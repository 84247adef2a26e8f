import { z } from 'zod';

/**
 * The one configuration schema. It accepts a config file written for the original Rust
 * Nexus/Aegis unchanged (same keys, same meaning) and adds Nexus's own sections. Every object is
 * strict: an unknown or misspelt key is an error, never silently ignored. Sections use
 * `prefault({})` so that list defaults survive when a section is present but a key is omitted
 * (the original's default-merging trap).
 */

const port = z.number().int().min(0).max(65_535);
const positiveSeconds = z.number().positive().max(86_400);
const byteCount = z.number().int().positive();

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The original's default SSRF block list, kept so its configs behave the same. */
export const DEFAULT_BLOCKED_URLS = [
  '^https?://localhost',
  '^https?://127\\.',
  '^https?://10\\.',
  '^https?://172\\.(1[6-9]|2[0-9]|3[01])\\.',
  '^https?://192\\.168\\.',
];

/** A JavaScript regular expression, checked here so a typo is a start-up error, not a silently skipped rule. */
const urlPattern = z.string().superRefine((pattern, ctx) => {
  try {
    new RegExp(pattern);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${error instanceof Error ? error.message : String(error)}` });
  }
});

/** A program name (PATH lookup) or absolute path; wildcards would defeat resolving each entry at start-up. */
const commandEntry = z.string().min(1).refine((entry) => !entry.includes('*'), 'wildcards are not supported: list each program by name or absolute path');

const securitySchema = z
  .strictObject({
    allowed_read_paths: z.array(z.string()).default([]),
    allowed_write_paths: z.array(z.string()).default([]),
    allowed_commands: z.array(commandEntry).default([]),
    tool_timeout_secs: positiveSeconds.default(30),
    max_read_bytes: byteCount.default(1024 * 1024),
    max_write_bytes: byteCount.default(10 * 1024 * 1024),
    max_output_bytes: byteCount.default(1024 * 1024),
    env_allowlist: z.array(z.string()).default([]),
    command_env: z.array(z.string()).default(['PATH', 'LANG', 'LC_ALL', 'TZ']),
    /** Deadline for one regex or JSONPath evaluation (regex.*, json.query); past it the worker is killed. */
    regex_timeout_ms: z.number().int().min(10).max(60_000).default(1000),
  })
  .prefault({});

/** A tenant id: what keys, tokens and every stored row are scoped by. */
export const tenantIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a tenant id is 1-64 letters, digits, "_", "." or "-", starting with a letter or digit');

/** One trusted OAuth 2.1 authorization server whose JWT access tokens Nexus accepts. */
const oauthIssuerSchema = z.strictObject({
  /** The `iss` value tokens carry (exact match). */
  issuer: z.url(),
  /** Where its signing keys are; discovered from the issuer's RFC 8414 / OIDC metadata when omitted. */
  jwks_uri: z.url().optional(),
  /** Expected `aud`; defaults to `auth.oauth.resource` (RFC 8707). */
  audience: z.string().min(1).optional(),
  /** Claim naming the tenant; without it every token of this issuer acts in `tenant`. */
  tenant_claim: z.string().min(1).optional(),
  tenant: tenantIdSchema.default('default'),
  /** Claim holding the scopes: a space-separated string ("scope") or an array ("scp"). */
  scopes_claim: z.string().min(1).default('scope'),
  /** Accepted JWS algorithms (asymmetric only: keys come from a public JWKS). */
  algorithms: z.array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'])).optional(),
});

const oauthSchema = z.strictObject({
  /** This server's canonical resource URI, e.g. "https://nexus.example.com/mcp": the tokens' audience. */
  resource: z.url(),
  issuers: z.array(oauthIssuerSchema).min(1),
  /** Scopes every token must carry; a token without them gets 403 insufficient_scope. */
  required_scopes: z.array(z.string().min(1)).default([]),
  /** Advertised in the protected-resource metadata. */
  scopes_supported: z.array(z.string().min(1)).optional(),
  clock_tolerance_secs: z.number().int().min(0).max(300).default(30),
  /** How long fetched signing keys are trusted before a refetch. */
  jwks_cache_secs: z.number().int().min(10).max(86_400).default(600),
});

const authSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    api_keys: z.array(z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256 hex digest of the key')).default([]),
    allow_health_unauthenticated: z.boolean().default(true),
    api_key_header: z.string().min(1).default('X-API-Key'),
    /** Tenant of the local user: stdio, the CLI and loopback HTTP without credentials. */
    stdio_tenant: tenantIdSchema.default('default'),
    /** OAuth 2.1 resource server (MCP authorization): validate bearer JWTs from these issuers. */
    oauth: oauthSchema.optional(),
  })
  .prefault({});

/** A token bucket: `burst_size` requests at once, refilled at `requests_per_second`. */
const bucketSchema = z.strictObject({
  requests_per_second: z.number().positive(),
  burst_size: z.number().int().positive(),
});

const rateLimitSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** Per authenticated principal (anonymous loopback callers: per socket address), HTTP requests. */
    requests_per_second: z.number().positive().default(100),
    burst_size: z.number().int().positive().default(50),
    /** Per tenant, HTTP requests, on top of the per-principal bucket. */
    per_tenant: bucketSchema.optional(),
    /** Per tenant and tool (keys are tool globs), tool calls. */
    per_tool: z.record(z.string().min(1), bucketSchema).default({}),
    /** Tool calls running at once per tenant (0 = no cap); applies even when `enabled` is false. */
    max_concurrent_per_tenant: z.number().int().min(0).default(64),
    /** Live buckets kept in memory before idle ones are forgotten. */
    max_buckets: z.number().int().min(100).default(100_000),
  })
  .prefault({});

/** Per-tenant limits; null means unlimited. */
const quotaFields = {
  calls_per_day: z.number().int().positive().nullable(),
  stored_bytes: z.number().int().positive().nullable(),
  memory_items: z.number().int().positive().nullable(),
};

const quotasSchema = z
  .strictObject({
    calls_per_day: quotaFields.calls_per_day.default(null),
    stored_bytes: quotaFields.stored_bytes.default(null),
    memory_items: quotaFields.memory_items.default(null),
  })
  .prefault({});

/** What one tenant may override; unset keys inherit the global setting. */
const tenantOverrideSchema = z.strictObject({
  /** Further restricts the globally enabled tools for this tenant. */
  tools: z.strictObject({ enabled: z.array(z.string()).optional(), disabled: z.array(z.string()).optional() }).optional(),
  rate_limit: z
    .strictObject({
      requests_per_second: z.number().positive().optional(),
      burst_size: z.number().int().positive().optional(),
      per_tenant: bucketSchema.optional(),
      per_tool: z.record(z.string().min(1), bucketSchema).optional(),
      max_concurrent: z.number().int().min(0).optional(),
    })
    .optional(),
  quotas: z.strictObject({ calls_per_day: quotaFields.calls_per_day.optional(), stored_bytes: quotaFields.stored_bytes.optional(), memory_items: quotaFields.memory_items.optional() }).optional(),
  /**
   * This tenant's file sandbox roots, used instead of the global ones (no merging). When present, an
   * omitted list means no folder: a tenant confined for reads must not inherit the global write roots.
   */
  security: z.strictObject({ allowed_read_paths: z.array(z.string()).optional(), allowed_write_paths: z.array(z.string()).optional() }).optional(),
});

const auditSchema = z
  .strictObject({
    /** Record every tool call and auth decision (arguments as a SHA-256 digest only). */
    enabled: z.boolean().default(true),
    /** Records older than this are deleted by a periodic sweep. */
    retention_days: z.number().int().min(1).max(36_500).default(90),
    /** Records are written in batches off the request path; at most this long after the call. */
    flush_interval_ms: z.number().int().min(10).max(60_000).default(250),
    batch_size: z.number().int().min(1).max(10_000).default(500),
  })
  .prefault({});

const httpClientSchema = z
  .strictObject({
    timeout_secs: positiveSeconds.default(30),
    max_response_bytes: byteCount.default(10 * 1024 * 1024),
    allowed_urls: z.array(urlPattern).default([]),
    blocked_urls: z.array(urlPattern).default(DEFAULT_BLOCKED_URLS),
    allowed_hosts: z.array(z.string()).default([]),
    user_agent: z.string().optional(),
    max_redirects: z.number().int().min(0).max(20).default(5),
  })
  .prefault({});

const httpServerSchema = z
  .strictObject({
    /** Largest POST body accepted on /mcp and /messages. */
    max_body_bytes: byteCount.default(4 * 1024 * 1024),
    /** Extra origins allowed besides loopback ones (e.g. "https://app.example.com"). */
    allowed_origins: z.array(z.string()).default([]),
    /** Extra Host header values allowed besides loopback names and the bind address. */
    allowed_hosts: z.array(z.string()).default([]),
    /** Serve the deprecated HTTP+SSE transport (/sse + /messages) for old clients. */
    legacy_sse: z.boolean().default(true),
    /** Answer with plain JSON when a request needs no streaming (false: always an SSE stream). */
    json_response: z.boolean().default(true),
    /** Idle MCP sessions are closed after this many seconds. */
    session_idle_secs: z.number().int().positive().default(3600),
    /** SSE retry hint (ms) sent with the priming event, used for polling/resumption. */
    sse_retry_ms: z.number().int().positive().default(1000),
    /** Events kept per session (all its streams, oldest dropped first) for Last-Event-ID resumption. */
    event_history: z.number().int().positive().default(1000),
  })
  .prefault({});

/** SQLite tuning. The file itself is `database_path` (default `<data_dir>/nexus.db`). */
const storageSchema = z
  .strictObject({
    /** SQLite busy_timeout: how long one attempt waits for another process's write lock. */
    busy_timeout_ms: z.number().int().min(0).max(60_000).default(2000),
    /** After busy_timeout, writes are retried (without blocking the event loop) for this long before DATABASE_BUSY. */
    busy_retry_secs: z.number().min(0).max(600).default(30),
    /** "normal": a commit survives a process crash (kill -9); "full": it also survives power loss, at an fsync per write. */
    synchronous: z.enum(['normal', 'full']).default('normal'),
  })
  .prefault({});

/**
 * Which embedder turns memory texts into vectors. "builtin": the offline GloVe embedder (no
 * download, no key). "openai": any OpenAI-compatible /v1/embeddings server (Ollama, llama.cpp,
 * vLLM, OpenAI); `url` and `model` are then required. `api_key` may be written as "${ENV_NAME}".
 */
const embedderSchema = z
  .strictObject({
    provider: z.enum(['builtin', 'openai']).default('builtin'),
    /** Base URL such as "http://127.0.0.1:11434/v1" (or the full …/embeddings endpoint). */
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    model: z.string().min(1).optional(),
    api_key: z.string().min(1).optional(),
    /** Most texts sent in one HTTP request. */
    batch_size: z.number().int().min(1).max(2048).default(64),
    timeout_secs: positiveSeconds.default(30),
    /** Extra attempts after 429, 5xx, timeouts and network errors (exponential backoff). */
    max_retries: z.number().int().min(0).max(10).default(3),
  })
  .superRefine((value, context) => {
    if (value.provider !== 'openai') return;
    for (const key of ['url', 'model'] as const) {
      if (value[key] === undefined) context.addIssue({ code: 'custom', path: [key], message: `is required when provider is "openai"` });
    }
  })
  .prefault({});

/** Persistent memory: key-value, conversations, search. */
const memorySchema = z
  .strictObject({
    /** Largest stored value (serialised JSON) or message (content + metadata), in bytes. */
    max_value_bytes: byteCount.default(1024 * 1024),
    /** Deepest nesting accepted in a stored JSON value. */
    max_value_depth: z.number().int().min(1).max(1000).default(64),
    /** How often expired key-value items are deleted. */
    sweep_interval_secs: z.number().int().positive().max(86_400).default(60),
    /** Texts embedded per embedder call by the background queue. */
    embed_batch_size: z.number().int().min(1).max(2048).default(64),
    embedder: embedderSchema,
  })
  .prefault({});

/** Workflow engine limits (workflow.run, saved workflows). */
const workflowsSchema = z
  .strictObject({
    /** Most tool steps in one workflow definition (parallel children count; foreach items do not). */
    max_steps: z.number().int().min(1).max(10_000).default(100),
    /** Deepest nesting of workflows calling workflows (a top-level workflow is level 1). */
    max_depth: z.number().int().min(1).max(16).default(4),
    /** Whole-run limit; a workflow's own timeout_secs may only lower it. */
    timeout_secs: positiveSeconds.default(300),
    /** Most items one foreach step may iterate. */
    max_foreach_items: z.number().int().min(1).max(1_000_000).default(1000),
    /** Highest foreach `concurrency` accepted. */
    max_concurrency: z.number().int().min(1).max(256).default(16),
    /** Largest workflow output kept in a run record (serialised JSON); larger outputs are recorded as truncated. */
    max_recorded_output_bytes: byteCount.default(256 * 1024),
    /** Finished run records older than this many days are deleted (at start-up and every few hours); 0 keeps them forever. */
    run_retention_days: z.number().int().min(0).max(36_500).default(30),
  })
  .prefault({});

const toolsSchema = z
  .strictObject({
    /** Glob patterns of tools to expose; a tool must match one. */
    enabled: z.array(z.string()).default(['*']),
    /** Glob patterns of tools to hide, applied after `enabled`. */
    disabled: z.array(z.string()).default([]),
  })
  .prefault({});

const commandPluginSchema = z.strictObject({
  name: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/, 'may only contain letters, digits, "_", "." and "-"'),
  description: z.string().optional(),
  command: z.string().min(1),
  args_template: z.array(z.string()).default([]),
  working_dir: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
  timeout_secs: positiveSeconds.default(30),
  input_schema: z.record(z.string(), z.unknown()).default({ type: 'object', properties: {} }),
  input_mode: z.enum(['args', 'stdin', 'env']).default('args'),
  output_mode: z.enum(['text', 'json']).default('text'),
  title: z.string().optional(),
  /** MCP tool hints; unset hints take the cautious side (may write, not idempotent, open world). */
  annotations: z
    .strictObject({ readOnlyHint: z.boolean().optional(), destructiveHint: z.boolean().optional(), idempotentHint: z.boolean().optional(), openWorldHint: z.boolean().optional() })
    .optional(),
  enabled: z.boolean().default(true),
});

const modulePluginSchema = z.strictObject({
  /** Path (relative to the config file) or package name of an ESM module exporting definePlugin(). */
  module: z.string().min(1),
  /** Optional name override check: the module's plugin name must equal this when given. */
  name: z.string().optional(),
  /** The plugin's own configuration slice, validated by the plugin. */
  config: z.unknown().optional(),
  enabled: z.boolean().default(true),
});

export const pluginEntrySchema = z.union([modulePluginSchema, commandPluginSchema]);

export const configSchema = z.strictObject({
  server_name: z.string().min(1).default('nexus'),
  server_version: z.string().optional(),
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(9000),
  log_level: z.enum(LOG_LEVELS).default('info'),
  json_logs: z.boolean().default(true),
  database_path: z.string().nullable().default(null),
  data_dir: z.string().default('~/.nexus'),
  extras_enabled: z.boolean().default(true),
  debug: z.boolean().default(false),
  request_log: z.string().nullable().default(null),
  /** "dotted" exposes `memory.store`; "underscore" exposes `memory_store`. Both forms resolve on call. */
  tool_names: z.enum(['dotted', 'underscore']).default('dotted'),
  /** Page size of every MCP list result. */
  page_size: z.number().int().min(1).max(1000).default(100),
  /** Seconds given to in-flight calls on shutdown before they are cancelled. */
  shutdown_grace_secs: z.number().min(0).max(600).default(10),
  /** Reload command plugins when the config file changes (tools/list_changed goes to clients). */
  watch_config: z.boolean().default(true),
  tools: toolsSchema,
  plugins: z.array(pluginEntrySchema).default([]),
  security: securitySchema,
  auth: authSchema,
  rate_limit: rateLimitSchema,
  quotas: quotasSchema,
  /** Per-tenant overrides, keyed by tenant id. */
  tenants: z.record(tenantIdSchema, tenantOverrideSchema).default({}),
  audit: auditSchema,
  http_client: httpClientSchema,
  http: httpServerSchema,
  storage: storageSchema,
  memory: memorySchema,
  workflows: workflowsSchema,
});

/** The validated, defaulted configuration. */
export type NexusConfig = z.infer<typeof configSchema>;
/** What a config file or override may contain before defaults. */
export type NexusConfigInput = z.input<typeof configSchema>;
export type CommandPluginConfig = z.infer<typeof commandPluginSchema>;
export type ModulePluginConfig = z.infer<typeof modulePluginSchema>;
export type PluginEntryConfig = z.infer<typeof pluginEntrySchema>;

export function isModulePluginConfig(entry: PluginEntryConfig): entry is ModulePluginConfig {
  return 'module' in entry;
}
