import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineTool, type Tool } from '../types.js';
import { READ_ONLY_LOCAL } from './annotations.js';
import { decodeBase64Strict, decodeUtf8Strict, encodeBase64 } from './base64.js';
import type { EvalSandbox } from './eval-sandbox.js';
import { jsonTools } from './json.js';
import { regexTools } from './regex.js';

/** The original clamped larger counts to this rather than failing; kept for its clients. */
const MAX_UUIDS = 100;

const variantArg = z.enum(['standard', 'url']).default('standard').describe('"standard" (RFC 4648 §4, padded) or "url" (base64url, unpadded)');

const uuidGenerate = defineTool({
  name: 'uuid.generate',
  title: 'Generate UUIDs',
  description: `Generates random (version 4) UUIDs. With count 1 (the default) the text is the bare UUID; otherwise a JSON array. Counts above ${MAX_UUIDS} are clamped to ${MAX_UUIDS}.`,
  inputSchema: z.strictObject({ count: z.number().int().min(0).default(1).describe(`How many (default 1, at most ${MAX_UUIDS})`) }),
  outputSchema: z.object({ uuids: z.array(z.string().uuid()), count: z.number().int() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  execute({ count }) {
    const uuids = Array.from({ length: Math.min(count, MAX_UUIDS) }, () => randomUUID());
    const text = uuids.length === 1 ? (uuids[0] ?? '') : JSON.stringify(uuids, null, 2);
    return { text, data: { uuids, count: uuids.length } };
  },
});

const base64Encode = defineTool({
  name: 'base64.encode',
  title: 'Base64 encode',
  description: 'Encodes the UTF-8 bytes of a text as base64 (standard alphabet with padding, or base64url). The text result is the encoded string.',
  inputSchema: z.strictObject({ text: z.string().describe('Text to encode'), variant: variantArg }),
  outputSchema: z.object({ encoded: z.string(), bytes: z.number().int() }),
  annotations: READ_ONLY_LOCAL,
  execute({ text, variant }) {
    const bytes = Buffer.from(text, 'utf8');
    const encoded = encodeBase64(bytes, variant);
    return { text: encoded, data: { encoded, bytes: bytes.byteLength } };
  },
});

const base64Decode = defineTool({
  name: 'base64.decode',
  title: 'Base64 decode',
  description:
    'Decodes base64 strictly (bad characters, padding or length fail with INVALID_BASE64 and the position) and returns the UTF-8 text; ' +
    'bytes that are not UTF-8 fail with NOT_UTF8 unless output_encoding is "hex".',
  inputSchema: z.strictObject({
    encoded: z.string().describe('Base64 text'),
    variant: variantArg,
    output_encoding: z.enum(['utf8', 'hex']).default('utf8').describe('Return the bytes as UTF-8 text (default) or hex'),
  }),
  outputSchema: z.object({ decoded: z.string(), encoding: z.enum(['utf8', 'hex']), bytes: z.number().int() }),
  annotations: READ_ONLY_LOCAL,
  execute({ encoded, variant, output_encoding: encoding }) {
    const bytes = decodeBase64Strict(encoded, variant);
    const decoded = encoding === 'hex' ? bytes.toString('hex') : decodeUtf8Strict(bytes, 'use output_encoding "hex" for binary data');
    return { text: decoded, data: { decoded, encoding, bytes: bytes.byteLength } };
  },
});

const hashSha256 = defineTool({
  name: 'hash.sha256',
  title: 'SHA-256',
  description: 'Returns the lowercase hex SHA-256 digest of a text\'s UTF-8 bytes (or of base64-given bytes with input_encoding "base64").',
  inputSchema: z.strictObject({
    text: z.string().describe('Text to hash'),
    input_encoding: z.enum(['utf8', 'base64']).default('utf8').describe('How to turn `text` into bytes: UTF-8 (default) or strict base64'),
  }),
  outputSchema: z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/), algorithm: z.literal('sha256'), bytes: z.number().int() }),
  annotations: READ_ONLY_LOCAL,
  execute({ text, input_encoding: encoding }) {
    const bytes = encoding === 'base64' ? decodeBase64Strict(text) : Buffer.from(text, 'utf8');
    const hash = createHash('sha256').update(bytes).digest('hex');
    return { text: hash, data: { hash, algorithm: 'sha256' as const, bytes: bytes.byteLength } };
  },
});

/** uuid, base64, hash, json and regex tools; json.query and regex.* evaluate in `sandbox`. */
export function dataTools(sandbox: EvalSandbox): Tool[] {
  return [uuidGenerate, base64Encode, base64Decode, hashSha256, ...jsonTools(sandbox), ...regexTools(sandbox)] as Tool[];
}
