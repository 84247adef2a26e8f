import type { NexusConfig } from '../../config/index.js';
import type { Logger } from '../../logging/index.js';
import type { Tool } from '../types.js';
import { basicTools } from './basic.js';

/** What built-in tool families may depend on. */
export interface BuiltinToolDeps {
  readonly config: NexusConfig;
  readonly logger: Logger;
}

/** Every built-in tool, before enable/disable filtering. */
export function builtinTools(_deps: BuiltinToolDeps): Tool[] {
  return [...basicTools()].map((tool) => ({ ...tool, source: 'builtin' as const }));
}
