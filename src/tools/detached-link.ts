import { NexusError } from '../errors/index.js';
import type { ClientLink } from './types.js';

/**
 * The client link for calls with no MCP client behind them (`nexus run`, scheduled tasks):
 * progress and logs are dropped, and sampling or elicitation are refused with a clear code.
 */
export function detachedLink(): ClientLink {
  const unsupported = (what: string) => async (): Promise<never> => {
    throw new NexusError('CAPABILITY_UNSUPPORTED', `${what} needs a connected MCP client that supports it`);
  };
  return {
    wantsProgress: false,
    progress: async () => undefined,
    log: async () => undefined,
    elicit: unsupported('Elicitation'),
    sample: unsupported('Sampling'),
  };
}
