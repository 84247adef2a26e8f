import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { z } from 'zod';
import { NexusError } from '../errors/index.js';
import { configSchema, type NexusConfig, type NexusConfigInput } from './schema.js';

/** One configuration problem, located by JSON path and (for files) line and column. */
export interface ConfigProblem {
  path: string;
  message: string;
  line?: number;
  column?: number;
  /** Set when the value came from an environment variable or a flag rather than the file. */
  source?: string;
}

export interface LoadConfigOptions {
  /** Explicit config file (-c/--config). Missing → CONFIG_NOT_FOUND. */
  configPath?: string | undefined;
  /** Values from command-line flags: the highest precedence. */
  overrides?: NexusConfigInput;
  /** The environment to read NEXUS_* from; the only place process.env enters Nexus. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: NexusConfig;
  /** Absolute path of the file in use, or null when running on defaults. */
  configFile: string | null;
}

/**
 * Loads configuration with precedence defaults < file < NEXUS_* env < flags, validates it with
 * the one schema, and expands `~` and `${ENV}` in path-valued keys. Every problem is reported at
 * once, each with its JSON path and, for the file, its line.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const configFile = locateConfigFile(options.configPath ?? env['NEXUS_CONFIG'], env, cwd);
  const fileLayer = configFile === null ? { value: {}, tree: undefined } : readConfigFile(configFile);
  const fromEnv = envLayer(env);
  const overrides = options.overrides ?? {};
  const merged = deepMerge(deepMerge(fileLayer.value, fromEnv), overrides);
  const config = validate(merged, { tree: fileLayer.tree, file: configFile, env: fromEnv, overrides });
  return { config: expandPaths(config, { env, baseDir: configFile ? path.dirname(configFile) : cwd, cwd }), configFile };
}

/** Validates a config object (no file, no env): for `nexus config check` and tests. */
export function parseConfig(input: unknown): NexusConfig {
  return validate(input, { tree: undefined, file: null, env: {}, overrides: {} });
}

function locateConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string | null {
  if (explicit !== undefined && explicit !== '') {
    const resolved = path.resolve(cwd, expandHome(explicit, env));
    if (!existsSync(resolved)) {
      throw new NexusError('CONFIG_NOT_FOUND', `Config file not found: ${resolved}`, { details: { path: resolved } });
    }
    return resolved;
  }
  const candidates = [path.join(cwd, 'nexus.json'), path.join(homeOf(env), '.nexus', 'nexus.json')];
  return candidates.find((candidate) => existsSync(candidate)) ?? null;
}

