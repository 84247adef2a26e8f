import type {
  CallToolResult,
  ContentBlock,
  CreateMessageRequest,
  CreateMessageResult,
  ElicitRequest,
  ElicitResult,
  LoggingLevel,
  ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import type { Logger } from '../logging/index.js';

/** A JSON Schema object as sent on the wire (`inputSchema`, `outputSchema`). */
export type JsonSchemaObject = { type: 'object'; properties?: Record<string, unknown>; required?: string[] } & Record<string, unknown>;

/** A schema given either as zod (built-ins, module plugins) or raw JSON Schema (config plugins). */
export type ToolSchema<T> = z.ZodType<T> | JsonSchemaObject;

export interface ProgressUpdate {
  progress: number;
  total?: number | undefined;
  message?: string | undefined;
}

/**
 * The channel back to the client that made a call. The protocol layer supplies it; the CLI and
 * tests supply a detached one. Methods reject with CAPABILITY_UNSUPPORTED when the client lacks
 * the capability.
 */
export interface ClientLink {
  /** Sends notifications/progress when the client asked for progress; otherwise a no-op. */
  progress(update: ProgressUpdate): Promise<void>;
  /** Sends notifications/message at or above the session's log level. */
  log(level: LoggingLevel, data: unknown, logger?: string): Promise<void>;
  elicit(params: ElicitRequest['params'], options?: { signal?: AbortSignal }): Promise<ElicitResult>;
  sample(params: CreateMessageRequest['params'], options?: { signal?: AbortSignal }): Promise<CreateMessageResult>;
  /** Closes the HTTP response stream so the client reconnects and resumes (SSE polling). */
  closeStream?: (() => void) | undefined;
  /** True when the client supplied a progress token. */
  readonly wantsProgress: boolean;
  readonly sessionId?: string | undefined;
}

/** Per-call options for `ToolContext.callTool`. */
export interface NestedCallOptions {
  /** Aborts the nested call in addition to the caller's own signal. */
  signal?: AbortSignal | undefined;
  /** The client channel the nested call sees; defaults to the caller's. */
  link?: ClientLink | undefined;
}

/**
 * What a tool sees while it runs. Its members may be destructured (`execute(input, { signal,
 * progress })`); the object itself is a class instance whose helpers live on its prototype, so
 * pass it on whole rather than copying it with `{ ...context }`.
 */
export interface ToolContext {
  /** Aborted on cancellation, timeout or shutdown: pass it to everything that waits. */
  readonly signal: AbortSignal;
  readonly traceId: string;
  readonly principal: Principal;
  readonly logger: Logger;
  /** Nesting depth: 0 for a direct call, +1 for each workflow level. */
  readonly depth: number;
  // Function-valued properties rather than methods: they are bound, so destructuring them is safe.
  readonly progress: (update: ProgressUpdate) => Promise<void>;
  readonly log: (level: LoggingLevel, data: unknown) => Promise<void>;
  readonly elicit: (params: ElicitRequest['params']) => Promise<ElicitResult>;
  readonly sample: (params: CreateMessageRequest['params']) => Promise<CreateMessageResult>;
  /**
   * Calls another tool through the same executor, as the same principal, one level deeper.
   * `options.signal` aborts just this nested call (a workflow step's own timeout); `options.link`
   * replaces the client channel for it (a workflow keeps the client's progress sequence its own).
   */
  readonly callTool: (name: string, args: Record<string, unknown>, options?: NestedCallOptions) => Promise<CallToolResult>;
  readonly client: ClientLink;
}

/**
 * What `execute` returns. `data` becomes `structuredContent` (and the text content, compact JSON,
 * unless `text` is given); `content` replaces the generated content entirely.
 */
export interface ToolOutput {
  data?: unknown;
  text?: string;
  content?: ContentBlock[];
  /** Marks a result as a tool-level failure while still returning data (e.g. non-zero exit). */
  isError?: boolean;
}

/** The one tool shape: built-ins, plugins and workflows all register this. */
export interface Tool<Input = unknown> {
  name: string;
  title?: string;
  description: string;
  inputSchema: ToolSchema<Input>;
  outputSchema?: ToolSchema<unknown>;
  annotations?: ToolAnnotations;
  /** The tool's own time limit in seconds; the configured default applies otherwise. */
  timeoutSecs?: number;
  /** Where it comes from, for `nexus tools` and `nexus info`. */
  source?: 'builtin' | 'plugin' | 'command-plugin' | 'workflow' | 'fixture';
  /** Whether a client may run it as an MCP task (`execution.taskSupport`); absent means forbidden. */
  taskSupport?: 'optional' | undefined;
  /**
   * Runs the tool. A tool with nothing to wait for may return its output directly: the executor
   * then skips the timeout and cancellation watch a promise needs.
   */
  execute(input: Input, context: ToolContext): ToolOutput | Promise<ToolOutput>;
}

/** Identity function that keeps a tool's input type tied to its zod schema. */
export function defineTool<Input>(tool: Tool<Input> & { inputSchema: z.ZodType<Input> }): Tool<Input> {
  return tool;
}
