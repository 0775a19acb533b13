import { ERROR_CODES, type ErrorCode } from '@ds/shared';

/**
 * An expected failure with a DS error code; `app.onError` turns it into the error envelope.
 * `data` goes into the envelope's `data` field, for the few errors whose contract carries a payload
 * (OS_NOT_DETECTED and INSTALLER_NOT_FOUND answer `data.available`).
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    description?: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
    readonly data?: unknown,
  ) {
    super(description ?? ERROR_CODES[code].description);
    this.status = ERROR_CODES[code].status;
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} does not exist`);
export const forbidden = (description = 'this credential does not allow that') => new AppError('FORBIDDEN', description);
export const conflict = (description: string) => new AppError('CONFLICT', description);
export const invalid = (field: string, message: string) =>
  new AppError('VALIDATION_ERROR', `${field}: ${message}`, { issues: [{ path: field, message }] });