function readConfigFile(file: string): { value: unknown; tree: Node | undefined } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    // A folder or an unreadable file is a usage problem (exit 2), not an internal fault.
    throw new NexusError('CONFIG_NOT_FOUND', `Config file ${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { details: { path: file }, cause: error });
  }
  const errors: ParseError[] = [];
  // Comments are tolerated (people annotate configs); trailing commas and anything else are errors.
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: false });
  const first = errors[0];
  if (first !== undefined || tree === undefined) {
    const where = first ? lineAndColumn(text, first.offset) : { line: 1, column: 1 };
    const reason = first ? printParseErrorCode(first.error) : 'EmptyFile';
    throw new NexusError('CONFIG_PARSE_ERROR', `${file}:${where.line}:${where.column}: invalid JSON (${reason})`, {
      details: { file, ...where, reason },
    });
  }
  attachLines(tree, text);
  const duplicates = duplicateKeys(tree, []);
  if (duplicates.length > 0) {
    const lines = duplicates.map((p) => `  ${p.path} (line ${p.line}): ${p.message}`);
    throw new NexusError('CONFIG_INVALID', `${file} is invalid:\n${lines.join('\n')}`, { details: { file, problems: duplicates } });
  }
  return { value: nodeValue(tree), tree };
}

/** A key given twice in one object: JSON parsers keep the last silently, which hides mistakes. */
function duplicateKeys(node: Node, segments: Array<string | number>): ConfigProblem[] {
  if (node.type === 'array') return (node.children ?? []).flatMap((child, index) => duplicateKeys(child, [...segments, index]));
  if (node.type !== 'object') return [];
  const seen = new Set<string>();
  return (node.children ?? []).flatMap((property) => {
    const [keyNode, valueNode] = property.children ?? [];
    const key = String(keyNode?.value);
    const path = [...segments, key];
    const nested = valueNode ? duplicateKeys(valueNode, path) : [];
    if (!seen.has(key)) {
      seen.add(key);
      return nested;
    }
    const where = (property as Node & { lineInfo?: { line: number; column: number } }).lineInfo;
    return [{ path: jsonPathOf(path), message: `duplicate key "${key}"`, ...(where ?? {}) }, ...nested];
  });
}

function jsonPathOf(segments: ReadonlyArray<string | number>): string {
  return segments.length === 0 ? '$' : '$' + segments.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('');
}

/** NEXUS_PORT=9001, NEXUS_LOG_LEVEL=debug, NEXUS_SECURITY__TOOL_TIMEOUT_SECS=60 … */
function envLayer(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  const topKeys = new Set(Object.keys(configSchema.shape));
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('NEXUS_') || raw === undefined || name === 'NEXUS_CONFIG') continue;
    const segments = name.slice('NEXUS_'.length).toLowerCase().split('__');
    // Only variables that name a config key count: NEXUS_ARG_* and friends belong to plugins.
    if (!topKeys.has(segments[0] ?? '')) continue;
    setAt(layer, segments, parseEnvValue(raw, schemaAt(segments)));
  }
  return layer;
}

/** JSON for numbers, booleans and lists; but a string key keeps the text (NEXUS_SERVER_VERSION=1.0). */
function parseEnvValue(raw: string, schema: z.ZodType | undefined): unknown {
  if (schema instanceof z.ZodString || schema instanceof z.ZodEnum) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The schema of a config key with defaults, optionality and nullability unwrapped. */
function schemaAt(segments: readonly string[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = configSchema;
  for (const segment of segments) {
    schema = unwrap(schema);
    schema = schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>)[segment] : undefined;
  }
  return unwrap(schema);
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function setAt(target: Record<string, unknown>, segments: string[], value: unknown): void {
  let cursor = target;
  segments.forEach((segment, index) => {
    if (index === segments.length - 1) {
      cursor[segment] = value;
      return;
    }
    const next = cursor[segment];
    cursor = isPlainObject(next) ? next : (cursor[segment] = {});
  });
}

interface ConfigSources {
  tree: Node | undefined;
  file: string | null;
  env: Record<string, unknown>;
  overrides: unknown;
}

function validate(input: unknown, source: ConfigSources): NexusConfig {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => describeIssue(issue, input)).map((problem) => locate(problem, source));
  const where = source.file ?? 'configuration';
  const lines = problems.map((p) => `  ${p.path}${p.source !== undefined ? ` (from ${p.source})` : p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`);
  throw new NexusError('CONFIG_INVALID', `${where} is invalid:\n${lines.join('\n')}`, {
    details: { file: source.file, problems: problems.map((p) => ({ ...p })) },
  });
}

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue, input: unknown): Array<{ segments: PropertyKey[]; message: string }> {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ segments: [...issue.path, key], message: `unknown key "${key}"` }));
  }
  if (issue.code === 'invalid_union') {
    // Plugin entries: a "module" key selects the module-plugin branch, otherwise the command branch.
    const value = valueAt(input, issue.path);
    const branch = isPlainObject(value) && 'module' in value ? 0 : 1;
    const nested = issue.errors[branch] ?? issue.errors[0] ?? [];
    if (nested.length > 0) {
      return nested.flatMap((inner) => describeIssue({ ...inner, path: [...issue.path, ...inner.path] }, input));
    }
  }
  return [{ segments: issue.path, message: issue.message }];
}

function locate(problem: { segments: PropertyKey[]; message: string }, source: ConfigSources): ConfigProblem {
  const segments = problem.segments.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
  const jsonPath = jsonPathOf(segments);
  // A value from a flag or NEXUS_* variable has no line; pointing at the file's line would mislead.
  const fromFlag = setBy(source.overrides, segments);
  if (fromFlag !== undefined) return { path: jsonPath, message: problem.message, source: 'command line' };
  const fromEnv = setBy(source.env, segments);
  if (fromEnv !== undefined) return { path: jsonPath, message: problem.message, source: `NEXUS_${fromEnv.map((s) => String(s).toUpperCase()).join('__')}` };
  const tree = source.tree;
  const node = tree ? nearestNode(tree, segments) : undefined;
  const lines = node ? (node as Node & { lineInfo?: { line: number; column: number } }).lineInfo : undefined;
  return { path: jsonPath, message: problem.message, ...(lines ?? {}) };
}

/** The node for a path, or its closest existing ancestor (a missing key points at its object). */
function nearestNode(tree: Node, segments: Array<string | number>): Node | undefined {
  for (let length = segments.length; length >= 0; length -= 1) {
    const node = findNodeAtLocation(tree, segments.slice(0, length));
    if (node) return node.parent?.type === 'property' && length === segments.length ? node.parent : node;
  }
  return undefined;
}

function attachLines(node: Node, text: string): void {
  (node as Node & { lineInfo?: { line: number; column: number } }).lineInfo = lineAndColumn(text, node.offset);
  node.children?.forEach((child) => attachLines(child, text));
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function nodeValue(node: Node): unknown {
  switch (node.type) {
    case 'object':
      return Object.fromEntries(
        (node.children ?? []).map((property) => {
          const [keyNode, valueNode] = property.children ?? [];
          return [String(keyNode?.value), valueNode ? nodeValue(valueNode) : null];
        }),
      );
    case 'array':
      return (node.children ?? []).map(nodeValue);
    default:
      return node.value;
  }
}

/** The key path under which a layer set the value at `segments` (a prefix when it set a whole list), if it did. */
function setBy(layer: unknown, segments: Array<string | number>): Array<string | number> | undefined {
  for (let length = 1; length <= segments.length; length += 1) {
    const value = valueAt(layer, segments.slice(0, length));
    if (value === undefined) return undefined;
    if (!isPlainObject(value) || length === segments.length) return segments.slice(0, length);
  }
  return undefined;
}

function valueAt(input: unknown, segments: PropertyKey[]): unknown {
  return segments.reduce<unknown>((value, segment) => (isPlainObject(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[segment] : undefined), input);
}

function deepMerge(base: unknown, layer: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(layer)) return layer === undefined ? base : layer;
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    if (value !== undefined) result[key] = deepMerge(base[key], value);
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function homeOf(env: NodeJS.ProcessEnv): string {
  return env['HOME'] ?? env['USERPROFILE'] ?? homedir();
}

function expandHome(value: string, env: NodeJS.ProcessEnv): string {
  return value === '~' || value.startsWith('~/') ? path.join(homeOf(env), value.slice(1)) : value;
}

/** `${NAME}` replaced from the environment; `describe` names the value in the error for an unset one. */
function substituteEnv(value: string, env: NodeJS.ProcessEnv, describe: () => { what: string; details: Record<string, unknown> }): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
    const replacement = env[name];
    if (replacement === undefined) {
      const { what, details } = describe();
      throw new NexusError('CONFIG_INVALID', `${what} uses \${${name}}, which is not set in the environment`, { details: { ...details, variable: name } });
    }
    return replacement;
  });
}

/** `~` and `${NAME}` in a path; an unset variable is an error rather than an empty string. */
export function expandPath(value: string, options: { env: NodeJS.ProcessEnv; baseDir: string }): string {
  const substituted = substituteEnv(value, options.env, () => ({ what: `Path "${value}"`, details: { path: value } }));
  const expanded = expandHome(substituted, options.env);
  return expanded === ':memory:' ? expanded : path.resolve(options.baseDir, expanded);
}

function expandPaths(config: NexusConfig, options: { env: NodeJS.ProcessEnv; baseDir: string; cwd: string }): NexusConfig {
  const expand = (value: string): string => expandPath(value, options);
  return {
    ...config,
    data_dir: expand(config.data_dir),
    database_path: config.database_path === null ? null : expand(config.database_path),
    request_log: config.request_log === null ? null : expand(config.request_log),
    security: {
      ...config.security,
      allowed_read_paths: config.security.allowed_read_paths.map(expand),
      allowed_write_paths: config.security.allowed_write_paths.map(expand),
    },
    tenants: Object.fromEntries(
      Object.entries(config.tenants).map(([tenant, override]) => {
        const security = override.security;
        if (security === undefined) return [tenant, override];
        return [tenant, { ...override, security: { allowed_read_paths: security.allowed_read_paths?.map(expand), allowed_write_paths: security.allowed_write_paths?.map(expand) } }];
      }),
    ),
    memory: {
      ...config.memory,
      embedder: {
        ...config.memory.embedder,
        // Keys are written as "${OPENAI_API_KEY}" so they stay out of config files; the error never echoes the value.
        api_key:
          config.memory.embedder.api_key === undefined
            ? undefined
            : substituteEnv(config.memory.embedder.api_key, options.env, () => ({ what: 'memory.embedder.api_key', details: { key: 'memory.embedder.api_key' } })),
      },
    },
    plugins: config.plugins.map((entry) => {
      if ('module' in entry) {
        // Bare package names stay as they are; paths are resolved against the config file.
        const isPath = entry.module.startsWith('.') || entry.module.startsWith('/') || entry.module.startsWith('~') || entry.module.includes('${');
        return isPath ? { ...entry, module: expand(entry.module) } : entry;
      }
      return entry.working_dir === undefined ? entry : { ...entry, working_dir: expand(entry.working_dir) };
    }),
  };
}
