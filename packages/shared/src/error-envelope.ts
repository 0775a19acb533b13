import { isErrorCode, type ErrorCode } from './errors.js';
import type { ErrorEnvelopeSchema } from './schemas/common.js';

/**
 * What an error answer of DS says, read leniently from its envelope ({@link ErrorEnvelopeSchema}
 * is the strict wire shape): a client must say something useful even about a proxy's error page.
 */
export interface ErrorAnswer {
  /** The DS error code; BAD_RESPONSE when the body carries none DS defines (a proxy's page, no JSON). */
  code: ErrorCode | 'BAD_RESPONSE';
  description: string;
  requestId: string | null;
  details?: unknown;
}

/**
 * Reads the error envelope from an answer's parsed body (`undefined` or `null` when it was not
 * JSON). Never throws: whatever the body is, the result says what can be said about it.
 */
export function parseErrorEnvelope(status: number, body: unknown): ErrorAnswer {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  return {
    code: isErrorCode(fields.code) ? fields.code : 'BAD_RESPONSE',
    description: typeof fields.description === 'string' ? fields.description : `DS answered HTTP ${status}`,
    requestId: typeof fields.requestId === 'string' ? fields.requestId : null,
    ...(fields.details !== undefined ? { details: fields.details } : {}),
  };
}

/** Reads a response's body as JSON; `undefined` when it is empty or not JSON. */
export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a request to DS did not get an answer, for "cannot reach DS" messages: the cause Node's
 * fetch wraps (`connect ECONNREFUSED ...`) rather than its bare "fetch failed".
 */
export function unreachableReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? error.cause.message : error.message;
}
