import type { NexusConfig } from '../config/index.js';
import type { Principal } from './principal.js';
import type { BucketSpec } from './rate-limit.js';
import { ScopeMatcherCache, toolNameMatcher as nameMatcher } from './scopes.js';

type Bucket = { requests_per_second: number; burst_size: number };

/** Quotas of one tenant after overrides; null = unlimited. */
export interface TenantQuotas {
  readonly calls_per_day: number | null;
  readonly stored_bytes: number | null;
  readonly memory_items: number | null;
}

interface TenantToolRule {
  readonly allows: (tool: string) => boolean;
}

/**
 * Who may see and call what, and which limits apply, after per-tenant overrides. Pure: reads the
 * config, keeps compiled globs, never touches storage.
 */
export class AccessPolicy {
  private readonly scopes = new ScopeMatcherCache();
  private readonly tenantTools = new Map<string, TenantToolRule>();
  private readonly toolLimitMatchers: Array<{ pattern: string; matches: (tool: string) => boolean }>;

  constructor(private readonly config: NexusConfig) {
    const patterns = new Set([...Object.keys(config.rate_limit.per_tool), ...Object.values(config.tenants).flatMap((t) => Object.keys(t.rate_limit?.per_tool ?? {}))]);
    this.toolLimitMatchers = [...patterns].map((pattern) => ({ pattern, matches: nameMatcher([pattern]) }));
  }

  /** Tenant overrides narrow the globally enabled tools (tenants.<id>.tools). */
  tenantAllows(tenant: string, tool: string): boolean {
    let rule = this.tenantTools.get(tenant);
    if (rule === undefined) {
      const override = this.config.tenants[tenant]?.tools;
      const enabled = override?.enabled ? nameMatcher(override.enabled) : () => true;
      const disabled = override?.disabled?.length ? nameMatcher(override.disabled) : () => false;
      rule = { allows: (name) => enabled(name) && !disabled(name) };
      if (this.tenantTools.size > 10_000) this.tenantTools.clear();
      this.tenantTools.set(tenant, rule);
    }
    return rule.allows(tool);
  }

  /** The principal's own scopes (key scopes, `tools:` token scopes). */
  scopeAllows(principal: Principal, tool: string): boolean {
    return this.scopes.allows(principal.toolScopes, tool);
  }

  /** Whether the tool appears in this principal's tools/list and may be called. */
  visible(principal: Principal, tool: string): boolean {
    return this.tenantAllows(principal.tenant, tool) && this.scopeAllows(principal, tool);
  }

  get rateLimitEnabled(): boolean {
    return this.config.rate_limit.enabled;
  }

  /**
   * Buckets one HTTP request draws from: the caller's own (by authenticated principal, or by
   * socket address for anonymous loopback callers — never by a client-supplied header) and the
   * tenant's when a tenant limit is configured.
   */
  requestBuckets(tenant: string, callerKey: string): BucketSpec[] {
    const global = this.config.rate_limit;
    const override = this.config.tenants[tenant]?.rate_limit;
    const buckets: BucketSpec[] = [
      { key: `caller:${callerKey}`, ratePerSecond: override?.requests_per_second ?? global.requests_per_second, burst: override?.burst_size ?? global.burst_size },
    ];
    const perTenant: Bucket | undefined = override?.per_tenant ?? global.per_tenant;
    if (perTenant) buckets.push({ key: `tenant:${tenant}`, ratePerSecond: perTenant.requests_per_second, burst: perTenant.burst_size });
    return buckets;
  }

  /** Buckets one tool call draws from: one per matching `per_tool` glob, shared within the tenant. */
  toolBuckets(tenant: string, tool: string): BucketSpec[] {
    const limits: Record<string, Bucket> = { ...this.config.rate_limit.per_tool, ...(this.config.tenants[tenant]?.rate_limit?.per_tool ?? {}) };
    const buckets: BucketSpec[] = [];
    for (const { pattern, matches } of this.toolLimitMatchers) {
      const limit = limits[pattern];
      if (limit !== undefined && matches(tool)) buckets.push({ key: `tool:${tenant}:${pattern}`, ratePerSecond: limit.requests_per_second, burst: limit.burst_size });
    }
    return buckets;
  }

  /** Tool calls a tenant may have running at once; 0 = no cap. */
  maxConcurrent(tenant: string): number {
    return this.config.tenants[tenant]?.rate_limit?.max_concurrent ?? this.config.rate_limit.max_concurrent_per_tenant;
  }

  quotas(tenant: string): TenantQuotas {
    const override = this.config.tenants[tenant]?.quotas;
    const global = this.config.quotas;
    return {
      calls_per_day: override?.calls_per_day === undefined ? global.calls_per_day : override.calls_per_day,
      stored_bytes: override?.stored_bytes === undefined ? global.stored_bytes : override.stored_bytes,
      memory_items: override?.memory_items === undefined ? global.memory_items : override.memory_items,
    };
  }
}
