import { createHash } from 'node:crypto';
import canonicalizeImport from 'canonicalize';

// canonicalize is CommonJS with a default export; NodeNext sees the module object.
const canonicalize = canonicalizeImport as unknown as (value: unknown) => string | undefined;

/** RFC 8785 (JSON Canonicalization Scheme) serialisation of a JSON value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalised as JSON');
  return text;
}

/** base64url(SHA-256(RFC 8785 JSON)) of a config object: the digest devices and DS compare. */
export function configDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('base64url');
}
