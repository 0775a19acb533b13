import type { ApplicationClaims } from '@ds/shared';
import { SignJWT, jwtVerify, decodeProtectedHeader } from 'jose';
import { verifyApiKey } from '../apikeys/api-keys.service.js';
import type { Services } from '../context.js';
import { AppError } from '../lib/errors.js';
import { findLabelById } from '../labels/labels.repository.js';
import { findVersion } from '../versions/versions.repository.js';

const invalidKey = () => new AppError('INVALID_API_KEY', 'the API key is wrong, revoked or expired');

/**
 * Which kind of DS-signed JWT a token is, in its `kind` claim (additive: clients read the claims
 * of API.md and ignore it). The DS signing key also signs application tokens, installation tokens
 * and the answers to devices; each verifier requires its own kind, so no token is accepted as
 * another (a device answer, with iss `t1cds` and no kind, is neither).
 */
export const TOKEN_KIND = { application: 'application', installation: 'installation' } as const;


async function sign(services: Services, claims: Record<string, unknown>, subject: string, ttl: number): Promise<string> {
  const key = services.keys.current('sig');
  const iat = Math.floor(services.clock.now().getTime() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(services.config.tokenIssuer)
    .setSubject(subject)
    .setJti(crypto.randomUUID())
    .setIssuedAt(iat)
    .setNotBefore(iat - 5)
    .setExpirationTime(iat + ttl)
    .sign(key.privateKey);
}

/**
 * What an API key of `kind` belongs to (`find` looks it up by id), or 401 after counting a
 * failure against the address: keys cannot be guessed by trying.
 */
async function redeem<T>(services: Services, kind: 'label' | 'installation', apiKey: string | undefined, address: string, find: (id: string) => Promise<T | undefined>): Promise<T> {
  await services.apiKeyLimiter.check(address, 'invalid API keys from this address');
  const id = apiKey ? await verifyApiKey(services.db, kind, apiKey, services.clock.now()) : null;
  const found = id ? await find(id) : undefined;
  if (found) return found;
  await services.apiKeyLimiter.fail(address);
  throw invalidKey();
}

/** `GET /tokens/application`: a label API key for an application JWT. */
export async function applicationToken(services: Services, apiKey: string | undefined, address: string): Promise<string> {
  const label = await redeem(services, 'label', apiKey, address, (id) => findLabelById(services.db, id));
  return sign(services, { kind: TOKEN_KIND.application, org: label.organization, label: label.id }, label.name, services.config.applicationTokenTtlSeconds);
}

/** `GET /tokens/installation`: a version's installation key for a registration JWT. */
export async function installationToken(services: Services, apiKey: string | undefined, address: string): Promise<string> {
  const version = await redeem(services, 'installation', apiKey, address, (id) => findVersion(services.db, id));
  return sign(services, { kind: TOKEN_KIND.installation, scope: 'device:register' }, version.id, services.config.installationTokenTtlSeconds);
}

/** Verifies a DS-signed JWT (signature by a published DS key, issuer, lifetime). */
async function verify(services: Services, token: string) {
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    throw new AppError('INVALID_TOKEN', 'the bearer token is not a JWT');
  }
  const key = await services.keys.find(kid, 'sig');
  if (!key) throw new AppError('INVALID_TOKEN', 'the bearer token is not signed by a DS key');
  try {
    const { payload } = await jwtVerify(token, key.publicKey, {
      issuer: services.config.tokenIssuer,
      algorithms: [key.alg],
      currentDate: services.clock.now(),
      clockTolerance: 5,
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
    });
    return payload;
  } catch (error) {
    const expired = (error as { code?: string }).code === 'ERR_JWT_EXPIRED';
    throw new AppError('INVALID_TOKEN', expired ? 'the bearer token has expired' : `the bearer token is not valid: ${(error as Error).message}`);
  }
}

export async function verifyApplicationToken(services: Services, token: string): Promise<ApplicationClaims> {
  const payload = await verify(services, token);
  if (payload.kind !== TOKEN_KIND.application || payload.scope !== undefined || typeof payload.label !== 'string') {
    throw new AppError('INVALID_TOKEN', 'not an application token');
  }
  return payload as unknown as ApplicationClaims;
}

export async function verifyInstallationToken(services: Services, token: string): Promise<{ versionId: string }> {
  const payload = await verify(services, token);
  if (payload.kind !== TOKEN_KIND.installation || payload.scope !== 'device:register' || typeof payload.sub !== 'string') {
    throw new AppError('INVALID_TOKEN', 'not an installation token');
  }
  return { versionId: payload.sub };
}

/** The bearer token of a request, or 401. */
export function bearer(header: string | undefined): string {
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1]) throw new AppError('INVALID_TOKEN', 'missing Authorization: Bearer <token>', undefined, { 'WWW-Authenticate': 'Bearer' });
  return match[1];
}
