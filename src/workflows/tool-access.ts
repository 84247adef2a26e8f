import type { Principal } from '../auth/principal.js';
import type { ToolAccess } from '../protocol/server.js';
import type { ToolRegistry } from '../tools/registry.js';

/**
 * Saved-workflow tools (`workflow.<name>`, source "workflow") belong to one tenant, the local
 * operator's: other tenants neither see them in tools/list nor can call them (they are unknown
 * tools to them), so one tenant's workflow names, descriptions and schemas never reach another.
 * Everything else is decided by the wrapped access policy.
 */
export function scopeSavedWorkflowTools(access: ToolAccess | undefined, options: { registry: ToolRegistry; tenant: () => string }): ToolAccess {
  const foreign = (tenant: string, tool: string): boolean => {
    if (!tool.startsWith('workflow.') || tenant === options.tenant()) return false;
    try {
      return options.registry.resolve(tool).tool.source === 'workflow';
    } catch {
      return false;
    }
  };
  return {
    visible: (principal: Principal, tool: string) => !foreign(principal.tenant, tool) && (access?.visible(principal, tool) ?? true),
    tenantAllows: (tenant: string, tool: string) => !foreign(tenant, tool) && (access?.tenantAllows(tenant, tool) ?? true),
  };
}
