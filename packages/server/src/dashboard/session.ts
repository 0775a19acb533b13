import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Services } from '../context.js';
import { iso } from '../lib/clock.js';
import { AppError } from '../lib/errors.js';
import { authenticateAdminToken } from '../users/auth.service.js';
import type { Principal } from '../users/principal.js';
import { dashboardSecret } from './dashboard.repository.js';

// The dashboard's browser session: the admin session token (the same one POST /admin/auth/login
// gives the CLI) kept in an HttpOnly cookie, and CSRF tokens for its forms.

export const BASE = '/dashboard';
/** The session token. */
export const SESSION_COOKIE = 'ds_session';
/** A random nonce that ties the login form's CSRF token to this browser before there is a session. */
export const LOGIN_COOKIE = 'ds_login';
/** Name of the hidden form field that carries the CSRF token. */
export const CSRF_FIELD = 'csrf';
const LOGIN_NONCE_SECONDS = 3600;

/** Whether cookies must be `Secure`: the request came over https, or DS is published at an https URL. */
export function isHttps(c: Context, services: Services): boolean {
  return new URL(c.req.url).protocol === 'https:' || (c.var as { forwardedHttps?: boolean }).forwardedHttps === true || services.config.publicUrl.startsWith('https:');
}

function cookieOptions(c: Context, services: Services, maxAgeSeconds: number) {
  return {
    path: BASE,
    httpOnly: true,
    sameSite: 'Strict' as const,
    secure: isHttps(c, services),
    maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
  };
}

export function setSessionCookie(c: Context, services: Services, token: string, expiresAt: string): void {
  const seconds = (Date.parse(expiresAt) - services.clock.now().getTime()) / 1000;
  setCookie(c, SESSION_COOKIE, token, { ...cookieOptions(c, services, seconds), expires: new Date(expiresAt) });
}

export function clearSessionCookie(c: Context, services: Services): void {
  deleteCookie(c, SESSION_COOKIE, { path: BASE, secure: isHttps(c, services), httpOnly: true, sameSite: 'Strict' });
}

/** The login nonce of this browser, set now when it has none. */
export function loginNonce(c: Context, services: Services): string {
  const existing = getCookie(c, LOGIN_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
  const nonce = randomBytes(24).toString('base64url');
  setCookie(c, LOGIN_COOKIE, nonce, cookieOptions(c, services, LOGIN_NONCE_SECONDS));
  return nonce;
}

export function clearLoginNonce(c: Context, services: Services): void {
  deleteCookie(c, LOGIN_COOKIE, { path: BASE, secure: isHttps(c, services), httpOnly: true, sameSite: 'Strict' });
}

/** CSRF tokens are HMACs under a DS-wide secret: a page can only get one by being served it. */
export class CsrfTokens {
  private secret: Promise<Buffer> | undefined;
  constructor(private readonly services: Services) {}

  private key(): Promise<Buffer> {
    this.secret ??= dashboardSecret(this.services.db, iso(this.services.clock.now())).catch((error: unknown) => {
      this.secret = undefined;
      throw error;
    });
    return this.secret;
  }

  /** The synchronizer token of a session (for logout and any other form of a logged-in page). */
  async forSession(sessionToken: string): Promise<string> {
    return this.mac(`session\u0000${sessionToken}`);
  }

  /** The token of the login form, bound to the browser's login nonce cookie (signed double submit). */
  async forLogin(nonce: string): Promise<string> {
    return this.mac(`login\u0000${nonce}`);
  }

  async verify(expected: Promise<string>, given: unknown): Promise<boolean> {
    if (typeof given !== 'string' || given.length === 0) return false;
    const a = Buffer.from(await expected);
    const b = Buffer.from(given);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async mac(message: string): Promise<string> {
    return createHmac('sha256', await this.key()).update(message).digest('base64url');
  }
}

/**
 * A state-changing request must come from a dashboard page: when the browser says where the
 * request comes from (Origin, else Sec-Fetch-Site), it must be this DS. The CSRF token is checked
 * as well; this only refuses earlier and says why.
 */
export function sameOrigin(c: Context, services: Services): boolean {
  const allowed = new Set([new URL(c.req.url).origin, new URL(services.config.publicUrl).origin]);
  const origin = c.req.header('origin');
  if (origin !== undefined) return allowed.has(origin);
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  return true;
}

/** The principal of the session cookie, or null when there is none or it is no longer valid. */
export async function sessionPrincipal(c: Context, services: Services): Promise<{ principal: Principal; token: string } | null> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token) return null;
  try {
    const principal = await authenticateAdminToken(services, token);
    // The cookie only ever holds a session; an API token pasted into it is not a login.
    if (principal.credential !== 'session') return null;
    return { principal, token };
  } catch (error) {
    if (error instanceof AppError && error.status === 401) return null;
    throw error;
  }
}

/** Where to go after logging in: a dashboard path, never another site. */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string') return BASE;
  const path = next.split(/[?#]/, 1)[0]!;
  const ours = path === BASE || (path.startsWith(`${BASE}/`) && !path.startsWith(`${BASE}/login`));
  // No `//`, `..`, `.` segments or backslashes: nothing a browser could resolve to another place.
  if (ours && !/\/\/|\/\.\.?(\/|$)|\\|%2e|%2f|%5c/i.test(path) && !/[\r\n]/.test(next)) return next;
  return BASE;
}
