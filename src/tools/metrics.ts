/** Per-tool call statistics kept in memory; the dashboard and `/metrics` read them. */
export interface ToolStats {
  calls: number;
  errors: number;
  totalMs: number;
  maxMs: number;
  byCode: Record<string, number>;
}

export class ToolMetrics {
  private readonly stats = new Map<string, ToolStats>();

  record(tool: string, outcome: { durationMs: number; errorCode?: string | undefined }): void {
    const entry = this.stats.get(tool) ?? { calls: 0, errors: 0, totalMs: 0, maxMs: 0, byCode: {} };
    entry.calls += 1;
    entry.totalMs += outcome.durationMs;
    entry.maxMs = Math.max(entry.maxMs, outcome.durationMs);
    if (outcome.errorCode !== undefined) {
      entry.errors += 1;
      entry.byCode[outcome.errorCode] = (entry.byCode[outcome.errorCode] ?? 0) + 1;
    }
    this.stats.set(tool, entry);
  }

  snapshot(): Record<string, ToolStats> {
    return Object.fromEntries([...this.stats].map(([name, stats]) => [name, { ...stats, byCode: { ...stats.byCode } }]));
  }
}
