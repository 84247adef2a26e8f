import http from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { NexusError } from '../errors/index.js';
import { sameAddress, type ResolvedAddress } from './ssrf.js';

export interface PinnedRequestOptions {
  url: URL;
  /** The addresses that passed the checks; the connection may only go to one of them. */
  addresses: readonly ResolvedAddress[];
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  signal: AbortSignal;
}

/**
 * Sends one request whose connection is pinned to already-checked addresses: the socket's DNS
 * lookup answers with those addresses only (no second resolution an attacker could rebind), and
 * the connected peer is verified before the response is used. No agent pooling, no proxy, no
 * redirects: the caller decides about each hop. Resolves with the response head; the body is
 * the caller's to read or destroy.
 */
export function pinnedRequest(options: PinnedRequestOptions): Promise<http.IncomingMessage> {
  const { url, addresses } = options;
  const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
    const first = addresses[0];
    if (lookupOptions.all === true) {
      callback(null, addresses.map(({ address, family }) => ({ address, family })));
    } else if (first === undefined) {
      callback(new Error('no checked address to connect to'), '', 4);
    } else {
      callback(null, first.address, first.family);
    }
  };
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request({
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: options.method,
      headers: { ...options.headers, host: url.host },
      lookup: pinned,
      agent: false,
      signal: options.signal,
    });
    let peerChecked = false;
    const verifyPeer = (socket: Socket): void => {
      const remote = socket.remoteAddress;
      if (remote !== undefined && addresses.some((candidate) => sameAddress(candidate.address, remote))) {
        peerChecked = true;
        return;
      }
      request.destroy(
        new NexusError('SSRF_BLOCKED', `Connected to ${remote ?? 'an unknown address'}, which is not the checked address of ${url.hostname}`, {
          details: { url: url.href, address: remote ?? null },
        }),
      );
    };
    request.on('socket', (socket) => {
      if (socket.remoteAddress !== undefined) verifyPeer(socket);
      else socket.once('connect', () => verifyPeer(socket));
    });
    request.on('response', (response) => {
      if (!peerChecked && response.socket) verifyPeer(response.socket);
      if (peerChecked) resolve(response);
      else response.destroy();
    });
    request.on('error', reject);
    request.end(options.body);
  });
}
