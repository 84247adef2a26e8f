import { tenantIdSchema } from '../config/schema.js';
import { NexusError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { systemClock, type Clock } from './clock.js';
import { DEFAULT_TENANT } from './principal.js';

export interface TenantRecord {
  readonly id: string;
  readonly createdAt: number;
  readonly note: string | null;
}

/** Persistence of the tenant list (SQLite by default). */
export interface TenantStore {
  /** False when the id is taken. */
  create(tenant: TenantRecord): Promise<boolean>;
  get(id: string): Promise<TenantRecord | undefined>;
  list(): Promise<TenantRecord[]>;
  delete(id: string): Promise<boolean>;
}

/**
 * Removes everything one domain stores for a tenant (memory, workflows, keys …); returns how many
 * records went. Each domain registers its own, so deleting a tenant needs no knowledge of them.
 */
export type TenantDataDeleter = (tenant: string, options: { signal?: AbortSignal | undefined }) => Promise<number>;

/** Tenants: creation, listing, deletion with every domain's data. "default" always exists. */
export class TenantService {
  private readonly deleters = new Map<string, TenantDataDeleter>();

  constructor(
    private readonly store: TenantStore,
    private readonly options: { clock?: Clock; logger?: Logger } = {},
  ) {}

  /** Registers the function that deletes one domain's data of a tenant. */
  registerDataDeleter(domain: string, deleter: TenantDataDeleter): () => void {
    if (this.deleters.has(domain)) throw new NexusError('INTERNAL_ERROR', `A tenant data deleter for "${domain}" is already registered`);
    this.deleters.set(domain, deleter);
    return () => this.deleters.delete(domain);
  }

  get domains(): string[] {
    return [...this.deleters.keys()].sort();
  }

  async create(id: string, note?: string): Promise<TenantRecord> {
    if (!tenantIdSchema.safeParse(id).success) {
      throw new NexusError('USAGE_ERROR', `Invalid tenant id "${id}": 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`, { details: { tenant: id } });
    }
    const record: TenantRecord = { id, createdAt: (this.options.clock ?? systemClock).now(), note: note ?? null };
    if (!(await this.store.create(record))) throw new NexusError('TENANT_EXISTS', `Tenant "${id}" already exists`, { details: { tenant: id } });
    return record;
  }

  list(): Promise<TenantRecord[]> {
    return this.store.list();
  }

  async exists(id: string): Promise<boolean> {
    return id === DEFAULT_TENANT || (await this.store.get(id)) !== undefined;
  }

  /** TENANT_NOT_FOUND unless the tenant exists. */
  async require(id: string): Promise<void> {
    if (!(await this.exists(id))) throw new NexusError('TENANT_NOT_FOUND', `No tenant "${id}"; create it with: nexus tenants create ${id}`, { details: { tenant: id } });
  }

  /**
   * Deletes the tenant's data in every registered domain, then the tenant itself. Data goes
   * first: if a domain fails, the tenant still exists and the command can be re-run.
   */
  async delete(id: string, options: { signal?: AbortSignal | undefined } = {}): Promise<Record<string, number>> {
    if (id === DEFAULT_TENANT) throw new NexusError('USAGE_ERROR', 'The "default" tenant (the local user) cannot be deleted');
    await this.require(id);
    const removed: Record<string, number> = {};
    for (const [domain, deleter] of [...this.deleters].sort(([a], [b]) => a.localeCompare(b))) {
      removed[domain] = await deleter(id, options);
    }
    await this.store.delete(id);
    this.options.logger?.info({ tenant: id, removed }, 'tenant deleted');
    return removed;
  }
}
