/**
 * Who is calling. stdio and the CLI act as the local user; HTTP callers are identified by the
 * authenticator. Every store query is scoped by `tenant`.
 */
export interface Principal {
  /** Stable identifier of the caller (key id, token subject, "local"). */
  readonly id: string;
  readonly tenant: string;
  readonly kind: 'local' | 'api-key' | 'oauth' | 'anonymous';
  /** Tool-name globs this principal may call; undefined means every enabled tool. */
  readonly toolScopes?: readonly string[] | undefined;
}

export const DEFAULT_TENANT = 'default';

/** The operator on this machine (stdio, CLI, loopback HTTP without auth). */
export function localPrincipal(tenant: string = DEFAULT_TENANT): Principal {
  return { id: 'local', tenant, kind: 'local' };
}
