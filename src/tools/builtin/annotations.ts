import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';

/** A tool that only reads and computes, touching nothing outside Nexus: safe to call again. */
export const READ_ONLY_LOCAL = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const satisfies ToolAnnotations;
