import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig, LOG_LEVELS, type LoadedConfig, type NexusConfigInput } from '../config/index.js';
import { NexusError, toCliError } from '../errors/index.js';
import type { HttpServerHandle } from '../http/server.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { NEXUS_VERSION } from '../runtime/version.js';
import { registerAuthCommands } from './auth-commands.js';
import { LineTransport } from '../transport/stdio.js';

interface GlobalOptions {
  config?: string;
  dataDir?: string;
  logLevel?: string;
  debug?: boolean;
  requestLog?: string;
  stdio?: boolean;
  coreOnly?: boolean;
}

/** Flags become the highest-precedence config layer; their relative paths mean the CWD. */
function overridesFrom(options: GlobalOptions, extra: NexusConfigInput = {}): NexusConfigInput {
  const absolute = (value: string): string => path.resolve(process.cwd(), value);
  return {
    ...(options.dataDir === undefined ? {} : { data_dir: absolute(options.dataDir) }),
    ...(options.logLevel === undefined ? {} : { log_level: options.logLevel as NexusConfigInput['log_level'] }),
    ...(options.debug ? { debug: true } : {}),
    ...(options.requestLog === undefined ? {} : { request_log: absolute(options.requestLog) }),
    ...(options.coreOnly ? { extras_enabled: false } : {}),
    ...extra,
  };
}

function load(options: GlobalOptions, extra: NexusConfigInput = {}): LoadedConfig {
  return loadConfig({ configPath: options.config, overrides: overridesFrom(options, extra) });
}

/** One-shot commands keep stderr quiet unless the user asked for a level. */
async function oneShotRuntime(options: GlobalOptions): Promise<Runtime> {
  const loaded = load(options, options.logLevel === undefined && !options.debug ? { log_level: 'warn' } : {});
  return createRuntime(loaded.config, { configFile: loaded.configFile });
}

async function serve(options: GlobalOptions & { host?: string; port?: string; http?: boolean }): Promise<void> {
  const extra: NexusConfigInput = {
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: parsePort(options.port) }),
  };
  const loaded = load(options, extra);
  const runtime = await createRuntime(loaded.config, { configFile: loaded.configFile });
  let http: HttpServerHandle | undefined;
  let stdio: LineTransport | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (reason: string, exitCode = 0): Promise<void> => {
    stopping ??= (async () => {
      runtime.logger.info({ reason }, 'shutting down');
      await http?.close();
      await runtime.close();
      await stdio?.close();
      process.exitCode = exitCode;
    })();
    return stopping;
  };
  try {
    if (options.http !== false) {
      // Loaded on demand: `nexus --stdio` (what desktop clients spawn) starts faster without the HTTP stack.
      const { startHttpServer } = await import('../http/server.js');
      http = await startHttpServer(runtime, { host: runtime.config.host, port: runtime.config.port });
      runtime.logger.info({ url: `${http.url}/mcp`, health: `${http.url}/health` }, 'Nexus listening (Streamable HTTP at /mcp, legacy SSE at /sse)');
    }
    if (options.stdio) {
      stdio = new LineTransport(process.stdin, process.stdout);
      const local = runtime.auth.localPrincipal;
      await runtime.connect(stdio, { transport: 'stdio', principalFor: () => local });
      const connection = stdio;
      const previous = connection.onclose;
      connection.onclose = () => {
        previous?.();
        if (!http) void stop('stdin closed');
      };
      runtime.logger.info('Nexus serving MCP on stdio');
    }
  } catch (error) {
    await runtime.close();
    throw error;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    void stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new NexusError('USAGE_ERROR', `Invalid port "${value}"`);
  return port;
}

function parseArgs(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new NexusError('USAGE_ERROR', `--args is not valid JSON: ${(error as Error).message}`);
  }
}

function printToolResult(result: CallToolResult, format: string): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  for (const item of result.content) {
    process.stdout.write(item.type === 'text' ? `${item.text}\n` : `${JSON.stringify(item)}\n`);
  }
}

