import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitRequest,
  type ElicitResult,
  type LoggingLevel,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { NexusError, toJsonRpcError } from '../errors/index.js';
import type { Principal } from '../auth/principal.js';
import type { Logger } from '../logging/index.js';
import type { ToolExecutor } from '../tools/executor.js';
import type { RegisteredTool, ToolRegistry } from '../tools/registry.js';
import type { ClientLink, ProgressUpdate } from '../tools/types.js';
import { paginate } from './pagination.js';
import type { PromptRegistry } from './prompts.js';
import type { ResourceRegistry } from './resources.js';
import type { ProtocolSession, SessionHub } from './session-hub.js';
import type { ToolTaskRunner } from './tasks.js';

/** What the protocol layer needs from the runtime. */
export interface ProtocolServices {
  readonly serverName: string;
  readonly serverVersion: string;
  readonly pageSize: number;
  readonly tools: ToolRegistry;
  readonly executor: ToolExecutor;
  readonly resources: ResourceRegistry;
  readonly prompts: PromptRegistry;
  readonly sessions: SessionHub;
  readonly logger: Logger;
  /** Per-principal tool visibility (scopes, tenant overrides); everything is visible without it. */
  readonly toolAccess?: ToolAccess | undefined;
  /** MCP tasks for tools that declare taskSupport; without it the tasks capability is not offered. */
  readonly tasks?: ToolTaskRunner | undefined;
}

/** Which tools a caller sees: the spec lets tools/list vary per authorization. */
export interface ToolAccess {
  /** Listed for this principal (tenant overrides and the principal's own scopes). */
  visible(principal: Principal, tool: string): boolean;
  /** Exists for this tenant at all; calling any other tool is "unknown tool". */
  tenantAllows(tenant: string, tool: string): boolean;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface CreateProtocolServerOptions {
  transport: string;
  /** Who is calling: the local user on stdio, the authenticated principal on HTTP. */
  principalFor(extra: Extra): Principal;
}

const INSTRUCTIONS =
  'Nexus is an MCP runtime: built-in tools (files, commands, HTTP, JSON, text), persistent memory with semantic search, ' +
  'plugins and workflows. Tool names are dotted (memory.store); the underscore form (memory_store) also works.';

const LEVEL_ORDER = LoggingLevelSchema.options;

/**
 * The SDK checks elicitation answers against the requested schema with Ajv. Left to itself it
 * sets up a fresh Ajv for every Server, i.e. every connection, at a cost of milliseconds each;
 * one shared instance made on the first elicitation serves them all.
 */
let elicitationAjv: AjvJsonSchemaValidator | undefined;
const sharedSchemaValidator: jsonSchemaValidator = {
  getValidator: (schema) => (elicitationAjv ??= new AjvJsonSchemaValidator()).getValidator(schema),
};

/**
 * Builds one SDK `Server` for one client connection and wires it to the runtime's registries.
 * The SDK owns JSON-RPC framing, the handshake, version negotiation, ping, cancellation and
 * progress plumbing; this module maps our registries and errors onto it.
 */
export function createProtocolServer(services: ProtocolServices, options: CreateProtocolServerOptions): { server: Server; session: ProtocolSession } {
  const server = new Server(
    { name: services.serverName, version: services.serverVersion, title: 'Nexus' },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        completions: {},
        logging: {},
        ...(services.tasks ? { tasks: services.tasks.capability } : {}),
      },
      instructions: INSTRUCTIONS,
      jsonSchemaValidator: sharedSchemaValidator,
      ...(services.tasks ? { taskStore: services.tasks.store } : {}),
    },
  );
  const session: ProtocolSession = { id: randomUUID(), transport: options.transport, server, subscriptions: new Set(), tenant: 'default' };
  let minimumLevel: LoggingLevel = 'info';
  const principal = (extra: Extra): Principal => {
    const resolved = options.principalFor(extra);
    session.tenant = resolved.tenant;
    return resolved;
  };

  // Handlers map NexusErrors to JSON-RPC errors once, here.
  const handle = <T>(work: () => Promise<T>): Promise<T> =>
    work().catch((error: unknown) => {
      if (!NexusError.is(error)) services.logger.error({ err: error }, 'protocol handler failed');
      throw toJsonRpcError(error);
    });

  const minimumLevelOf = (): LoggingLevel => minimumLevel;

  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    minimumLevel = request.params.level;
    return {};
  });

  server.setRequestHandler(ListToolsRequestSchema, (request, extra) =>
    handle(async () => {
      const caller = principal(extra);
      const access = services.toolAccess;
      const permitted = access ? services.tools.list().filter((entry) => access.visible(caller, entry.tool.name)) : services.tools.list();
      const described = permitted.map((entry) => services.tools.describe(entry));
      const { page, nextCursor } = paginate(described, { list: 'tools', cursor: request.params?.cursor, pageSize: services.pageSize });
      return { tools: page, ...(nextCursor ? { nextCursor } : {}) };
    }),
  );

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    // An unknown tool is a protocol error (-32602); everything after that, bad arguments included,
    // is a tool result with isError so the model can correct itself (SEP-1303).
    // A tool the caller's tenant has switched off is unknown to it; one outside the caller's own
    // scopes reaches the executor, which refuses it with FORBIDDEN and an audit record.
    const caller = principal(extra);
    let entry: RegisteredTool;
    try {
      entry = services.tools.resolve(request.params.name);
      if (services.toolAccess && !services.toolAccess.tenantAllows(caller.tenant, entry.tool.name)) {
        throw new NexusError('TOOL_NOT_FOUND', `Unknown tool: ${request.params.name}`, { details: { tool: request.params.name } });
      }
    } catch (error) {
      throw toJsonRpcError(error);
    }
    const tasks = services.tasks;
    if (request.params.task !== undefined && tasks) return handle(() => tasks.start({ entry, request, extra, principal: caller }));
    const link = new SdkClientLink(server, extra, minimumLevelOf, session.id);
    return services.executor.call({ name: request.params.name, args: request.params.arguments ?? {}, principal: caller, link, signal: extra.signal });
  });

  server.setRequestHandler(ListResourcesRequestSchema, (request, extra) =>
    handle(async () => {
      const all = await services.resources.list({ principal: principal(extra), signal: extra.signal });
      const { page, nextCursor } = paginate(all, { list: 'resources', cursor: request.params?.cursor, pageSize: services.pageSize });
      return { resources: page, ...(nextCursor ? { nextCursor } : {}) };
    }),
  );

  server.setRequestHandler(ListResourceTemplatesRequestSchema, (request) =>
    handle(async () => {
      const { page, nextCursor } = paginate(services.resources.listTemplates(), { list: 'templates', cursor: request.params?.cursor, pageSize: services.pageSize });
      return { resourceTemplates: page, ...(nextCursor ? { nextCursor } : {}) };
    }),
  );

  server.setRequestHandler(ReadResourceRequestSchema, (request, extra) =>
    handle(async () => ({ contents: await services.resources.read(request.params.uri, { principal: principal(extra), signal: extra.signal }) })),
  );

  server.setRequestHandler(SubscribeRequestSchema, (request, extra) =>
    handle(async () => {
      principal(extra);
      session.subscriptions.add(request.params.uri);
      return {};
    }),
  );

  server.setRequestHandler(UnsubscribeRequestSchema, (request) =>
    handle(async () => {
      session.subscriptions.delete(request.params.uri);
      return {};
    }),
  );

  server.setRequestHandler(ListPromptsRequestSchema, (request) =>
    handle(async () => {
      const { page, nextCursor } = paginate(services.prompts.list(), { list: 'prompts', cursor: request.params?.cursor, pageSize: services.pageSize });
      return { prompts: page, ...(nextCursor ? { nextCursor } : {}) };
    }),
  );

  server.setRequestHandler(GetPromptRequestSchema, (request, extra) =>
    handle(() => services.prompts.get(request.params.name, request.params.arguments ?? {}, { principal: principal(extra), signal: extra.signal })),
  );

  server.setRequestHandler(CompleteRequestSchema, (request, extra) =>
    handle(async () => {
      const { ref, argument, context } = request.params;
      const completer = ref.type === 'ref/prompt' ? services.prompts.completer(ref.name, argument.name) : services.resources.completer(ref.uri, argument.name);
      const values = completer ? await completer(argument.value, { arguments: context?.arguments ?? {}, principal: principal(extra) }) : [];
      return { completion: { values: values.slice(0, 100), total: values.length, hasMore: values.length > 100 } };
    }),
  );

  return { server, session };
}

