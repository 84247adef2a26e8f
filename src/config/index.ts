export { expandPath, loadConfig, parseConfig, type ConfigProblem, type LoadConfigOptions, type LoadedConfig } from './load.js';
export {
  configSchema,
  DEFAULT_BLOCKED_URLS,
  isModulePluginConfig,
  LOG_LEVELS,
  type CommandPluginConfig,
  type ModulePluginConfig,
  type NexusConfig,
  type NexusConfigInput,
  type PluginEntryConfig,
} from './schema.js';
export { readProcessEnv } from './process-env.js';
