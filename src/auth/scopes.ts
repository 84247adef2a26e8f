import picomatch from 'picomatch';
import { NexusError } from '../errors/index.js';
import { wireName } from '../tools/registry.js';

/** One scope entry: a tool name or glob, optionally negated with a leading "!". */
const SCOPE_PATTERN = /^!?[A-Za-z0-9_.*?-]{1,128}$/;
const MAX_SCOPES = 64;

/**
 * Parses a comma-separated scope list ("memory.*,echo,!cmd.*") into validated entries. Empty input
 * means "no restriction" and yields undefined.
 */
export function parseToolScopes(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) return undefined;
  validateToolScopes(entries);
  return entries;
}

/** Refuses malformed scope entries so a typo cannot silently widen or void a restriction. */
export function validateToolScopes(entries: readonly string[]): void {
  if (entries.length > MAX_SCOPES) throw new NexusError('USAGE_ERROR', `At most ${MAX_SCOPES} tool scopes are allowed`);
  for (const entry of entries) {
    if (!SCOPE_PATTERN.test(entry)) {
      throw new NexusError('USAGE_ERROR', `Invalid tool scope "${entry}": use tool names or globs of letters, digits, "_", ".", "-", "*", "?" (prefix "!" to exclude)`, {
        details: { scope: entry },
      });
    }
  }
}

type Matcher = (tool: string) => boolean;

/** Globs over canonical (dotted) tool names that also accept the underscore spelling (`memory_*`). */
export function toolNameMatcher(patterns: readonly string[]): Matcher {
  const matches = picomatch([...patterns], { dot: true });
  return (tool) => {
    const underscore = wireName(tool, 'underscore');
    return matches(tool) || (underscore !== tool && matches(underscore));
  };
}

/**
 * Compiles scope entries into a predicate over canonical tool names. Positive entries form an
 * allow-list (none means "all"); "!" entries are removed from it.
 */
export function compileToolScopes(entries: readonly string[]): Matcher {
  const allow = entries.filter((entry) => !entry.startsWith('!'));
  const deny = entries.filter((entry) => entry.startsWith('!')).map((entry) => entry.slice(1));
  const allowed = allow.length === 0 ? () => true : toolNameMatcher(allow);
  const denied = deny.length === 0 ? () => false : toolNameMatcher(deny);
  return (tool) => allowed(tool) && !denied(tool);
}

/**
 * Caches compiled matchers per distinct scope list: principals are rebuilt per request, their
 * scope lists repeat, and compiling a glob on every call would sit on the hot path.
 */
export class ScopeMatcherCache {
  private readonly cache = new Map<string, Matcher>();

  constructor(private readonly maxEntries = 1000) {}

  /** True when `scopes` (undefined = unrestricted) admit the tool. */
  allows(scopes: readonly string[] | undefined, tool: string): boolean {
    if (scopes === undefined) return true;
    const key = scopes.join('\n');
    let matcher = this.cache.get(key);
    if (matcher === undefined) {
      matcher = compileToolScopes(scopes);
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(key, matcher);
    }
    return matcher(tool);
  }
}
