import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { CommandPluginConfig, NexusConfig } from '../config/index.js';
import { NexusError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { findExecutable } from '../security/command-allowlist.js';
import { scrubbedEnv } from '../security/process-runner.js';
import { runForTool } from '../security/tool-process.js';
import { createAjv } from '../tools/schema.js';
import type { JsonSchemaObject, Tool, ToolOutput } from '../tools/types.js';
import { fillTemplate, parseTemplate, renderValue, templateParams, TemplateError, type TemplateSegment } from './command-template.js';

/** What building command plugin tools needs from the runtime. */
export interface CommandPluginDeps {
  security: Pick<NexusConfig['security'], 'command_env' | 'max_output_bytes'>;
  /** The server's environment snapshot: PATH for resolving commands, command_env values. */
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /** Relative commands and the default working directory resolve against this (the config file's folder). */
  baseDir: string;
}

/** A command plugin entry with its position in `plugins`, for error messages. */
export interface IndexedCommandPlugin {
  entry: CommandPluginConfig;
  index: number;
}

/** Cautious defaults for hints the operator did not give: a script may write and reach out. */
const DEFAULT_ANNOTATIONS = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true } as const;
/** Room for the kill grace and output drain so PLUGIN_TIMEOUT answers before the executor's limit. */
const EXECUTOR_MARGIN_SECS = 5;
const STDERR_IN_MESSAGE_CHARS = 2000;
const OUTPUT_IN_DETAILS_CHARS = 4096;

function invalid(where: string, problem: string, extra: Record<string, unknown> = {}): NexusError {
  return new NexusError('PLUGIN_INVALID', `${where}: ${problem}`, { details: { ...extra } });
}

