import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Clock } from '../auth/clock.js';
import { localPrincipal, type Principal } from '../auth/principal.js';
import type { RateLimiter } from '../auth/rate-limit.js';
import { AuthServices } from '../auth/services.js';
import { isModulePluginConfig, readProcessEnv, type NexusConfig } from '../config/index.js';
import { createLogger, RequestLog, type Logger } from '../logging/index.js';
import { loadModulePlugin, type LoadedPlugin } from '../plugins/module-plugin.js';
import { CommandPluginManager } from '../plugins/plugin-manager.js';
import { PromptRegistry } from '../protocol/prompts.js';
import { ResourceRegistry } from '../protocol/resources.js';
import { createProtocolServer, type CreateProtocolServerOptions } from '../protocol/server.js';
import { SessionHub, type ProtocolSession } from '../protocol/session-hub.js';
import { ToolTaskRunner } from '../protocol/tasks.js';
import { openDatabase, resolveDatabasePath, type SqliteDatabase } from '../storage/sqlite/database.js';
import { NexusError } from '../errors/index.js';
import { createEmbedder } from '../memory/embedders/index.js';
import type { Embedder } from '../memory/embedders/types.js';
import type { MemoryService } from '../memory/memory-service.js';
import { registerMemoryResources } from '../memory/resources.js';
import { createSqliteMemory } from '../memory/sqlite/index.js';
import { builtinTools, EXTRA_TOOL_PATTERNS } from '../tools/builtin/index.js';
import { detachedLink } from '../tools/detached-link.js';
import { ToolExecutor } from '../tools/executor.js';
import { ToolRegistry } from '../tools/registry.js';
import { WorkflowService } from '../workflows/service.js';
import { scopeSavedWorkflowTools } from '../workflows/tool-access.js';
import { savedWorkflowTool, workflowTools } from '../workflows/tools.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { NEXUS_VERSION } from './version.js';

export interface CreateRuntimeOptions {
  /** Defaults to a pino logger on stderr at the configured level. */
  logger?: Logger;
  /** The config file in use, for `nexus info`. */
  configFile?: string | null;
  /** Replaces the configured memory embedder (tests inject a small deterministic one); null turns semantic search off. */
  embedder?: Embedder | null;
  /** Time source for rate limits, key expiry, quotas and audit (tests inject a manual clock). */
  clock?: Clock;
  /** Replaces the in-process token buckets (a shared limiter for several instances). */
  rateLimiter?: RateLimiter;
}

/**
 * The composition root: builds registries, executor, plugins and services from one config.
 * No module-level state, so tests can run many runtimes in one process. `start()` loads
 * plugins; `close()` releases everything it opened, in reverse order.
 */
export class Runtime {
  readonly logger: Logger;
  readonly tools: ToolRegistry;
  readonly executor: ToolExecutor;
  readonly resources = new ResourceRegistry();
  readonly prompts = new PromptRegistry();
  readonly sessions: SessionHub;
  readonly version = NEXUS_VERSION;
  readonly configFile: string | null;
  readonly requestLog: RequestLog | undefined;
  /** Command plugins from config; reloaded when the config file changes (watch_config). */
  readonly commandPlugins: CommandPluginManager;
  /** Workflow engine, saved workflows (also exposed as workflow.<name> tools) and run records. */
  readonly workflows: WorkflowService;
  /** MCP tasks (task-augmented tools/call) for the tools that allow them. */
  readonly toolTasks: ToolTaskRunner;
  /** Authentication, scopes, rate limits, quotas, tenants and the audit log. */
  readonly auth: AuthServices;
  private readonly plugins: LoadedPlugin[] = [];
  private readonly closers: Array<() => Promise<void> | void> = [];
  private started = false;
  private closed = false;
  private databaseHandle: SqliteDatabase | undefined;
  private memoryService: MemoryService | undefined;
  private readonly options: CreateRuntimeOptions;

