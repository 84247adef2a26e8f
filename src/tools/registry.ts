import { EventEmitter } from 'node:events';
import picomatch from 'picomatch';
import type { Tool as WireTool } from '@modelcontextprotocol/sdk/types.js';
import { NexusError } from '../errors/index.js';
import { compileSchema, lazyAjv, type CompiledSchema } from './schema.js';
import type { Tool } from './types.js';

export type ToolNameStyle = 'dotted' | 'underscore';

/** A tool with its schemas prepared at registration (compiled or converted once, on first use). */
export interface RegisteredTool {
  readonly tool: Tool;
  readonly input: CompiledSchema<unknown>;
  readonly output: CompiledSchema<unknown> | undefined;
}

export interface ToolRegistryOptions {
  nameStyle: ToolNameStyle;
  /** Glob patterns; a tool is exposed only when it matches one of these and none of `disabled`. */
  enabled: readonly string[];
  disabled: readonly string[];
}

/** The wire name for a tool under the configured style (`memory.store` → `memory_store`). */
export function wireName(name: string, style: ToolNameStyle): string {
  return style === 'underscore' ? name.replaceAll('.', '_') : name;
}

/**
 * Holds every tool, keyed by its canonical (dotted) name. Emits `changed` when the set changes,
 * which the protocol layer turns into `notifications/tools/list_changed`. Order is by name, so
 * `tools/list` is deterministic. Both name forms resolve on call.
 */
export class ToolRegistry extends EventEmitter<{ changed: [] }> {
  private readonly tools = new Map<string, RegisteredTool>();
  private readonly underscoreIndex = new Map<string, string>();
  private readonly isEnabled: (name: string) => boolean;
  private readonly ajv = lazyAjv();
  /** Outputs are validated as they will be sent: this one fills in no defaults. */
  private readonly outputAjv = lazyAjv({ useDefaults: false });

  constructor(private readonly options: ToolRegistryOptions) {
    super();
    const enabled = picomatch([...options.enabled], { dot: true });
    const disabled = options.disabled.length ? picomatch([...options.disabled], { dot: true }) : () => false;
    // Globs may be written in either name form (clients show `memory_store`): a tool matches if either does.
    const matches = (glob: (name: string) => boolean, name: string): boolean => glob(name) || glob(wireName(name, 'underscore'));
    // Decided once per name: resolve() asks on every call, and the globs never change.
    const decided = new Map<string, boolean>();
    this.isEnabled = (name) => {
      let allowed = decided.get(name);
      if (allowed === undefined) {
        allowed = matches(enabled, name) && !matches(disabled, name);
        decided.set(name, allowed);
      }
      return allowed;
    };
  }

  get nameStyle(): ToolNameStyle {
    return this.options.nameStyle;
  }

  /** Registers a tool; returns a function that removes it. Duplicate names are refused. */
  register(tool: Tool): () => void {
    const clash = this.clashWith(tool.name);
    if (clash !== undefined) {
      throw new NexusError('DUPLICATE_TOOL', `A tool named "${clash}" is already registered`, { details: { tool: tool.name, existing: clash } });
    }
    this.tools.set(tool.name, this.compile(tool));
    this.underscoreIndex.set(wireName(tool.name, 'underscore'), tool.name);
    this.emit('changed');
    return () => this.unregister(tool.name);
  }

  /** A tool with its argument and output validators. */
  private compile(tool: Tool): RegisteredTool {
    return { tool, input: compileSchema(tool.inputSchema, this.ajv, 'input'), output: tool.outputSchema ? compileSchema(tool.outputSchema, this.outputAjv, 'output') : undefined };
  }

  /**
   * The registered tool a new name would collide with: the same name, or the same underscore form
   * (`a.b` and `a_b` would both be listed as `a_b` and only one could ever be called).
   */
  private clashWith(name: string): string | undefined {
    if (this.tools.has(name)) return name;
    return this.underscoreIndex.get(wireName(name, 'underscore'));
  }

  unregister(name: string): boolean {
    const removed = this.tools.delete(name);
    if (removed) {
      this.underscoreIndex.delete(wireName(name, 'underscore'));
      this.emit('changed');
    }
    return removed;
  }

  /** Replaces every tool of one source at once (plugin reload) with a single change event. */
  replaceSource(source: NonNullable<Tool['source']>, tools: readonly Tool[]): void {
    const compiled = tools.map((tool) => this.compile(tool));
    const incoming = new Set<string>();
    for (const { tool } of compiled) {
      const clash = this.clashWith(tool.name);
      const existing = clash === undefined ? undefined : this.tools.get(clash);
      const underscore = wireName(tool.name, 'underscore');
      if ((existing && existing.tool.source !== source) || incoming.has(underscore)) {
        throw new NexusError('DUPLICATE_TOOL', `A tool named "${clash ?? tool.name}" is already registered`, { details: { tool: tool.name, existing: clash ?? tool.name } });
      }
      incoming.add(underscore);
    }
    for (const [name, registered] of [...this.tools]) {
      if (registered.tool.source === source) {
        this.tools.delete(name);
        this.underscoreIndex.delete(wireName(name, 'underscore'));
      }
    }
    for (const registered of compiled) {
      this.tools.set(registered.tool.name, registered);
      this.underscoreIndex.set(wireName(registered.tool.name, 'underscore'), registered.tool.name);
    }
    this.emit('changed');
  }

  /** Finds an enabled tool by either name form; TOOL_NOT_FOUND otherwise. */
  resolve(name: string): RegisteredTool {
    const canonical = this.tools.has(name) ? name : this.underscoreIndex.get(name);
    const registered = canonical === undefined ? undefined : this.tools.get(canonical);
    if (!registered || !this.isEnabled(registered.tool.name)) {
      throw new NexusError('TOOL_NOT_FOUND', `Unknown tool: ${name}`, { details: { tool: name } });
    }
    return registered;
  }

  /** Enabled tools, sorted by canonical name. */
  list(): RegisteredTool[] {
    return [...this.tools.values()].filter((entry) => this.isEnabled(entry.tool.name)).sort((a, b) => a.tool.name.localeCompare(b.tool.name));
  }

  /** The MCP wire description of an enabled tool. */
  describe(entry: RegisteredTool): WireTool {
    const { tool } = entry;
    return {
      name: wireName(tool.name, this.options.nameStyle),
      ...(tool.title === undefined ? {} : { title: tool.title }),
      description: tool.description,
      inputSchema: entry.input.jsonSchema as WireTool['inputSchema'],
      ...(entry.output ? { outputSchema: withErrorShape(entry.output.jsonSchema) } : {}),
      ...(tool.annotations ? { annotations: tool.annotations } : {}),
      ...(tool.taskSupport ? { execution: { taskSupport: tool.taskSupport } } : {}),
    };
  }
}

/**
 * A failed call carries `{code, message, details}` as structuredContent. Clients (the SDK's among
 * them) validate structuredContent against outputSchema even on errors, so the advertised schema
 * admits either the tool's data or that error object.
 */
const ERROR_RESULT_SCHEMA = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
  required: ['code', 'message'],
} as const;

function withErrorShape(schema: Record<string, unknown>): NonNullable<WireTool['outputSchema']> {
  return { type: 'object', anyOf: [schema, ERROR_RESULT_SCHEMA] };
}
