import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { NexusError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { ModulePluginConfig } from '../config/index.js';
import type { PromptDefinition, PromptRegistry } from '../protocol/prompts.js';
import type { ResourceRegistry, StaticResource, TemplateResource } from '../protocol/resources.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { Tool } from '../tools/types.js';

/** What a module plugin may do during setup: a scoped facade over the runtime. */
export interface PluginHost {
  readonly logger: Logger;
  /** The plugin's own slice of configuration (`plugins[].config`), unvalidated: the plugin parses it. */
  readonly config: unknown;
  registerTool(tool: Tool): void;
  registerResource(resource: StaticResource): void;
  registerResourceTemplate(template: TemplateResource): void;
  registerPrompt(prompt: PromptDefinition): void;
  /** Tells subscribers that a resource changed (notifications/resources/updated). */
  notifyResourceUpdated(uri: string): void;
}

/** A module plugin: export `definePlugin({...})` as the module's default export. */
export interface PluginDefinition {
  name: string;
  version: string;
  setup(host: PluginHost): void | Promise<void>;
  /** Called on shutdown, in reverse load order. */
  teardown?(): void | Promise<void>;
}

const PLUGIN_BRAND = Symbol.for('nexus.plugin');

/** Declares a module plugin (keeps its type and marks it so the loader can recognise it). */
export function definePlugin(definition: PluginDefinition): PluginDefinition {
  return Object.assign(definition, { [PLUGIN_BRAND]: true });
}

export interface PluginTargets {
  tools: ToolRegistry;
  resources: ResourceRegistry;
  prompts: PromptRegistry;
  logger: Logger;
  notifyResourceUpdated(uri: string): void;
}

export interface LoadedPlugin {
  readonly name: string;
  readonly version: string;
  readonly module: string;
  unload(): Promise<void>;
}

/**
 * Imports and sets up a module plugin. Everything it registered is rolled back if setup fails,
 * so Nexus never runs half-loaded; the error names the plugin.
 */
export async function loadModulePlugin(entry: ModulePluginConfig, targets: PluginTargets): Promise<LoadedPlugin> {
  const specifier = path.isAbsolute(entry.module) ? pathToFileURL(entry.module).href : entry.module;
  let imported: Record<string, unknown>;
  try {
    imported = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new NexusError('PLUGIN_LOAD_FAILED', `Plugin module ${entry.module} could not be imported: ${messageOf(error)}`, { details: { module: entry.module }, cause: error });
  }
  const definition = asDefinition(imported['default'] ?? imported['plugin'], entry.module);
  if (entry.name !== undefined && entry.name !== definition.name) {
    throw new NexusError('PLUGIN_INVALID', `Plugin ${entry.module} is named "${definition.name}", but the config expects "${entry.name}"`, { details: { module: entry.module } });
  }
  const undo: Array<() => void> = [];
  const logger = targets.logger.child({ plugin: definition.name });
  const host: PluginHost = {
    logger,
    config: entry.config,
    registerTool: (tool) => undo.push(targets.tools.register({ ...tool, source: tool.source ?? 'plugin' })),
    registerResource: (resource) => undo.push(targets.resources.addStatic(resource)),
    registerResourceTemplate: (template) => undo.push(targets.resources.addTemplate(template)),
    registerPrompt: (prompt) => undo.push(targets.prompts.add(prompt)),
    notifyResourceUpdated: (uri) => targets.notifyResourceUpdated(uri),
  };
  const rollback = (): void => undo.splice(0).reverse().forEach((remove) => remove());
  try {
    await definition.setup(host);
  } catch (error) {
    rollback();
    const code = NexusError.is(error) && error.code.startsWith('PLUGIN_') ? error.code : 'PLUGIN_LOAD_FAILED';
    throw new NexusError(code, `Plugin ${definition.name} failed during setup: ${messageOf(error)}`, { details: { plugin: definition.name, module: entry.module }, cause: error });
  }
  logger.debug({ version: definition.version }, 'plugin loaded');
  return {
    name: definition.name,
    version: definition.version,
    module: entry.module,
    async unload() {
      try {
        await definition.teardown?.();
      } finally {
        rollback();
      }
    },
  };
}

function asDefinition(value: unknown, module: string): PluginDefinition {
  if (typeof value === 'object' && value !== null) {
    const candidate = value as Partial<PluginDefinition>;
    if (typeof candidate.name === 'string' && candidate.name.length > 0 && typeof candidate.version === 'string' && typeof candidate.setup === 'function') {
      return candidate as PluginDefinition;
    }
  }
  throw new NexusError('PLUGIN_INVALID', `Plugin module ${module} must export default definePlugin({ name, version, setup })`, { details: { module } });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