  constructor(
    readonly config: NexusConfig,
    options: CreateRuntimeOptions = {},
  ) {
    const level = config.debug && config.log_level !== 'trace' ? 'debug' : config.log_level;
    this.logger = options.logger ?? createLogger({ level });
    this.configFile = options.configFile ?? null;
    this.options = options;
    const disabled = config.extras_enabled ? config.tools.disabled : [...config.tools.disabled, ...EXTRA_TOOL_PATTERNS];
    this.tools = new ToolRegistry({ nameStyle: config.tool_names, enabled: config.tools.enabled, disabled });
    // Each nested workflow adds one call level; leave room for workflows.max_depth to be the limit that answers.
    const maxDepth = Math.max(8, config.workflows.max_depth + 1);
    this.executor = new ToolExecutor({ registry: this.tools, logger: this.logger, defaultTimeoutSecs: config.security.tool_timeout_secs, debug: config.debug, maxDepth });
    this.sessions = new SessionHub(this.logger);
    this.commandPlugins = new CommandPluginManager({ registry: this.tools, logger: this.logger, env: readProcessEnv(), security: config.security, configFile: this.configFile, cwd: process.cwd() });
    this.auth = new AuthServices({ config, logger: this.logger, database: () => this.database, clock: options.clock, rateLimiter: options.rateLimiter });
    this.auth.install(this.executor);
    this.onClose(() => this.auth.close());
    this.requestLog = config.request_log === null ? undefined : new RequestLog(config.request_log);
    for (const tool of builtinTools({ config, logger: this.logger, env: readProcessEnv(), onClose: (closer) => this.onClose(closer), memory: () => this.memory })) this.tools.register(tool);
    registerMemoryResources(this.resources, () => this.memory);
    // Tenant deletion and storage quotas reach memory without opening it before it is needed.
    this.auth.tenants.registerDataDeleter('memory', (tenant, options) => this.memory.deleteTenant(tenant, options));
    this.auth.quotas.registerUsageSource('memory', (tenant) => this.memory.usage(tenant));
    this.workflows = new WorkflowService({ registry: this.tools, config, logger: this.logger, database: () => this.database, savedTool: (saved) => savedWorkflowTool(this.workflows, this.tools, saved) });
    this.auth.tenants.registerDataDeleter('workflows', (tenant) => this.workflows.deleteTenant(tenant));
    for (const tool of workflowTools(this.workflows)) this.tools.register({ ...tool, source: 'builtin' });
    this.toolTasks = new ToolTaskRunner({ executor: this.executor, logger: this.logger });
    this.onClose(() => this.toolTasks.close());
    this.tools.on('changed', () => this.sessions.broadcast('tools'));
    this.resources.on('changed', () => this.sessions.broadcast('resources'));
    this.prompts.on('changed', () => this.sessions.broadcast('prompts'));
  }

  get serverVersion(): string {
    return this.config.server_version ?? this.version;
  }

  /**
   * The SQLite database shared by every store, opened on first use (so commands that never touch
   * storage, like `nexus --version`, never create it) and closed last by close(). Domains call
   * `runtime.database.migrate(domain, migrations)` before using their tables.
   */
  get database(): SqliteDatabase {
    if (this.databaseHandle === undefined) {
      if (this.closed) throw new NexusError('SHUTTING_DOWN', 'Nexus is shutting down; the database is closed');
      const database = openDatabase({
        path: resolveDatabasePath(this.config),
        logger: this.logger,
        busyTimeoutMs: this.config.storage.busy_timeout_ms,
        busyRetryMs: this.config.storage.busy_retry_secs * 1000,
        synchronous: this.config.storage.synchronous,
      });
      this.databaseHandle = database;
    }
    return this.databaseHandle;
  }

  /**
   * Key-value memory, conversations and search (memory.* tools, nexus:// resources), built on first
   * use over `database`. Its embedder is the configured one (offline GloVe by default).
   */
  get memory(): MemoryService {
    if (this.memoryService === undefined) {
      const clock = this.options.clock;
      const embedder = this.options.embedder !== undefined ? this.options.embedder : createEmbedder(this.config.memory.embedder, { dataDir: this.config.data_dir, logger: this.logger });
      const memory = createSqliteMemory(this.database, {
        embedder,
        logger: this.logger.child({ component: 'memory' }),
        limits: { maxBytes: this.config.memory.max_value_bytes, maxDepth: this.config.memory.max_value_depth },
        embedBatchSize: this.config.memory.embed_batch_size,
        sweepIntervalMs: this.config.memory.sweep_interval_secs * 1000,
        ...(clock === undefined ? {} : { clock: () => clock.now() }),
        onChange: (uri, tenant) => this.notifyResourceUpdated(uri, tenant),
        beforeWrite: (tenant, adding) => this.auth.quotas.assertCanStore(tenant, adding),
      });
      this.memoryService = memory;
      memory.start();
      this.onClose(() => memory.close());
    }
    return this.memoryService;
  }

