import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import { isModulePluginConfig, loadConfig, type NexusConfig } from '../config/index.js';
import { NexusError } from '../errors/index.js';
import type { ToolRegistry } from '../tools/registry.js';
import { buildCommandPlugins, type CommandPluginDeps, type IndexedCommandPlugin } from './command-plugin.js';

/** Editors write a file in several steps (truncate, write, rename): one reload per burst. */
const RELOAD_DEBOUNCE_MS = 100;

export interface CommandPluginManagerOptions extends Omit<CommandPluginDeps, 'baseDir'> {
  registry: ToolRegistry;
  /** The config file in use; null when running on defaults (nothing to watch). */
  configFile: string | null;
  /** Where relative commands resolve when there is no config file. */
  cwd: string;
}

/** What one reload attempt did: `changed` when the plugin tools were swapped. */
export type ReloadOutcome = { ok: true; changed: boolean; tools: string[] } | { ok: false; error: NexusError };

/**
 * Owns the command plugin tools: builds them from config at start, and — while watching — rebuilds
 * them whenever the config file changes. A reload swaps every command plugin tool at once (one
 * `tools/list_changed`); an edit that does not load keeps the previous tools and logs why.
 * Emits `reload` after each attempt.
 */
export class CommandPluginManager extends EventEmitter<{ reload: [ReloadOutcome] }> {
  private signature: string | undefined;
  private otherSettings: string | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: CommandPluginManagerOptions) {
    super();
  }

  /** True while the config file is being watched. */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  /** Builds and registers the command plugins of `config`; PLUGIN_INVALID names a bad entry. */
  load(config: NexusConfig): { changed: boolean; tools: string[] } {
    const entries = commandEntries(config);
    const signature = JSON.stringify(entries);
    this.otherSettings ??= JSON.stringify({ ...config, plugins: undefined });
    const names = entries.map(({ entry }) => entry.name);
    if (signature === this.signature || (this.signature === undefined && entries.length === 0)) {
      this.signature = signature;
      return { changed: false, tools: names };
    }
    const baseDir = this.options.configFile === null ? this.options.cwd : path.dirname(this.options.configFile);
    const tools = buildCommandPlugins(entries, { ...this.options, baseDir });
    try {
      this.options.registry.replaceSource('command-plugin', tools);
    } catch (error) {
      const culprit = NexusError.is(error) ? entries.find(({ entry }) => entry.name === error.details['tool']) : undefined;
      if (!culprit) throw error;
      throw new NexusError('PLUGIN_INVALID', `plugins[${culprit.index}] "${culprit.entry.name}": ${(error as Error).message}`, {
        details: { plugin: culprit.entry.name, index: culprit.index },
        cause: error,
      });
    }
    this.signature = signature;
    return { changed: true, tools: names };
  }

  /** Re-reads the config file and swaps the plugin tools; never throws (problems are logged). */
  async reload(): Promise<ReloadOutcome> {
    const { configFile, logger } = this.options;
    let outcome: ReloadOutcome;
    try {
      if (configFile === null) throw new NexusError('CONFIG_NOT_FOUND', 'Nexus runs without a config file; there is nothing to reload');
      const { config } = loadConfig({ configPath: configFile });
      const result = this.load(config);
      if (JSON.stringify({ ...config, plugins: undefined }) !== this.otherSettings) {
        logger.warn({ configFile }, 'config file changed outside "plugins": those changes take effect after a restart');
      }
      if (result.changed) logger.info({ configFile, tools: result.tools }, 'command plugins reloaded');
      outcome = { ok: true, ...result };
    } catch (error) {
      const nexusError = NexusError.from(error, 'PLUGIN_INVALID');
      logger.error({ err: nexusError, code: nexusError.code, configFile }, `config reload failed; keeping the previous plugins: ${nexusError.message}`);
      outcome = { ok: false, error: nexusError };
    }
    this.emit('reload', outcome);
    return outcome;
  }

  /** Starts watching the config file's folder (editors replace files); resolves once watching. */
  async watch(): Promise<void> {
    const file = this.options.configFile;
    if (file === null || this.watcher || this.closed) return;
    const dir = path.dirname(file);
    // Imported here: most runs have no config file to watch and need not load chokidar.
    const { watch } = await import('chokidar');
    if (this.watcher || this.closed) return;
    const watcher = watch(dir, { depth: 0, ignoreInitial: true, ignored: (candidate) => candidate !== dir && candidate !== file });
    this.watcher = watcher;
    const schedule = (changed: string): void => {
      if (changed !== file || this.closed) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => {
        this.pending = this.pending.then(async () => {
          if (!this.closed) await this.reload();
        });
      }, RELOAD_DEBOUNCE_MS);
    };
    watcher.on('add', schedule).on('change', schedule);
    watcher.on('error', (error) => this.options.logger.error({ err: error, configFile: file }, 'config file watcher failed'));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  /** Stops watching and waits for a reload in progress. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.debounce);
    await this.watcher?.close();
    this.watcher = undefined;
    await this.pending;
  }
}

/** Command entries (those without `module`) that are enabled, with their index in `plugins`. */
function commandEntries(config: NexusConfig): IndexedCommandPlugin[] {
  return config.plugins.flatMap((entry, index) => (isModulePluginConfig(entry) || !entry.enabled ? [] : [{ entry, index }]));
}
