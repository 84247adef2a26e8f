import type { NexusConfig } from '../config/index.js';

type OAuthConfig = NonNullable<NexusConfig['auth']['oauth']>;

export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

/**
 * Where the RFC 9728 metadata of `resource` lives: the well-known segment goes between the
 * origin and the resource's path (`https://h/mcp` → `https://h/.well-known/oauth-protected-resource/mcp`).
 */
export function metadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}${PROTECTED_RESOURCE_PATH}${path}`;
}

/** The local paths the metadata is served at: the bare well-known path and the path-suffixed one. */
export function metadataPaths(resource: string): string[] {
  const suffixed = new URL(metadataUrl(resource)).pathname;
  return suffixed === PROTECTED_RESOURCE_PATH ? [PROTECTED_RESOURCE_PATH] : [PROTECTED_RESOURCE_PATH, suffixed];
}

/** RFC 9728 Protected Resource Metadata for this server. */
export function protectedResourceMetadata(oauth: OAuthConfig, serverName: string): Record<string, unknown> {
  const scopes = oauth.scopes_supported ?? (oauth.required_scopes.length > 0 ? oauth.required_scopes : undefined);
  return {
    resource: oauth.resource,
    authorization_servers: oauth.issuers.map((issuer) => issuer.issuer),
    bearer_methods_supported: ['header'],
    resource_name: serverName,
    ...(scopes === undefined ? {} : { scopes_supported: scopes }),
  };
}

/** Quotes a value for an auth-param (RFC 9110 quoted-string). */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`).replace(/[\r\n]/g, ' ')}"`;
}

/**
 * The `WWW-Authenticate` challenge for a 401 or 403 (RFC 6750 §3, MCP authorization): points at
 * the metadata when OAuth is configured, names the error when a credential was presented.
 */
export function bearerChallenge(options: {
  oauth: OAuthConfig | undefined;
  error?: 'invalid_token' | 'insufficient_scope' | undefined;
  description?: string | undefined;
  scope?: readonly string[] | undefined;
}): string {
  const params: string[] = [];
  if (options.oauth) params.push(`resource_metadata=${quoted(metadataUrl(options.oauth.resource))}`);
  else params.push('realm="nexus"');
  const scope = options.scope ?? (options.oauth && options.oauth.required_scopes.length > 0 ? options.oauth.required_scopes : undefined);
  if (scope !== undefined && scope.length > 0) params.push(`scope=${quoted(scope.join(' '))}`);
  if (options.error) params.push(`error=${quoted(options.error)}`);
  if (options.error && options.description) params.push(`error_description=${quoted(options.description)}`);
  return `Bearer ${params.join(', ')}`;
}
