import { ERROR_CODES, type ErrorCode } from './codes.js';

/** JSON-safe detail values: what may cross any boundary. */
export type ErrorDetails = Record<string, unknown>;

const BRAND = Symbol.for('nexus.error');

/**
 * The single error type of Nexus. `code` comes from the catalogue in codes.ts; `message` is
 * something a person can act on; `details` is JSON-safe and may be shown to clients.
 * Plugins may bundle their own copy of this module, so identity is checked with a global
 * symbol brand (`NexusError.is`) rather than `instanceof`.
 */
export class NexusError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NexusError';
    this.code = code;
    this.details = options.details ?? {};
  }

  static is(value: unknown): value is NexusError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Wraps anything thrown into a NexusError, keeping NexusErrors as they are. */
  static from(error: unknown, fallback: ErrorCode = 'INTERNAL_ERROR'): NexusError {
    if (NexusError.is(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new NexusError(fallback, message, { cause: error });
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus;
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}
