import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

/** Structured logger used everywhere in Nexus (pino underneath). */
export type Logger = PinoLogger;

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
export const SECRET_KEY_PATTERN = /(pass(word)?|secret|token|api[-_]?key|authorization|cookie|credential|private[-_]?key)/i;

export interface CreateLoggerOptions {
  level: string;
  /** Defaults to stderr: stdout is the stdio protocol channel. */
  destination?: DestinationStream;
}

/**
 * Creates the root logger. Logs are JSON lines on stderr; `redact` covers well-known secret
 * fields, and `redactSecrets` below scrubs arbitrary objects (tool arguments) before logging.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'nexus' },
      redact: {
        paths: ['*.password', '*.token', '*.apiKey', '*.api_key', '*.authorization', 'headers.authorization', 'headers["x-api-key"]'],
        censor: '[REDACTED]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that writes nothing (library use and tests that do not look at logs). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}

export interface RedactOptions {
  /** Strings longer than this are cut, with a note of the original length. */
  maxStringLength?: number;
  maxDepth?: number;
}

/**
 * Returns a copy of a value safe to log: secret-looking keys are replaced, long strings are
 * truncated, deep structures are cut off. Used for tool arguments in traces and the request log.
 */
export function redactSecrets(value: unknown, options: RedactOptions = {}, depth = 0): unknown {
  const maxStringLength = options.maxStringLength ?? 2048;
  const maxDepth = options.maxDepth ?? 8;
  if (typeof value === 'string') {
    return value.length > maxStringLength ? `${value.slice(0, maxStringLength)}…[truncated ${value.length} chars]` : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= maxDepth) return '[…]';
  if (Array.isArray(value)) {
    const items = value.slice(0, 100).map((item) => redactSecrets(item, options, depth + 1));
    return value.length > 100 ? [...items, `…[${value.length - 100} more]`] : items;
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, SECRET_KEY_PATTERN.test(key) ? '[REDACTED]' : redactSecrets(inner, options, depth + 1)]),
  );
}
