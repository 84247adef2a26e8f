import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../runtime/runtime.js';
import { assertSafeBind, createHttpApp, type HttpAppOptions } from './app.js';

export interface HttpServerHandle {
  /** Base URL, e.g. http://127.0.0.1:9000 */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets in-flight calls finish within the grace period, closes sessions. */
  close(): Promise<void>;
}

export interface StartHttpOptions extends Partial<HttpAppOptions> {
  host: string;
  port: number;
}

/** Binds the HTTP app (loopback by default; a non-loopback bind needs auth). */
export async function startHttpServer(runtime: Runtime, options: StartHttpOptions): Promise<HttpServerHandle> {
  await assertSafeBind(runtime, options.host);
  const http = createHttpApp(runtime, { bindHost: options.host, ...(options.authenticator ? { authenticator: options.authenticator } : {}) });
  const server = createAdaptorServer({ fetch: http.app.fetch }) as Server;
  // Keep-alive sockets would otherwise hold close() open until they time out.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl}:${address.port}`,
    port: address.port,
    close() {
      closing ??= (async () => {
        http.ready = false;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await runtime.executor.shutdown(runtime.config.shutdown_grace_secs * 1000);
        await http.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
