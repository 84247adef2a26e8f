export { createLogger, createSilentLogger, redactSecrets, SECRET_KEY_PATTERN, type CreateLoggerOptions, type Logger } from './logger.js';
export { RequestLog, type MessageDirection, type RequestLogEntry } from './request-log.js';
