import type { ChildProcess } from 'node:child_process';

export interface NexusProcess {
  /** Base URL, e.g. http://127.0.0.1:41234 (MCP at `${url}/mcp`). */
  readonly url: string;
  readonly child: ChildProcess;
  /** The last lines the server wrote to stderr. */
  stderr(): string;
  stop(): Promise<void>;
}

export function startNexus(options: { repoRoot: string; args: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<NexusProcess>;
export function waitForHttp(url: string, options?: { timeoutMs?: number; intervalMs?: number }): Promise<number>;
export function freePort(): Promise<number>;
export function stopChild(child: ChildProcess, graceMs?: number): Promise<void>;
