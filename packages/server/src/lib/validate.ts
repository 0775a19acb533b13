import type { Context } from 'hono';
import type { z } from 'zod';
import { AppError } from './errors.js';

function fieldPath(path: PropertyKey[]): string {
  return path.length === 0 ? '(body)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

/** Turns zod issues into a VALIDATION_ERROR whose description names each field. */
export function validationError(error: z.ZodError, where: string): AppError {
  const issues = error.issues.map((i) => {
    const path = fieldPath(i.path);
    if (i.code === 'unrecognized_keys') return { path: i.keys.join(', '), message: `unknown field${i.keys.length > 1 ? 's' : ''}` };
    return { path, message: i.message };
  });
  const text = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return new AppError('VALIDATION_ERROR', `invalid ${where}: ${text}`, { issues });
}

/**
 * Refuses a NUL character anywhere in a request's text (path, query, JSON strings and keys):
 * PostgreSQL cannot store one in text, so it would otherwise surface as a 500 on one dialect and
 * be stored on the other. Nothing DS keeps needs it.
 */
export function refuseNul(value: unknown, where: string, path: string[] = []): void {
  const at = () => (path.length > 0 ? `${path.join('.')}: ` : '');
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw new AppError('VALIDATION_ERROR', `invalid ${where}: ${at()}contains a NUL character`, { issues: [{ path: path.join('.'), message: 'contains a NUL character' }] });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => refuseNul(v, where, [...path, `[${i}]`]));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      refuseNul(k, where, path);
      refuseNul(v, where, [...path, k]);
    }
  }
}

export function parseWith<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, where);
  return result.data;
}

/** Reads and validates a JSON body; an empty body counts as `{}`. */
export async function jsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== '') {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', `the body must be JSON (Content-Type: application/json), not ${type || 'unspecified'}`);
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new AppError('VALIDATION_ERROR', `the body is not valid JSON: ${(error as Error).message}`);
    }
  }
  refuseNul(value, 'body');
  return parseWith(schema, value, 'body');
}

/** Validates the query string (repeated parameters keep their last value). */
export function query<T extends z.ZodType>(c: Context, schema: T): z.output<T> {
  const values = c.req.query();
  refuseNul(values, 'query');
  return parseWith(schema, values, 'query');
}
