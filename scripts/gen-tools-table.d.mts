/** What the table needs of an MCP tool description (a `tools/list` entry). */
export interface ToolDescription {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: { properties?: Record<string, unknown>; required?: string[] };
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
  execution?: { taskSupport?: string };
}

export const START_MARKER: string;
export const END_MARKER: string;
export function summary(description: string): string;
export function argumentList(inputSchema: ToolDescription['inputSchema']): string;
export function hintWords(annotations?: ToolDescription['annotations']): string;
export function renderToolsTable(tools: readonly ToolDescription[]): string;
export function replaceTable(text: string, table: string): string;
