/**
 * The one catalogue of Nexus error codes. Every `NexusError` carries one of these codes; each
 * boundary (MCP tool result, JSON-RPC, HTTP, CLI) maps it through this table, and
 * `docs/errors.md` documents every row (a test keeps the two in sync).
 */
export interface ErrorCodeSpec {
  /** HTTP status used when the error crosses the HTTP boundary. */
  readonly httpStatus: number;
  /** JSON-RPC error code used when the error is a protocol fault rather than a tool failure. */
  readonly jsonRpcCode: number;
  /** CLI exit code: 2 for usage/config problems, 1 for runtime failures. */
  readonly exitCode: 1 | 2;
  /** One sentence for docs/errors.md. */
  readonly description: string;
}

const INVALID_PARAMS = -32602;
const INTERNAL = -32603;
const INVALID_REQUEST = -32600;

function spec(httpStatus: number, jsonRpcCode: number, description: string, exitCode: 1 | 2 = 1): ErrorCodeSpec {
  return { httpStatus, jsonRpcCode, exitCode, description };
}

export const ERROR_CODES = {
  // Configuration and usage
  CONFIG_PARSE_ERROR: spec(500, INTERNAL, 'The configuration file is not valid JSON; the message names the line and column.', 2),
  CONFIG_INVALID: spec(500, INTERNAL, 'The configuration does not match the schema (unknown key, wrong type, bad value); every problem is listed with its JSON path and line.', 2),
  CONFIG_NOT_FOUND: spec(500, INTERNAL, 'A configuration file named with -c/--config or NEXUS_CONFIG does not exist.', 2),
  USAGE_ERROR: spec(400, INVALID_PARAMS, 'The command line is malformed (unknown option, missing or invalid value).', 2),
  INSECURE_BIND: spec(500, INTERNAL, 'HTTP was asked to bind a non-loopback address while no authentication is configured.', 2),

  // Tools and the executor
  TOOL_NOT_FOUND: spec(404, INVALID_PARAMS, 'No enabled tool has that name (dotted or underscore form).'),
  INVALID_ARGUMENTS: spec(400, INVALID_PARAMS, 'Tool arguments do not match its input schema; details list each field and problem.'),
  TOOL_TIMEOUT: spec(504, INTERNAL, 'The tool did not finish within its time limit (security.tool_timeout_secs or the tool\'s own limit) and was aborted.'),
  CANCELLED: spec(499, INTERNAL, 'The call was cancelled by the client (notifications/cancelled) or by shutdown.'),
  TOOL_EXECUTION_FAILED: spec(500, INTERNAL, 'The tool ran and reported a failure; details carry what it knows.'),
  OUTPUT_INVALID: spec(500, INTERNAL, 'The tool produced output that does not match its declared output schema (a bug in the tool).'),
  DUPLICATE_TOOL: spec(500, INTERNAL, 'Two tools (built-in or plugin) were registered under the same name.', 2),
  SHUTTING_DOWN: spec(503, INTERNAL, 'Nexus is shutting down and accepts no new calls.'),

  // Client capabilities
  CAPABILITY_UNSUPPORTED: spec(400, INVALID_REQUEST, 'The tool needs a client capability (sampling, elicitation) that the connected client did not declare.'),

  // Resources, prompts, lists
  RESOURCE_NOT_FOUND: spec(404, -32002, 'No resource exists at that URI.'),
  PROMPT_NOT_FOUND: spec(404, INVALID_PARAMS, 'No prompt has that name.'),
  INVALID_CURSOR: spec(400, INVALID_PARAMS, 'A pagination cursor was not issued by this server or is malformed.'),

  // Plugins
  PLUGIN_LOAD_FAILED: spec(500, INTERNAL, 'A module plugin could not be imported or its setup() threw; Nexus does not start half-loaded.', 2),
  PLUGIN_INVALID: spec(500, INTERNAL, 'A plugin does not export a valid definePlugin() object or a plugin entry in config is malformed.', 2),
  PLUGIN_TIMEOUT: spec(504, INTERNAL, 'A plugin command did not finish within its timeout and was killed.'),

  // HTTP boundary
  PAYLOAD_TOO_LARGE: spec(413, INVALID_REQUEST, 'The HTTP request body exceeds the configured size limit.'),
  FORBIDDEN_ORIGIN: spec(403, INVALID_REQUEST, 'The request\'s Origin or Host header is not allowed (DNS-rebinding protection).'),
  UNAUTHORIZED: spec(401, INVALID_REQUEST, 'Authentication is required and no valid credential was presented.'),
  FORBIDDEN: spec(403, INVALID_REQUEST, 'The authenticated principal may not do this (scope or tool permission).'),
  RATE_LIMITED: spec(429, INVALID_REQUEST, 'Too many requests for this principal, tenant or tool; retry after the indicated delay.'),
  NOT_FOUND: spec(404, INVALID_REQUEST, 'No such HTTP route or MCP session.'),
  QUOTA_EXCEEDED: spec(429, INVALID_REQUEST, "The tenant's quota (tool calls per day, stored bytes or memory items) is used up; the call was refused and nothing already stored was changed."),

  // Tenants and API keys
  TENANT_NOT_FOUND: spec(404, INVALID_PARAMS, 'No tenant has that id; create it first with `nexus tenants create`.'),
  TENANT_EXISTS: spec(409, INVALID_PARAMS, 'A tenant with that id already exists.'),
  API_KEY_NOT_FOUND: spec(404, INVALID_PARAMS, 'No API key has that id (see `nexus keys list`).'),

  // Data tools (base64, json, regex)
  INVALID_BASE64: spec(400, INVALID_PARAMS, 'The text is not valid base64 (wrong alphabet, padding or length); details give the position of the first bad character.'),
  NOT_UTF8: spec(422, INVALID_PARAMS, 'The bytes are not valid UTF-8 text; ask for them as base64 or hex instead.'),
  INVALID_JSON: spec(400, INVALID_PARAMS, 'The text is not valid JSON; details give the position, line and column of the first problem.'),
  INVALID_JSON_PATH: spec(400, INVALID_PARAMS, 'The json.query path is malformed (dotted path or RFC 9535 JSONPath); details give the position when known.'),
  JSON_PATH_NOT_FOUND: spec(404, INVALID_PARAMS, 'A dotted json.query path names a key that does not exist or an index out of bounds.'),
  JSON_QUERY_TIMEOUT: spec(422, INVALID_PARAMS, 'A JSONPath query ran longer than security.regex_timeout_ms and was stopped; the server keeps serving.'),
  INVALID_REGEX: spec(400, INVALID_PARAMS, 'The regular expression does not compile; the message says why.'),
  REGEX_TIMEOUT: spec(422, INVALID_PARAMS, 'The regular expression ran longer than security.regex_timeout_ms (catastrophic backtracking) and was stopped; the server keeps serving.'),
  RESULT_TOO_LARGE: spec(413, INVALID_PARAMS, 'The result would exceed the size or memory limit for one call.'),

  // System tools
  ENV_NOT_ALLOWED: spec(403, INVALID_REQUEST, 'The environment variable is not named in security.env_allowlist.'),

  // Commands and outbound HTTP
  COMMAND_NOT_ALLOWED: spec(403, INVALID_REQUEST, 'The program is not in security.allowed_commands (entries are resolved to absolute paths at start-up; names, paths and symlinks are compared after resolution).'),
  URL_NOT_ALLOWED: spec(403, INVALID_REQUEST, 'The URL is refused by the http_client policy: not http(s), matched blocked_urls, or matched neither allowed_urls nor allowed_hosts.'),
  SSRF_BLOCKED: spec(403, INVALID_REQUEST, 'The host resolves to, redirects to or connected to a loopback, private, link-local, metadata or other non-public address that no explicit allow-list entry admits.'),
  HTTP_REQUEST_FAILED: spec(502, INTERNAL, 'The outbound HTTP request failed before a usable response (DNS, connection, TLS, or more redirects than http_client.max_redirects).'),

  // File tools
  PATH_NOT_ALLOWED: spec(403, INVALID_REQUEST, 'The path is outside the configured read or write roots (or does not exist there: outside the roots the two look the same).'),
  FILE_NOT_FOUND: spec(404, INVALID_PARAMS, 'No file or folder exists at that path inside an allowed root.'),
  NOT_A_FILE: spec(400, INVALID_PARAMS, 'The path names a folder or special file where a regular file is needed.'),
  NOT_A_DIRECTORY: spec(400, INVALID_PARAMS, 'The path (or one of its parents) is not a folder where a folder is needed.'),
  FILE_TOO_LARGE: spec(413, INVALID_PARAMS, 'The content to write exceeds security.max_write_bytes.'),

  // Memory embeddings
  EMBEDDER_FAILED: spec(502, INTERNAL, 'The embedder could not produce vectors (HTTP embedder unreachable, timed out, rejected the request or answered in an unexpected shape; offline table unreadable).'),

  // Storage and memory
  DATABASE_OPEN_FAILED: spec(500, INTERNAL, 'The database file could not be opened, created or prepared (unwritable path, not a SQLite file, sqlite-vec not loadable); Nexus never falls back to a throw-away in-memory store.'),
  DATABASE_TOO_NEW: spec(500, INTERNAL, 'The database was migrated by a newer Nexus than this one; upgrade Nexus or point database_path at another file.', 2),
  DATABASE_BUSY: spec(503, INTERNAL, 'Another process held the database write lock longer than storage.busy_retry_secs; the write was not applied.'),
  VALUE_TOO_LARGE: spec(413, INVALID_PARAMS, 'A stored value or message exceeds memory.max_value_bytes.'),
  INVALID_VALUE: spec(400, INVALID_PARAMS, 'A value cannot be stored losslessly as JSON (NaN or Infinity, a lone UTF-16 surrogate, nesting deeper than memory.max_value_depth, or a non-JSON type).'),
  CONVERSATION_NOT_FOUND: spec(404, INVALID_PARAMS, 'No conversation with that id exists for this tenant.'),
  EMBEDDER_UNAVAILABLE: spec(503, INTERNAL, 'Semantic search or memory.embed was asked for while no embedder is configured or it failed to load.'),

  // Workflows
  WORKFLOW_INVALID: spec(400, INVALID_PARAMS, 'A workflow definition is malformed (shape, unknown tool, duplicate step id, a template or condition that does not parse or names a later step); details.problems lists every problem by JSON path, and no step ran.'),
  WORKFLOW_TEMPLATE_ERROR: spec(422, INVALID_PARAMS, 'A step\'s template, condition or foreach could not be evaluated at run time (a path that does not exist in an earlier result, a comparison of incompatible types); details name the step and the reference.'),
  WORKFLOW_NOT_FOUND: spec(404, INVALID_PARAMS, 'No saved workflow (or version of it) with that name exists for this tenant.'),
  WORKFLOW_RUN_NOT_FOUND: spec(404, INVALID_PARAMS, 'No workflow run with that id exists for this tenant.'),
  WORKFLOW_LIMIT_EXCEEDED: spec(422, INVALID_PARAMS, 'A workflow exceeds a configured limit: workflows.max_steps, max_depth (workflows nested in workflows) or max_foreach_items.'),
  WORKFLOW_CYCLE: spec(508, INVALID_PARAMS, 'A workflow calls itself, directly or through other saved workflows; the call was refused before it ran.'),
  WORKFLOW_TIMEOUT: spec(504, INTERNAL, 'The workflow did not finish within workflows.timeout_secs (or its own timeout_secs); the running step was aborted and the rest skipped.'),
  WORKFLOW_INTERRUPTED: spec(500, INTERNAL, 'The run was still in progress when the Nexus process running it stopped (crash, kill); the next start marked it failed.'),
  TASK_NOT_SUPPORTED: spec(400, -32601, 'A task-augmented tools/call named a tool whose execution.taskSupport does not allow tasks (only workflow tools do); call it without `task`.'),

  INTERNAL_ERROR: spec(500, INTERNAL, 'An unexpected fault inside Nexus; the trace id in details finds it in the logs.'),
} as const satisfies Record<string, ErrorCodeSpec>;

/** Every error code Nexus can produce. */
export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}
