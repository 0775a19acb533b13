/**
 * The closed set of error codes DS answers with, and the HTTP status each one maps to.
 * Server and CLI share this table; adding a code means adding it here (and to the docs).
 */
export const ERROR_CODES = {
  VALIDATION_ERROR: { status: 400, description: 'The request is malformed or a field is invalid' },
  UNKNOWN_OS: { status: 400, description: 'The operating system is not one DS knows' },
  INVALID_INSTALLER_URI: { status: 400, description: 'An installer URI is not allowed' },
  INVALID_CERTIFICATE: { status: 400, description: 'The device certificate is not acceptable' },
  INVALID_MESSAGE: { status: 400, description: 'The device message is malformed' },
  MESSAGE_DECRYPTION_FAILED: { status: 400, description: 'The device message cannot be decrypted with a DS key' },
  TOO_MANY_TRANSACTIONS: { status: 400, description: 'Too many entries in one sync' },
  UNAUTHENTICATED: { status: 401, description: 'No valid credentials were given' },
  INVALID_CREDENTIALS: { status: 401, description: 'Wrong username or password' },
  TOKEN_EXPIRED: { status: 401, description: 'The token has expired' },
  TOKEN_REVOKED: { status: 401, description: 'The token has been revoked' },
  INVALID_API_KEY: { status: 401, description: 'The API key is wrong, revoked or expired' },
  INVALID_TOKEN: { status: 401, description: 'The bearer token is not valid' },
  MESSAGE_SIGNATURE_INVALID: { status: 401, description: 'The device message is not signed by the device key' },
  MESSAGE_EXPIRED: { status: 401, description: 'The device message has expired' },
  MESSAGE_NOT_YET_VALID: { status: 401, description: 'The device message is dated in the future' },
  FORBIDDEN: { status: 403, description: 'The credential does not allow this' },
  INSUFFICIENT_SCOPE: { status: 403, description: 'The token lacks the scope this route needs' },
  NOT_FOUND: { status: 404, description: 'No such object' },
  UNKNOWN_DEVICE: { status: 404, description: 'No such device; register again' },
  ROUTE_NOT_FOUND: { status: 404, description: 'No such route' },
  OS_NOT_DETECTED: { status: 404, description: 'The operating system could not be told from the User-Agent' },
  INSTALLER_NOT_FOUND: { status: 404, description: 'No installer for that operating system' },
  METHOD_NOT_ALLOWED: { status: 405, description: 'Method not allowed on this route' },
  CONFLICT: { status: 409, description: 'The request conflicts with the current state' },
  MESSAGE_IN_PROGRESS: { status: 409, description: 'A message with this jti is being processed; retry shortly' },
  HAS_DEPENDANTS: { status: 409, description: 'The object still has dependants; delete them first or force' },
  INSTALLER_CHANGED: { status: 409, description: 'The installer file changed after its checksum was recorded' },
  VERSION_NOT_ALLOWED: { status: 410, description: 'This version is no longer allowed' },
  PRECONDITION_FAILED: { status: 412, description: 'The object changed since it was read (If-Match); read it again' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'Unsupported Content-Type' },
  RANGE_NOT_SATISFIABLE: { status: 416, description: 'The requested range cannot be served' },
  RATE_LIMITED: { status: 429, description: 'Too many requests; retry later' },
  INTERNAL_ERROR: { status: 500, description: 'Internal error' },
  ORIGIN_FAILED: { status: 502, description: 'The installer origin failed' },
  DATABASE_UNAVAILABLE: { status: 503, description: 'The database cannot be reached' },
} as const satisfies Record<string, { status: number; description: string }>;

/** One of the DS error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** All error codes, for schemas and documentation. */
export const errorCodes = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** True when `code` is a DS error code. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
