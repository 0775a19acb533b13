import { z } from 'zod';
import { errorCodes } from '../errors.js';

/** Names of organizations, labels and users: safe in a URL path, unique, case-sensitive. */
export const NameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may contain only letters, digits, ".", "_" and "-", and must start with a letter or digit');

/** The semantic version regex from semver.org (no leading "v"). */
export const SEMVER_REGEX =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export const SemverSchema = z
  .string()
  .max(64, 'must be at most 64 characters')
  .regex(SEMVER_REGEX, 'must be a semantic version such as 3.8.1');

export const TimestampSchema = z.iso.datetime();
export const DaySchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a day YYYY-MM-DD');
export const MonthSchema = z.string().regex(/^\d{4}-\d{2}$/, 'must be a month YYYY-MM');
export const Sha256HexSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256 as 64 hexadecimal characters')
  .transform((s) => s.toLowerCase());

/** Query parameters of every paginated list. */
export const PageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;

export const PageSchema = z.object({ next: z.string().nullable() });
export type Page = z.infer<typeof PageSchema>;

/** `{"success": true, "data": ...}` */
export function envelopeSchema<T extends z.ZodType>(data: T) {
  return z.object({ success: z.literal(true), data });
}

/** `{"success": true, "data": [...], "page": {"next": ...}}` */
export function pageEnvelopeSchema<T extends z.ZodType>(item: T) {
  return z.object({ success: z.literal(true), data: z.array(item), page: PageSchema });
}

export const ErrorEnvelopeSchema = z.object({
  success: z.literal(false),
  code: z.enum(errorCodes),
  description: z.string(),
  requestId: z.string(),
  details: z.unknown().optional(),
  /** A payload some errors carry by contract, e.g. `{available: [{os, url}]}` with OS_NOT_DETECTED. */
  data: z.unknown().optional(),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;
