export { ERROR_CODES, isErrorCode, type ErrorCode, type ErrorCodeSpec } from './codes.js';
export { NexusError, type ErrorDetails } from './nexus-error.js';
export { toCliError, toHttpError, toJsonRpcError, toToolErrorResult } from './mappers.js';
