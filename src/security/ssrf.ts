import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { NexusError } from '../errors/index.js';

/** One resolved address of a URL's host. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Cloud instance-metadata endpoints, named in errors (they are also link-local / unique-local). */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254']);
/** ::/96, the deprecated IPv4-compatible form (`::127.0.0.1`), which ipaddr.js reports as unicast. */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * Where an address points. Only globally routable unicast counts as public: loopback, private,
 * link-local (cloud metadata), CGNAT, multicast, unspecified, broadcast, reserved, unique-local,
 * NAT64/6to4/Teredo (which embed IPv4 targets) and the rest are not. IPv4-mapped IPv6 is judged
 * as the IPv4 address it carries.
 */
export function classifyAddress(address: string): { public: boolean; range: string; address: string } {
  if (!ipaddr.isValid(address)) return { public: false, range: 'invalid', address };
  const parsed = ipaddr.process(address);
  const normalized = parsed.toString();
  if (METADATA_ADDRESSES.has(normalized)) return { public: false, range: 'cloudMetadata', address: normalized };
  const range = parsed.range();
  if (range === 'unicast' && parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE)) return { public: false, range: 'ipv4Compatible', address: normalized };
  return { public: range === 'unicast', range, address: normalized };
}

/** The same address written two ways compares equal (`::ffff:127.0.0.1` and `127.0.0.1`). */
export function sameAddress(a: string, b: string): boolean {
  return ipaddr.isValid(a) && ipaddr.isValid(b) && ipaddr.process(a).toString() === ipaddr.process(b).toString();
}

/** The host of a URL without IPv6 brackets. */
export function bareHostname(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** Resolves a host to all its addresses (a literal resolves to itself). The signal abandons the wait. */
export async function resolveHost(hostname: string, signal: AbortSignal): Promise<ResolvedAddress[]> {
  const family = isIP(hostname);
  if (family === 4 || family === 6) return [{ address: hostname, family }];
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const answers = await Promise.race([lookup(hostname, { all: true, verbatim: true }), aborted]);
    return answers.map((answer) => ({ address: answer.address, family: answer.family === 6 ? 6 : 4 }));
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const errno = (error as NodeJS.ErrnoException).code ?? null;
    throw new NexusError('HTTP_REQUEST_FAILED', `Could not resolve ${hostname}: ${errno ?? String(error)}`, { details: { host: hostname, reason: 'dns', errno }, cause: error });
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Refuses a host whose addresses are not all public. One bad answer is enough: a name that
 * resolves to both a public and an internal address could otherwise be steered inside.
 */
export function assertPublicAddresses(url: URL, addresses: readonly ResolvedAddress[]): void {
  for (const { address } of addresses) {
    const verdict = classifyAddress(address);
    if (!verdict.public) {
      throw new NexusError('SSRF_BLOCKED', `Refusing ${url.origin}: ${url.hostname} resolves to ${verdict.address} (${verdict.range}), which is not a public address`, {
        details: { url: url.href, host: url.hostname, address: verdict.address, range: verdict.range },
      });
    }
  }
  if (addresses.length === 0) {
    throw new NexusError('HTTP_REQUEST_FAILED', `${url.hostname} has no addresses`, { details: { host: url.hostname, reason: 'dns' } });
  }
}
