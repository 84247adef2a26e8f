import { NexusError } from '../errors/index.js';
import { systemClock, type Clock } from './clock.js';
import type { AccessPolicy } from './policy.js';

/** What a domain currently stores for a tenant. */
export interface StorageUsage {
  readonly bytes: number;
  readonly items: number;
}

/** Reports a domain's usage for one tenant (memory registers one for its KV items and messages). */
export type UsageSource = (tenant: string) => Promise<StorageUsage>;

const DAY_MS = 86_400_000;

interface DayCount {
  readonly day: number;
  count: number;
}

/**
 * Per-tenant quotas. Calls per day (UTC days) are counted in memory, seeded once per tenant and
 * day from the audit log, so a restart does not hand out a fresh allowance. Storage quotas ask the
 * registered usage sources; a write that would exceed them is refused before anything changes.
 */
export class QuotaService {
  private readonly calls = new Map<string, Promise<DayCount>>();
  private readonly sources = new Map<string, UsageSource>();
  private readonly clock: Clock;

  constructor(
    private readonly options: {
      policy: AccessPolicy;
      /** Accepted tool calls of a tenant since a time (the audit log's count). */
      countCalls: (tenant: string, since: number) => Promise<number>;
      clock?: Clock;
    },
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Counts one call against the tenant's daily quota, or refuses it with QUOTA_EXCEEDED. Returns
   * no promise when the tenant has no call quota, so the common case stays synchronous.
   */
  consumeCall(tenant: string): Promise<void> | undefined {
    const limit = this.options.policy.quotas(tenant).calls_per_day;
    return limit === null ? undefined : this.consumeLimitedCall(tenant, limit);
  }

  private async consumeLimitedCall(tenant: string, limit: number): Promise<void> {
    const day = Math.floor(this.clock.now() / DAY_MS) * DAY_MS;
    let pending = this.calls.get(tenant);
    if (pending === undefined || (await pending).day !== day) {
      pending = this.options.countCalls(tenant, day).then((count) => ({ day, count }));
      this.calls.set(tenant, pending);
      pending.catch(() => this.calls.delete(tenant));
    }
    const counter = await pending;
    if (counter.count >= limit) {
      throw new NexusError('QUOTA_EXCEEDED', `Tenant "${tenant}" has used its ${limit} tool calls for today (UTC); the quota resets at midnight UTC`, {
        details: { quota: 'calls_per_day', limit, used: counter.count, resetsAt: new Date(day + DAY_MS).toISOString() },
      });
    }
    counter.count += 1;
  }

  /** Registers how one domain measures a tenant's stored data. */
  registerUsageSource(domain: string, source: UsageSource): () => void {
    this.sources.set(domain, source);
    return () => this.sources.delete(domain);
  }

  /** The tenant's stored bytes and items across every registered domain. */
  async usage(tenant: string): Promise<StorageUsage> {
    const all = await Promise.all([...this.sources.values()].map((source) => source(tenant)));
    return all.reduce((sum, next) => ({ bytes: sum.bytes + next.bytes, items: sum.items + next.items }), { bytes: 0, items: 0 });
  }

  /**
   * Refuses (QUOTA_EXCEEDED) a write that would take the tenant past its stored-bytes or
   * memory-items quota. Call it before writing; `items` is 0 when a write replaces an item.
   */
  async assertCanStore(tenant: string, adding: StorageUsage): Promise<void> {
    const quotas = this.options.policy.quotas(tenant);
    if (quotas.stored_bytes === null && quotas.memory_items === null) return;
    const used = await this.usage(tenant);
    if (quotas.memory_items !== null && adding.items > 0 && used.items + adding.items > quotas.memory_items) {
      throw new NexusError('QUOTA_EXCEEDED', `Tenant "${tenant}" may store at most ${quotas.memory_items} memory items; nothing was stored`, {
        details: { quota: 'memory_items', limit: quotas.memory_items, used: used.items },
      });
    }
    if (quotas.stored_bytes !== null && adding.bytes > 0 && used.bytes + adding.bytes > quotas.stored_bytes) {
      throw new NexusError('QUOTA_EXCEEDED', `Tenant "${tenant}" may store at most ${quotas.stored_bytes} bytes (${used.bytes} used); nothing was stored`, {
        details: { quota: 'stored_bytes', limit: quotas.stored_bytes, used: used.bytes, adding: adding.bytes },
      });
    }
  }
}
