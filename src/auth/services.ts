import type { NexusConfig } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import type { SqliteDatabase } from '../storage/sqlite/database.js';
import type { ToolExecutor } from '../tools/executor.js';
import { ApiKeyAuthenticator, ApiKeyService, type ApiKeyStore } from './api-keys.js';
import { AuditLog } from './audit.js';
import { ChainAuthenticator, ConfigKeyAuthenticator, type Authenticator } from './authenticator.js';
import { systemClock, type Clock } from './clock.js';
import { accessHook, auditHook, limitsHook } from './hooks.js';
import { OAuthAuthenticator } from './oauth.js';
import { AccessPolicy } from './policy.js';
import { localPrincipal, type Principal } from './principal.js';
import { QuotaService } from './quotas.js';
import { ConcurrencyLimiter, InProcessRateLimiter, type RateLimiter } from './rate-limit.js';
import { SqliteAuditStore } from './sqlite-audit-store.js';
import { SqliteApiKeyStore, SqliteTenantStore } from './sqlite-auth-stores.js';
import { TenantService, type TenantStore } from './tenants.js';

export interface AuthServicesOptions {
  config: NexusConfig;
  logger: Logger;
  /** The runtime's shared database, opened on first use. */
  database: () => SqliteDatabase;
  clock?: Clock | undefined;
  /** Defaults to in-process token buckets; the scale-out backend plugs in here. */
  rateLimiter?: RateLimiter | undefined;
}

/**
 * Authentication, authorization, limits, quotas, tenants and audit for one runtime. Storage is
 * opened lazily: a runtime that never authenticates, audits or lists keys never creates tables.
 */
export class AuthServices {
  readonly clock: Clock;
  readonly policy: AccessPolicy;
  readonly rateLimiter: RateLimiter;
  readonly concurrency = new ConcurrencyLimiter();
  readonly audit: AuditLog;
  readonly quotas: QuotaService;
  readonly tenants: TenantService;
  readonly oauth: OAuthAuthenticator | undefined;
  private keyStore: ApiKeyStore | undefined;
  private keyService: ApiKeyService | undefined;
  private tenantStore: TenantStore | undefined;

  constructor(private readonly options: AuthServicesOptions) {
    const { config, logger } = options;
    this.clock = options.clock ?? systemClock;
    this.policy = new AccessPolicy(config);
    this.rateLimiter = options.rateLimiter ?? new InProcessRateLimiter({ clock: this.clock, maxBuckets: config.rate_limit.max_buckets });
    this.audit = new AuditLog({
      store: () => new SqliteAuditStore(options.database()),
      logger,
      clock: this.clock,
      flushIntervalMs: config.audit.flush_interval_ms,
      batchSize: config.audit.batch_size,
      retentionDays: config.audit.retention_days,
    });
    this.quotas = new QuotaService({ policy: this.policy, clock: this.clock, countCalls: (tenant, since) => this.countCalls(tenant, since) });
    this.tenants = new TenantService(
      {
        create: (record) => this.tenantStorage.create(record),
        get: (id) => this.tenantStorage.get(id),
        list: () => this.tenantStorage.list(),
        delete: (id) => this.tenantStorage.delete(id),
      },
      { clock: this.clock, logger },
    );
    this.tenants.registerDataDeleter('api_keys', (tenant) => this.keyStorage.deleteTenant(tenant));
    this.oauth = config.auth.oauth ? new OAuthAuthenticator(config.auth.oauth, { clock: this.clock, tenantExists: (tenant) => this.tenants.exists(tenant) }) : undefined;
  }

  get keys(): ApiKeyService {
    this.keyService ??= new ApiKeyService(this.keyStorage, this.clock);
    return this.keyService;
  }

  /** The principal of stdio, the CLI and credential-less loopback HTTP. */
  get localPrincipal(): Principal {
    return localPrincipal(this.options.config.auth.stdio_tenant);
  }

  /** Config key hashes (the original's), then Nexus API keys, then OAuth bearer tokens. */
  authenticator(): Authenticator {
    const { auth } = this.options.config;
    return new ChainAuthenticator([new ConfigKeyAuthenticator(auth), new ApiKeyAuthenticator(this.keys, auth.api_key_header), ...(this.oauth ? [this.oauth] : [])]);
  }

  /**
   * Whether credentials are configured: auth.enabled, OAuth issuers, or at least one API key
   * that is not revoked. From the first `nexus keys create`, HTTP requires a key.
   */
  async configured(): Promise<boolean> {
    const { auth } = this.options.config;
    return auth.enabled || this.oauth !== undefined || (await this.keyStorage.hasUsableKeys());
  }

  /** Adds the access, limits and audit hooks to the executor (audit last, so it sees every outcome). */
  install(executor: ToolExecutor): void {
    executor.addHook(accessHook(this.policy));
    executor.addHook(limitsHook({ policy: this.policy, limiter: this.rateLimiter, concurrency: this.concurrency, quotas: this.quotas }));
    if (this.options.config.audit.enabled) executor.addHook(auditHook(this.audit));
  }

  /** Writes the last audit records. */
  async close(): Promise<void> {
    await this.audit.close();
  }

  private get keyStorage(): ApiKeyStore {
    this.keyStore ??= new SqliteApiKeyStore(this.options.database());
    return this.keyStore;
  }

  private get tenantStorage(): TenantStore {
    this.tenantStore ??= new SqliteTenantStore(this.options.database());
    return this.tenantStore;
  }

  private async countCalls(tenant: string, since: number): Promise<number> {
    // Records still in the buffer belong to this process and were counted as they happened.
    return this.audit.store.countAcceptedCalls(tenant, since);
  }
}
