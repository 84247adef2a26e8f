import type { NexusConfig } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import { PathSandbox } from './path-sandbox.js';

/**
 * The file sandbox of each tenant. A tenant with `tenants.<id>.security` gets its own roots instead
 * of the global ones (never merged: confining a tenant must not leave it the global folders, so a
 * list it omits is empty); every other tenant shares the global sandbox. A tenant's sandbox is built
 * on its first file call (building resolves the roots on disk; most tenants may never touch files).
 */
export class SandboxResolver {
  private readonly config: NexusConfig;
  private readonly logger: Logger;
  private readonly built = new Map<string, PathSandbox>();
  private readonly global: PathSandbox;

  constructor(options: { config: NexusConfig; logger: Logger }) {
    this.config = options.config;
    this.logger = options.logger;
    // The global one is built now so a missing global root is reported at start-up, as before.
    this.global = new PathSandbox({ readPaths: this.config.security.allowed_read_paths, writePaths: this.config.security.allowed_write_paths, logger: this.logger });
  }

  forTenant(tenant: string): PathSandbox {
    // Own-property check: a tenant id such as "constructor" must not reach Object.prototype.
    const override = Object.hasOwn(this.config.tenants, tenant) ? this.config.tenants[tenant]?.security : undefined;
    if (override === undefined) return this.global;
    let sandbox = this.built.get(tenant);
    if (sandbox === undefined) {
      sandbox = new PathSandbox({
        readPaths: override.allowed_read_paths ?? [],
        writePaths: override.allowed_write_paths ?? [],
        logger: this.logger,
        settingPrefix: `tenants.${tenant}.security`,
      });
      this.built.set(tenant, sandbox);
    }
    return sandbox;
  }
}
