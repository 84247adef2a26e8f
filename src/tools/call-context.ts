import { randomUUID } from 'node:crypto';
import type { CallToolResult, CreateMessageRequest, CreateMessageResult, ElicitRequest, ElicitResult, LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal.js';
import type { Logger } from '../logging/index.js';
import type { CallAbort } from './call-abort.js';
import type { ToolCallRequest } from './executor.js';
import type { ClientLink, NestedCallOptions, ProgressUpdate, ToolContext } from './types.js';

/** What a CallContext needs from the executor that made it. */
export interface CallContextOwner {
  call(request: ToolCallRequest): Promise<CallToolResult>;
}

/**
 * The ToolContext of one call. A class rather than an object of closures because one is made
 * for every call: its parts (the AbortSignal, the child logger, the bound helpers) are made only
 * when a tool reaches for them. The helpers are getters returning arrow functions, so a tool may
 * destructure them (`execute(args, { progress })`) as it could with a plain object.
 */
export class CallContext implements ToolContext {
  private callLogger: Logger | undefined;

  constructor(
    private readonly owner: CallContextOwner,
    /** The call as requested: its name (what MCP log notifications name), principal and client link. */
    private readonly request: ToolCallRequest,
    private readonly abort: CallAbort,
    private readonly parentLogger: Logger,
    /** The canonical name of the tool being run. */
    private readonly toolName: string,
    readonly traceId: string,
    readonly depth: number,
  ) {}

  get principal(): Principal {
    return this.request.principal;
  }

  get client(): ClientLink {
    return this.request.link;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get logger(): Logger {
    this.callLogger ??= this.parentLogger.child({ tool: this.toolName, traceId: this.traceId });
    return this.callLogger;
  }

  get progress(): (update: ProgressUpdate) => Promise<void> {
    return (update) => this.client.progress(update);
  }

  get log(): (level: LoggingLevel, data: unknown) => Promise<void> {
    return (level, data) => this.client.log(level, data, this.request.name);
  }

  get elicit(): (params: ElicitRequest['params']) => Promise<ElicitResult> {
    return (params) => this.client.elicit(params, { signal: this.abort.signal });
  }

  get sample(): (params: CreateMessageRequest['params']) => Promise<CreateMessageResult> {
    return (params) => this.client.sample(params, { signal: this.abort.signal });
  }

  get callTool(): (name: string, args: Record<string, unknown>, options?: NestedCallOptions) => Promise<CallToolResult> {
    return (name, args, nested) =>
      this.owner.call({
        name,
        args,
        principal: this.principal,
        link: nested?.link ?? this.client,
        signal: nested?.signal ? AbortSignal.any([this.abort.signal, nested.signal]) : this.abort.signal,
        depth: this.depth + 1,
        traceId: `${this.traceId}.${randomUUID().slice(0, 8)}`,
      });
  }
}
