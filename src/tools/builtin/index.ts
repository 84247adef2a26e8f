import type { NexusConfig } from '../../config/index.js';
import type { Logger } from '../../logging/index.js';
import type { MemoryService } from '../../memory/memory-service.js';
import { SandboxResolver } from '../../security/sandbox-resolver.js';
import type { Tool } from '../types.js';
import { basicTools } from './basic.js';
import { cmdTools } from './cmd.js';
import { dataTools } from './data.js';
import { EvalSandbox } from './eval-sandbox.js';
import { fsTools } from './fs.js';
import { httpTools } from './http.js';
import { conversationTools } from './memory-conversations.js';
import { memoryTools } from './memory.js';
import { systemTools } from './system.js';

/** What built-in tool families may depend on. */
export interface BuiltinToolDeps {
  readonly config: NexusConfig;
  readonly logger: Logger;
  /** Snapshot of the process environment (from config's readProcessEnv()); never process.env itself. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Registers cleanup for resources the tools hold (worker threads); run by Runtime.close(). */
  readonly onClose: (closer: () => Promise<void> | void) => void;
  /** The memory service, resolved on first use (opening the database then, not at start-up). */
  readonly memory: () => MemoryService;
}

/** Every built-in tool, before enable/disable filtering. */
export function builtinTools(deps: BuiltinToolDeps): Tool[] {
  const { config, logger, env } = deps;
  const evalSandbox = new EvalSandbox({ timeoutMs: config.security.regex_timeout_ms });
  deps.onClose(() => evalSandbox.close());
  const sandboxes = new SandboxResolver({ config, logger });
  return [
    ...basicTools(),
    ...dataTools(evalSandbox),
    ...systemTools({ env, envAllowlist: config.security.env_allowlist }),
    ...fsTools({ sandboxes, config }),
    ...cmdTools({ config, logger, env, sandboxes }),
    ...httpTools({ config }),
    ...memoryTools(deps.memory, { embedderIsRemote: config.memory.embedder.provider !== 'builtin' }),
    ...conversationTools(deps.memory, { embedderIsRemote: config.memory.embedder.provider !== 'builtin' }),
  ].map((tool) => ({ ...tool, source: 'builtin' as const }));
}

/**
 * The original's core set (v0.2.0's 18 plus env.get, env.list, sys.info). With
 * `extras_enabled: false` (or `--core-only`) every other built-in, workflow and alias is hidden;
 * plugin tools stay, since the operator configured them explicitly.
 */
export const CORE_TOOL_NAMES: readonly string[] = [
  'echo', 'get_time', 'uuid.generate', 'fs.read_file', 'fs.write_file', 'cmd.exec',
  'memory.store', 'memory.recall', 'memory.delete', 'memory.list', 'http.request',
  'env.get', 'env.list', 'sys.info', 'base64.encode', 'base64.decode', 'json.parse',
  'json.query', 'hash.sha256', 'regex.match', 'regex.replace',
];

/** Glob patterns for what `extras_enabled: false` hides. */
export const EXTRA_TOOL_PATTERNS: readonly string[] = [
  'fs.list_dir', 'fs.stat', 'memory.conversation.*', 'memory.search', 'memory.embed', 'conversation.*', 'workflow.*', 'tools.chain',
];
