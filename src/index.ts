// The package's public API, for module plugins written against Nexus (`import { definePlugin } from 'nexus-mcp'`).
// The CLI does not go through here: bin/nexus runs the bundled CLI (dist/bundle/).
export { definePlugin, type PluginDefinition, type PluginHost } from './plugins/module-plugin.js';
export { defineTool, type Tool, type ToolContext, type ToolOutput, type ToolSchema, type ProgressUpdate, type ClientLink, type NestedCallOptions } from './tools/types.js';
export { NexusError, ERROR_CODES, type ErrorCode, type ErrorDetails } from './errors/index.js';