  get loadedPlugins(): readonly LoadedPlugin[] {
    return this.plugins;
  }

  /** Loads module plugins; a failing plugin stops start-up with its PLUGIN_* error. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      for (const entry of this.config.plugins) {
        if (!isModulePluginConfig(entry) || !entry.enabled) continue;
        this.plugins.push(await loadModulePlugin(entry, { tools: this.tools, resources: this.resources, prompts: this.prompts, logger: this.logger, notifyResourceUpdated: (uri) => this.notifyResourceUpdated(uri) }));
      }
      // Command plugins (entries without "module"), then the watcher that hot-reloads them.
      this.commandPlugins.load(this.config);
      this.onClose(() => this.commandPlugins.close());
      if (this.configFile !== null && this.config.watch_config) await this.commandPlugins.watch();
      // After plugins, so saved workflows can name plugin tools; closed before the database.
      await this.workflows.start();
      this.onClose(() => this.workflows.close());
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Registers cleanup to run on close (last registered, first run). */
  onClose(closer: () => Promise<void> | void): void {
    this.closers.push(closer);
  }

  notifyResourceUpdated(uri: string, tenant?: string): void {
    this.sessions.resourceUpdated(uri, tenant);
  }

  /** Connects one MCP transport (a stdio pipe or an HTTP session) to a fresh protocol server. */
  async connect(transport: Transport, options: CreateProtocolServerOptions): Promise<ProtocolSession> {
    const { server, session } = createProtocolServer(
      {
        serverName: this.config.server_name,
        serverVersion: this.serverVersion,
        pageSize: this.config.page_size,
        tools: this.tools,
        executor: this.executor,
        resources: this.resources,
        prompts: this.prompts,
        sessions: this.sessions,
        logger: this.logger,
        toolAccess: scopeSavedWorkflowTools(this.auth.policy, { registry: this.tools, tenant: () => this.workflows.toolTenant }),
        tasks: this.toolTasks,
      },
      options,
    );
    await server.connect(transport);
    if (this.requestLog) tapTransport(transport, this.requestLog, options.transport, session.id);
    this.sessions.add(session);
    const chainedOnClose = transport.onclose;
    transport.onclose = () => {
      this.sessions.remove(session.id);
      chainedOnClose?.();
    };
    return session;
  }

  /** Runs one tool outside any MCP session (CLI `nexus run`, schedulers). */
  async callTool(name: string, args: unknown, principal: Principal = this.auth.localPrincipal): Promise<CallToolResult> {
    return this.executor.call({ name, args, principal, link: detachedLink() });
  }

  /** Graceful stop: no new calls, in-flight ones get the grace period, then everything closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.executor.shutdown(this.config.shutdown_grace_secs * 1000);
    for (const session of this.sessions.all()) {
      await session.server.close().catch(() => undefined);
    }
    for (const plugin of this.plugins.splice(0).reverse()) {
      await plugin.unload().catch((error: unknown) => this.logger.error({ err: error, plugin: plugin.name }, 'plugin teardown failed'));
    }
    for (const closer of this.closers.splice(0).reverse()) {
      await Promise.resolve(closer()).catch((error: unknown) => this.logger.error({ err: error }, 'close step failed'));
    }
    // After every closer: stores flush their last writes in their own close steps.
    this.databaseHandle?.close();
    await this.requestLog?.close();
    this.logger.flush?.();
  }
}

/** Creates a runtime and loads its plugins. */
export async function createRuntime(config: NexusConfig, options: CreateRuntimeOptions = {}): Promise<Runtime> {
  const runtime = new Runtime(config, options);
  await runtime.start();
  return runtime;
}

/** Mirrors every message through a transport into the request log. */
function tapTransport(transport: Transport, log: RequestLog, name: string, session: string): void {
  const receive = transport.onmessage;
  transport.onmessage = (message: JSONRPCMessage, extra) => {
    log.write({ direction: 'in', transport: name, session, message });
    receive?.(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    log.write({ direction: 'out', transport: name, session, message });
    return send(message, options);
  };
}

export { localPrincipal };
