import { NexusError } from '../../errors/index.js';

export type Base64Variant = 'standard' | 'url';

const ALPHABET: Record<Base64Variant, RegExp> = {
  standard: /[^A-Za-z0-9+/=]/,
  url: /[^A-Za-z0-9\-_=]/,
};

function invalid(message: string, position: number): NexusError {
  return new NexusError('INVALID_BASE64', `Invalid base64: ${message}`, { details: { position } });
}

/**
 * Decodes base64 strictly, unlike Node's `Buffer.from(…, 'base64')`, which skips bad characters
 * and stops at the first `=`. Surrounding whitespace is tolerated (copied text often ends with a
 * newline); inside, only the variant's alphabet is allowed, padding must be canonical ("standard"
 * requires it, "url" makes it optional) and unused trailing bits must be zero, so every accepted
 * string decodes to exactly one byte sequence.
 */
export function decodeBase64Strict(input: string, variant: Base64Variant = 'standard'): Buffer {
  const leading = input.length - input.trimStart().length;
  const text = input.trim();
  const bad = ALPHABET[variant].exec(text);
  if (bad) throw invalid(`unexpected character ${JSON.stringify(bad[0])}`, leading + bad.index);
  const firstPad = text.indexOf('=');
  const body = firstPad === -1 ? text : text.slice(0, firstPad);
  const padding = text.length - body.length;
  if (firstPad !== -1 && (padding > 2 || /[^=]/.test(text.slice(firstPad)))) throw invalid('"=" may only appear as one or two padding characters at the end', leading + firstPad);
  if (body.length % 4 === 1) throw invalid(`a length of ${body.length} characters cannot be base64`, leading + text.length);
  const paddedOk = padding === 0 ? variant === 'url' || body.length % 4 === 0 : (body.length + padding) % 4 === 0 && body.length % 4 !== 0;
  if (!paddedOk) throw invalid('missing or wrong "=" padding', leading + text.length);
  const bytes = Buffer.from(body, variant === 'url' ? 'base64url' : 'base64');
  const canonical = bytes.toString(variant === 'url' ? 'base64url' : 'base64').replace(/=+$/, '');
  if (canonical !== body) throw invalid('the last character carries non-zero unused bits', leading + body.length - 1);
  return bytes;
}

/** Encodes bytes; "standard" pads with "=", "url" is base64url without padding. */
export function encodeBase64(bytes: Uint8Array, variant: Base64Variant = 'standard'): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(variant === 'url' ? 'base64url' : 'base64');
}

/** UTF-8 text, or NOT_UTF8 naming what to ask for instead. */
export function decodeUtf8Strict(bytes: Uint8Array, hint: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new NexusError('NOT_UTF8', `The bytes are not valid UTF-8 text; ${hint}`, { details: { bytes: bytes.byteLength } });
  }
}