function buildProgram(): Command {
  const program = new Command('nexus')
    .description('Nexus: an MCP runtime for AI agents (tools, plugins, memory, workflows).')
    .version(NEXUS_VERSION, '-V, --version')
    .option('-c, --config <file>', 'config file (default ./nexus.json, then ~/.nexus/nexus.json)')
    .option('--data-dir <dir>', 'where Nexus keeps its database and caches (default ~/.nexus)')
    .addOption(new Option('-l, --log-level <level>', 'log level').choices([...LOG_LEVELS]))
    .option('--debug', 'verbose logs and per-call traces')
    .option('--request-log <file>', 'write every JSON-RPC message as JSONL (secrets redacted)')
    .option('--stdio', 'serve MCP over stdio (what Claude Desktop runs)')
    .option('--core-only', 'register only the core tools (no extras)')
    .showHelpAfterError()
    .action(async (_options, command: Command) => {
      const options = command.opts<GlobalOptions>();
      if (options.stdio) return serve({ ...options, http: false });
      command.outputHelp();
      return undefined;
    });

  program
    .command('serve')
    .description('serve MCP over Streamable HTTP (default 127.0.0.1:9000); add --stdio to serve both')
    .option('-H, --host <host>', 'address to bind (non-loopback needs auth)')
    .option('-p, --port <port>', 'port to bind (0 = any free port)')
    .option('--stdio', 'also serve MCP over stdio')
    .option('--no-http', 'do not start HTTP (with --stdio)')
    .action(async (local: { host?: string; port?: string; stdio?: boolean; http?: boolean }, command: Command) => {
      await serve({ ...command.optsWithGlobals<GlobalOptions>(), ...local });
    });

  program
    .command('run <tool>')
    .description('run one tool without a client and print its result')
    .option('-a, --args <json>', 'tool arguments as a JSON object', '{}')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (tool: string, local: { args: string; format: string }, command: Command) => {
      const runtime = await oneShotRuntime(command.optsWithGlobals<GlobalOptions>());
      try {
        const result = await runtime.callTool(tool, parseArgs(local.args));
        const error = result.isError ? (result.structuredContent as { code?: unknown; message?: unknown } | undefined) : undefined;
        if (error && typeof error.code === 'string' && typeof error.message === 'string' && local.format === 'text') {
          process.stderr.write(`nexus: ${error.code}: ${error.message}\n`);
          process.exitCode = 1;
          return;
        }
        printToolResult(result, local.format);
        if (result.isError && error?.code !== undefined) process.exitCode = 1;
      } finally {
        await runtime.close();
      }
    });

  program
    .command('tools')
    .description('list the enabled tools')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (local: { format: string }, command: Command) => {
      const runtime = await oneShotRuntime(command.optsWithGlobals<GlobalOptions>());
      try {
        const tools = runtime.tools.list().map((entry) => runtime.tools.describe(entry));
        if (local.format === 'json') {
          process.stdout.write(`${JSON.stringify(tools, null, 2)}\n`);
          return;
        }
        const width = Math.max(...tools.map((tool) => tool.name.length));
        for (const tool of tools) process.stdout.write(`${tool.name.padEnd(width)}  ${(tool.description ?? '').split('\n')[0]}\n`);
        process.stdout.write(`\n${tools.length} tools\n`);
      } finally {
        await runtime.close();
      }
    });

  program
    .command('info')
    .description('show version, protocol versions, data path, config file and plugin count')
    .action(async (_local, command: Command) => {
      const runtime = await oneShotRuntime(command.optsWithGlobals<GlobalOptions>());
      try {
        const { config } = runtime;
        const lines = [
          ['version', runtime.version],
          ['server name', config.server_name],
          ['protocol', `${LATEST_PROTOCOL_VERSION} (also ${SUPPORTED_PROTOCOL_VERSIONS.filter((v) => v !== LATEST_PROTOCOL_VERSION).join(', ')})`],
          ['config file', runtime.configFile ?? '(none: defaults)'],
          ['data dir', config.data_dir],
          ['database', config.database_path ?? path.join(config.data_dir, 'nexus.db')],
          ['http', `${config.host}:${config.port}`],
          ['tools', String(runtime.tools.list().length)],
          ['plugins', String(config.plugins.length)],
        ];
        for (const [label, value] of lines) process.stdout.write(`${`${label}:`.padEnd(14)}${value}\n`);
      } finally {
        await runtime.close();
      }
    });

  const configCommand = program.command('config').description('configuration helpers');
  configCommand
    .command('check [file]')
    .description('validate a config file and print every problem with its JSON path and line')
    .action(async (file: string | undefined, _local, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const loaded = loadConfig({ configPath: file ?? options.config });
      process.stdout.write(`ok: ${loaded.configFile ?? 'no config file found; defaults are valid'}\n`);
    });

  const withRuntime = async (command: Command, work: (runtime: Runtime) => Promise<void>): Promise<void> => {
    const runtime = await oneShotRuntime(command.optsWithGlobals<GlobalOptions>());
    try {
      await work(runtime);
    } finally {
      await runtime.close();
    }
  };

  registerAuthCommands(program, withRuntime);

  program
    .command('memory')
    .description('memory maintenance')
    .command('reindex')
    .description('re-embed every stored text with the configured embedder (after changing embedders)')
    .action(async (_local, command: Command) =>
      withRuntime(command, async (runtime) => {
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        const result = await runtime.memory.reindex(controller.signal);
        process.stdout.write(`reindexed with ${result.embedder}: ${result.embedded} texts embedded, ${result.removed} stale vectors removed\n`);
      }),
    );

  return program;
}

/** Entry point of `bin/nexus`: the only place that prints to the console and sets exit codes. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed what they had to.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    const { line, exitCode, stack } = toCliError(error, { debug });
    process.stderr.write(`${line}\n`);
    if (stack) process.stderr.write(`${stack}\n`);
    process.exitCode = exitCode;
  }
}
