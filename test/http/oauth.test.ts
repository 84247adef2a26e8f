import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ManualClock } from '../../src/auth/clock.js';
import { connectClient, errorBody, initialize, startAuthHarness, type AuthHarness } from '../support/auth-http.js';

const RESOURCE = 'https://nexus.test/mcp';
const METADATA_URL = 'https://nexus.test/.well-known/oauth-protected-resource/mcp';

/** A local authorization server: JWKS and RFC 8414 metadata, counting key fetches. */
interface TestIssuer {
  base: string;
  issuer: string;
  discovered: string;
  key: CryptoKey;
  jwksHits: number;
  server: Server;
}

let idp: TestIssuer;
let stranger: CryptoKey;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  stranger = (await generateKeyPair('ES256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const state = { jwksHits: 0 };
  const server = createServer((request, response) => {
    const send = (body: unknown): void => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.url === '/jwks.json') {
      state.jwksHits += 1;
      send({ keys: [jwk] });
    } else if (request.url === '/.well-known/oauth-authorization-server/second') {
      send({ issuer: `${base}/second`, jwks_uri: `${base}/jwks.json` });
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  idp = {
    base,
    issuer: base,
    discovered: `${base}/second`,
    key: privateKey,
    server,
    get jwksHits() {
      return state.jwksHits;
    },
  };
});

afterAll(async () => {
  await new Promise<void>((resolve) => idp.server.close(() => resolve()));
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const clock = new ManualClock(Date.UTC(2025, 5, 1));

async function harness(): Promise<AuthHarness> {
  const started = await startAuthHarness(
    {
      auth: {
        oauth: {
          resource: RESOURCE,
          required_scopes: ['mcp'],
          issuers: [
            { issuer: idp.issuer, jwks_uri: `${idp.base}/jwks.json`, tenant_claim: 'tenant' },
            { issuer: idp.discovered, tenant: 'default' },
          ],
        },
      },
    },
    { clock },
  );
  cleanups.push(() => started.close());
  await started.runtime.auth.tenants.create('acme');
  return started;
}

async function client(url: string, token: string): Promise<Client> {
  const connected = await connectClient(url, { authorization: `Bearer ${token}` });
  cleanups.push(() => connected.close());
  return connected;
}

/** A token as the test issuer would mint it; every part can be overridden to break it. */
async function token(options: { claims?: JWTPayload; issuer?: string; audience?: string; expiresIn?: number; notBefore?: number; kid?: string; key?: CryptoKey } = {}): Promise<string> {
  const now = Math.floor(clock.now() / 1000);
  const jwt = new SignJWT({ scope: 'mcp tools:echo tools:base64.*', tenant: 'acme', ...options.claims })
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'k1' })
    .setIssuer(options.issuer ?? idp.issuer)
    .setAudience(options.audience ?? RESOURCE)
    .setSubject('user-1')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 300));
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
  return jwt.sign(options.key ?? idp.key);
}

describe('OAuth 2.1 resource server', () => {
  it('serves RFC 9728 protected-resource metadata and points 401s at it', async () => {
    const h = await harness();
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const response = await fetch(`${h.url}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        resource: RESOURCE,
        authorization_servers: [idp.issuer, idp.discovered],
        bearer_methods_supported: ['header'],
        resource_name: 'nexus',
        scopes_supported: ['mcp'],
      });
    }
    const anonymous = await initialize(h.url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${METADATA_URL}", scope="mcp"`);
    await anonymous.body?.cancel();
  });

  it('accepts a valid token: tenant from its claim, tools limited by its tools: scopes, keys fetched once', async () => {
    const h = await harness();
    const hitsBefore = idp.jwksHits;
    const sdk = await client(h.url, await token());
    const names = (await sdk.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('echo');
    expect(names.every((name) => name === 'echo' || name.startsWith('base64.'))).toBe(true);
    expect((await sdk.callTool({ name: 'echo', arguments: { text: 'via oauth' } })).structuredContent).toEqual({ text: 'via oauth' });
    expect((await sdk.callTool({ name: 'get_time', arguments: {} })).structuredContent).toMatchObject({ code: 'FORBIDDEN' });
    // Several requests (initialize, initialized, list, calls) and one JWKS fetch.
    expect(idp.jwksHits - hitsBefore).toBe(1);
    await h.runtime.auth.audit.flush();
    const [call] = await h.runtime.auth.audit.store.query({ tool: 'echo', limit: 1, order: 'asc' });
    expect(call).toMatchObject({ tenant: 'acme', principal: `oauth:user-1@${idp.issuer}`, outcome: 'ok' });
  });

  it('refuses wrong audience, expired, not-yet-valid, bad signature, unknown kid and untrusted issuer with 401 invalid_token', async () => {
    const h = await harness();
    const cases: Array<[string, Promise<string>, RegExp]> = [
      ['wrong audience', token({ audience: 'https://other.example/mcp' }), /"aud" claim/],
      ['expired', token({ expiresIn: -120 }), /expired/],
      ['not yet valid', token({ notBefore: 600 }), /"nbf" claim/],
      ['bad signature', token({ key: stranger }), /signature is invalid/],
      ['unknown kid', token({ kid: 'rotated-away' }), /unknown kid/],
      ['untrusted issuer', token({ issuer: 'https://evil.example' }), /untrusted issuer/],
    ];
    for (const [label, pending, message] of cases) {
      const response = await initialize(h.url, { authorization: `Bearer ${await pending}` });
      expect(response.status, label).toBe(401);
      const challenge = response.headers.get('www-authenticate') ?? '';
      expect(challenge, label).toContain(`resource_metadata="${METADATA_URL}"`);
      expect(challenge, label).toContain('error="invalid_token"');
      expect((await errorBody(response)).message, label).toMatch(message);
    }
    await h.runtime.auth.audit.flush();
    expect(await h.runtime.auth.audit.store.count({ event: 'auth', outcome: 'denied' })).toBe(cases.length);
  });

  it('answers a token without the required scope with 403 insufficient_scope', async () => {
    const h = await harness();
    const response = await initialize(h.url, { authorization: `Bearer ${await token({ claims: { scope: 'tools:echo' } })}` });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${METADATA_URL}", scope="mcp", error="insufficient_scope", error_description="The access token lacks the required scope(s): mcp"`,
    );
    await response.body?.cancel();
  });

  it('refuses tokens for a tenant that does not exist or without a tenant claim', async () => {
    const h = await harness();
    const unknown = await initialize(h.url, { authorization: `Bearer ${await token({ claims: { tenant: 'ghost' } })}` });
    expect(unknown.status).toBe(403);
    expect(await errorBody(unknown)).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'unknown_tenant' } });
    const missing = await initialize(h.url, { authorization: `Bearer ${await token({ claims: { tenant: undefined } })}` });
    expect(missing.status).toBe(401);
    expect((await errorBody(missing)).message).toMatch(/"tenant" \(tenant\) claim/);
  });

  it("discovers an issuer's keys from its RFC 8414 metadata when jwks_uri is not configured", async () => {
    const h = await harness();
    const sdk = await client(h.url, await token({ issuer: idp.discovered, claims: { scope: 'mcp' } }));
    expect((await sdk.callTool({ name: 'get_time', arguments: {} })).isError).toBeUndefined();
    await h.runtime.auth.audit.flush();
    const [call] = await h.runtime.auth.audit.store.query({ tool: 'get_time', limit: 1, order: 'asc' });
    expect(call).toMatchObject({ tenant: 'default', principal: `oauth:user-1@${idp.discovered}` });
  });
});
