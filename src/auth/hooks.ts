import { NexusError } from '../errors/index.js';
import type { ExecutorHook, ToolCallInfo, ToolCallRecord } from '../tools/executor.js';
import type { AuditLog } from './audit.js';
import type { AccessPolicy } from './policy.js';
import type { QuotaService } from './quotas.js';
import type { ConcurrencyLimiter, RateLimiter } from './rate-limit.js';

/** Codes that mean the call was refused by policy rather than failed while running. */
const REFUSALS = new Set(['FORBIDDEN', 'RATE_LIMITED', 'QUOTA_EXCEEDED', 'TOOL_NOT_FOUND', 'UNAUTHORIZED']);

/**
 * Tenant tool overrides and principal scopes. A tool the tenant has switched off looks like it
 * does not exist; one outside the principal's scopes is FORBIDDEN (and audited).
 */
export function accessHook(policy: AccessPolicy): ExecutorHook {
  return {
    before(call: ToolCallInfo) {
      if (!policy.tenantAllows(call.principal.tenant, call.tool)) {
        throw new NexusError('TOOL_NOT_FOUND', `Unknown tool: ${call.tool}`, { details: { tool: call.tool } });
      }
      if (!policy.scopeAllows(call.principal, call.tool)) {
        throw new NexusError('FORBIDDEN', `This credential may not call ${call.tool}`, { details: { tool: call.tool, scopes: [...(call.principal.toolScopes ?? [])] } });
      }
    },
  };
}

/**
 * Concurrency cap per tenant, per-tool token buckets, then the daily call quota. Nested calls
 * (a workflow's steps) do not take a concurrency slot: their parent already holds one, and
 * counting them could starve the parent of its own children.
 */
export function limitsHook(options: { policy: AccessPolicy; limiter: RateLimiter; concurrency: ConcurrencyLimiter; quotas: QuotaService }): ExecutorHook {
  const { policy, limiter, concurrency, quotas } = options;
  return {
    before(call: ToolCallInfo) {
      const tenant = call.principal.tenant;
      const max = policy.maxConcurrent(tenant);
      if (call.depth === 0 && max > 0 && !concurrency.tryAcquire(tenant, call.traceId, max)) {
        throw new NexusError('RATE_LIMITED', `Tenant "${tenant}" already has ${max} tool calls running; retry when one finishes`, {
          details: { limit: 'concurrency', max },
        });
      }
      const buckets = policy.rateLimitEnabled ? policy.toolBuckets(tenant, call.tool) : [];
      // Without buckets to take from, the call stays synchronous up to the quota check.
      if (buckets.length === 0) return quotas.consumeCall(tenant);
      return (async () => {
        const decision = await limiter.take(buckets);
        if (!decision.allowed) {
          throw new NexusError('RATE_LIMITED', `Too many ${call.tool} calls; retry in ${Math.ceil(decision.retryAfterMs / 1000)} s`, {
            details: { limit: 'tool', tool: call.tool, retryAfterMs: decision.retryAfterMs },
          });
        }
        await quotas.consumeCall(tenant);
      })();
    },
    after(record: ToolCallRecord) {
      concurrency.release(record.principal.tenant, record.traceId);
    },
  };
}

/** One audit record per tool call (refused ones included); the audit log digests the arguments when it writes the batch. */
export function auditHook(audit: AuditLog): ExecutorHook {
  return {
    after(record: ToolCallRecord) {
      audit.record({
        event: 'tool_call',
        tenant: record.principal.tenant,
        principal: record.principal.id,
        tool: record.tool,
        args: record.args ?? {},
        outcome: record.outcome === 'ok' ? 'ok' : REFUSALS.has(record.errorCode ?? '') ? 'denied' : 'error',
        errorCode: record.errorCode ?? null,
        durationMs: Math.round(record.durationMs * 1000) / 1000,
        traceId: record.traceId,
        remoteAddress: null,
        detail: record.depth > 0 ? `depth=${record.depth}` : null,
      });
    },
  };
}