/**
 * A tool call's channel back to the client, over the SDK's request context. A class because one
 * is made per call and most calls never use it: prototype methods instead of a fresh set of
 * closures each time.
 */
class SdkClientLink implements ClientLink {
  private lastProgress = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly server: Server,
    private readonly extra: Extra,
    private readonly minimumLevel: () => LoggingLevel,
    readonly sessionId: string,
  ) {}

  get wantsProgress(): boolean {
    return this.extra._meta?.progressToken !== undefined;
  }

  get closeStream(): (() => void) | undefined {
    return this.extra.closeSSEStream;
  }

  async progress(update: ProgressUpdate): Promise<void> {
    const progressToken = this.extra._meta?.progressToken;
    // The spec requires progress to increase; drop updates that would break that.
    if (progressToken === undefined || update.progress <= this.lastProgress || this.extra.signal.aborted) return;
    this.lastProgress = update.progress;
    await this.extra.sendNotification({
      method: 'notifications/progress',
      params: { progressToken, progress: update.progress, ...(update.total === undefined ? {} : { total: update.total }), ...(update.message === undefined ? {} : { message: update.message }) },
    });
  }

  async log(level: LoggingLevel, data: unknown, logger?: string): Promise<void> {
    if (LEVEL_ORDER.indexOf(level) < LEVEL_ORDER.indexOf(this.minimumLevel()) || this.extra.signal.aborted) return;
    await this.extra.sendNotification({ method: 'notifications/message', params: { level, data, ...(logger === undefined ? {} : { logger }) } });
  }

  async elicit(params: ElicitRequest['params'], callOptions?: { signal?: AbortSignal }): Promise<ElicitResult> {
    this.requireCapability('elicitation');
    return this.extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema, { signal: callOptions?.signal ?? this.extra.signal });
  }

  async sample(params: CreateMessageRequest['params'], callOptions?: { signal?: AbortSignal }): Promise<CreateMessageResult> {
    this.requireCapability('sampling');
    return this.extra.sendRequest({ method: 'sampling/createMessage', params }, CreateMessageResultSchema, { signal: callOptions?.signal ?? this.extra.signal });
  }

  private requireCapability(name: 'sampling' | 'elicitation'): void {
    if (!this.server.getClientCapabilities()?.[name]) {
      throw new NexusError('CAPABILITY_UNSUPPORTED', `The connected client does not support ${name}`, { details: { capability: name } });
    }
  }
}