/** `NEXUS_ARG_<KEY>`: the key upper-cased, anything but letters, digits and "_" turned into "_". */
export function argEnvName(key: string): string {
  return `NEXUS_ARG_${key.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

/**
 * Builds the tools for command plugin entries, validating each one (program, working directory,
 * input schema, placeholders, duplicate names). The first problem throws PLUGIN_INVALID naming
 * the entry as `plugins[<index>] "<name>"`; nothing is half-built.
 */
export function buildCommandPlugins(entries: readonly IndexedCommandPlugin[], deps: CommandPluginDeps): Tool[] {
  const seen = new Map<string, number>();
  return entries.map(({ entry, index }) => {
    const previous = seen.get(entry.name);
    if (previous !== undefined) throw invalid(`plugins[${index}] "${entry.name}"`, `the name is already used by plugins[${previous}]`, { plugin: entry.name, index });
    seen.set(entry.name, index);
    return buildCommandPlugin(entry, index, deps);
  });
}

function buildCommandPlugin(entry: CommandPluginConfig, index: number, deps: CommandPluginDeps): Tool {
  const where = `plugins[${index}] "${entry.name}"`;
  const ids = { plugin: entry.name, index };
  const program = resolveProgram(entry.command, deps);
  if (program === undefined) {
    throw invalid(where, `command ${JSON.stringify(entry.command)} is not an executable on PATH or at that path`, { ...ids, command: entry.command });
  }
  const cwd = resolveWorkingDir(entry.working_dir ?? deps.baseDir, where, ids);
  const inputSchema = checkedInputSchema(entry.input_schema, where, ids);
  const declared = new Set(Object.keys(isRecord(inputSchema.properties) ? inputSchema.properties : {}));
  const parse = (template: string, field: string): TemplateSegment[] => {
    let segments: TemplateSegment[];
    try {
      segments = parseTemplate(template);
    } catch (error) {
      throw invalid(where, `${field}: ${error instanceof TemplateError ? error.message : String(error)}`, ids);
    }
    const unknown = templateParams(segments).find((param) => !declared.has(param));
    if (unknown !== undefined) throw invalid(where, `${field} uses \${${unknown}}, which input_schema.properties does not declare`, { ...ids, placeholder: unknown });
    return segments;
  };
  const argTemplates = entry.args_template.map((template, position) => parse(template, `args_template[${position}]`));
  const envTemplates = Object.entries(entry.env).map(([name, template]) => ({ name, segments: parse(template, `env.${name}`) }));
  const baseEnv = scrubbedEnv(deps.security.command_env, deps.env);

  return {
    name: entry.name,
    ...(entry.title === undefined ? {} : { title: entry.title }),
    description: entry.description ?? `Runs ${entry.command} (command plugin)`,
    inputSchema,
    annotations: { ...DEFAULT_ANNOTATIONS, ...entry.annotations } satisfies ToolAnnotations,
    timeoutSecs: entry.timeout_secs + EXECUTOR_MARGIN_SECS,
    source: 'command-plugin',
    async execute(input, context): Promise<ToolOutput> {
      const args = isRecord(input) ? input : {};
      const missing = (param: string): never => {
        throw new NexusError('INVALID_ARGUMENTS', `${entry.name} needs "${param}" to build its command`, { details: { tool: entry.name, problems: [{ field: param, message: 'required by the command template' }] } });
      };
      const env: Record<string, string> = { ...baseEnv };
      for (const { name, segments } of envTemplates) env[name] = fillTemplate(segments, args, missing);
      if (entry.input_mode === 'env') {
        for (const [key, value] of Object.entries(args)) env[argEnvName(key)] = renderValue(value);
        env['NEXUS_ARGS_JSON'] = JSON.stringify(args);
      }
      const outcome = await runForTool(context, {
        file: program,
        args: argTemplates.map((segments) => fillTemplate(segments, args, missing)),
        cwd,
        env,
        stdin: entry.input_mode === 'stdin' ? JSON.stringify(args) : undefined,
        timeoutMs: entry.timeout_secs * 1000,
        maxOutputBytes: deps.security.max_output_bytes,
      });
      if (outcome.stoppedBy === 'timeout') {
        throw new NexusError('PLUGIN_TIMEOUT', `Timeout after ${entry.timeout_secs} seconds: ${entry.name} and its process group were killed`, {
          details: { plugin: entry.name, timeout_secs: entry.timeout_secs },
        });
      }
      if (outcome.exitCode !== 0) {
        const status = outcome.exitCode ?? outcome.signal ?? 'unknown';
        throw new NexusError('TOOL_EXECUTION_FAILED', `${entry.name}: command exited with status ${status}: ${outcome.stderr.trim().slice(0, STDERR_IN_MESSAGE_CHARS)}`, {
          details: {
            plugin: entry.name,
            exit_code: outcome.exitCode,
            signal: outcome.signal,
            stderr: outcome.stderr.slice(0, OUTPUT_IN_DETAILS_CHARS),
            stdout: outcome.stdout.slice(0, OUTPUT_IN_DETAILS_CHARS),
          },
        });
      }
      return pluginOutput(entry.output_mode, outcome.stdout, outcome.truncatedStdout ? deps.security.max_output_bytes : undefined);
    },
  };
}

/**
 * `text`: trimmed stdout. `json`: parsed stdout, which becomes structuredContent when it is an
 * object; stdout that does not parse comes back as trimmed text (the original's fallback).
 * Output cut at the cap is never parsed and says so.
 */
function pluginOutput(mode: CommandPluginConfig['output_mode'], stdout: string, truncatedAt: number | undefined): ToolOutput {
  const text = stdout.trim();
  if (truncatedAt !== undefined) return { text: `${text}\n[output truncated at ${truncatedAt} bytes]` };
  if (mode === 'json') {
    try {
      const parsed: unknown = JSON.parse(text);
      return isRecord(parsed) ? { data: parsed } : { text: JSON.stringify(parsed, null, 2) };
    } catch {
      return { text };
    }
  }
  return { text };
}

function resolveProgram(command: string, deps: CommandPluginDeps): string | undefined {
  const relativePath = !path.isAbsolute(command) && (command.includes('/') || command.includes(path.sep));
  return findExecutable(relativePath ? path.resolve(deps.baseDir, command) : command, deps.env['PATH']);
}

function resolveWorkingDir(dir: string, where: string, ids: Record<string, unknown>): string {
  try {
    const real = realpathSync(dir);
    if (statSync(real).isDirectory()) return real;
  } catch {
    // Reported below.
  }
  throw invalid(where, `working_dir ${JSON.stringify(dir)} is not an existing folder`, { ...ids, working_dir: dir });
}

/** The input schema as advertised and enforced: an object schema that compiles. */
function checkedInputSchema(schema: Record<string, unknown>, where: string, ids: Record<string, unknown>): JsonSchemaObject {
  if (schema['type'] !== undefined && schema['type'] !== 'object') throw invalid(where, 'input_schema must describe an object ("type": "object")', ids);
  const objectSchema: JsonSchemaObject = { ...schema, type: 'object' };
  try {
    createAjv().compile(objectSchema);
  } catch (error) {
    throw invalid(where, `input_schema is not a valid JSON Schema: ${(error as Error).message}`, ids);
  }
  return objectSchema;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
