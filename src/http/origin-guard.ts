import { isIP } from 'node:net';

/** True for addresses and names that only reach this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1';
  return false;
}

export interface OriginGuardOptions {
  bindHost: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}

/** Splits "host:port" / "[v6]:port" into its host part. */
function hostPart(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

/**
 * DNS-rebinding protection (MCP Streamable HTTP security requirement). On a loopback bind the
 * Host header must name this machine, and any Origin must be a loopback origin or one the
 * operator allowed: a web page elsewhere can then never drive the local server.
 */
export function checkOriginAndHost(headers: Headers, options: OriginGuardOptions): { ok: true } | { ok: false; reason: string } {
  const host = headers.get('host');
  const loopbackBind = isLoopbackHost(options.bindHost);
  if (host !== null) {
    const name = hostPart(host);
    const allowed = options.allowedHosts.includes(host) || options.allowedHosts.includes(name) || (loopbackBind ? isLoopbackHost(name) : true);
    if (!allowed) return { ok: false, reason: `Host "${host}" is not allowed` };
  }
  const origin = headers.get('origin');
  if (origin !== null && origin !== 'null') {
    let originHost: string;
    try {
      originHost = new URL(origin).hostname;
    } catch {
      return { ok: false, reason: 'Malformed Origin header' };
    }
    if (!isLoopbackHost(originHost) && !options.allowedOrigins.includes(origin)) return { ok: false, reason: `Origin "${origin}" is not allowed` };
  } else if (origin === 'null') {
    return { ok: false, reason: 'Opaque origin ("null") is not allowed' };
  }
  return { ok: true };
}
