import { LoginRequestSchema, NameSchema, PathSegmentSchema, defineRoute, type TransactionReportQuery } from '@ds/shared';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { Child } from 'hono/jsx';
import type { AppEnv, Services } from '../context.js';
import { transactionsReport } from '../reports/transactions.js';
import { AppError } from '../lib/errors.js';
import { clientAddress } from '../lib/client-address.js';
import { handle, mountRoutes, type BoundRoute } from '../lib/routes.js';
import { parseWith, refuseNul } from '../lib/validate.js';
import { z } from 'zod';
import * as auth from '../users/auth.service.js';
import { requireScopeOf } from '../users/principal.js';
import { dashboardAssets } from './assets.js';
import { toCsv, transactionCsvFields } from './csv.js';
import * as data from './dashboard.service.js';
import {
  BASE,
  clearLoginNonce,
  clearSessionCookie,
  CSRF_FIELD,
  CsrfTokens,
  LOGIN_COOKIE,
  loginNonce,
  safeNext,
  sameOrigin,
  sessionPrincipal,
  SESSION_COOKIE,
  setSessionCookie,
} from './session.js';
import { documentOf, ErrorPage, LoginPage } from './views/layout.js';
import { DemographicsPage } from './views/demographics-page.js';
import { OverviewPage } from './views/overview-page.js';
import { TransactionsPage } from './views/transactions-page.js';
import { VersionsPage } from './views/versions-page.js';
import { versionsView } from './versions.service.js';

type DashboardEnv = {
  Variables: AppEnv['Variables'] & {
    /** The session token of the cookie, once verified. */
    sessionToken: string;
    /** The CSRF token of this session, for the forms of the page. */
    csrf: string;
  };
};

/** Only this DS's own files; nothing framed, nothing inline. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const securityHeaders = createMiddleware<DashboardEnv>(async (c, next) => {
  await next();
  c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  c.header('X-Frame-Options', 'DENY');
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'same-origin');
  c.header('Cross-Origin-Opener-Policy', 'same-origin');
  c.header('Cross-Origin-Resource-Policy', 'same-origin');
  // Pages hold data of the logged-in user: never kept by the browser or a proxy.
  if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
});

async function page(c: Context, element: Child, status = 200): Promise<Response> {
  return c.html(await documentOf(element), status as 200);
}

const session = (c: Context<DashboardEnv>) => ({ principal: c.var.principal, csrf: c.var.csrf });

/** `?organization=`: empty means all (or, for a limited user, their own). */
function organizationParam(c: Context): string | undefined {
  const value = c.req.query('organization');
  if (value === undefined || value === '') return undefined;
  return parseWith(NameSchema, value, 'query parameter organization');
}

/** The transactions page's filters from the query string; empty fields mean "all". */
function transactionFilters(c: Context): data.TransactionFilters {
  refuseNul(c.req.query(), 'query');
  const value = (name: string) => {
    const v = c.req.query(name)?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const split = value('split');
  if (split !== undefined && !(data.SPLITS as readonly string[]).includes(split)) {
    throw new AppError('VALIDATION_ERROR', `invalid query: split: must be one of ${data.SPLITS.join(', ')}`);
  }
  return {
    from: value('from'),
    to: value('to'),
    organization: value('organization'),
    label: value('label'),
    module: value('module'),
    useCase: value('useCase'),
    split: split as data.Split | undefined,
  };
}

/** The filters of a transactions view in a fixed order: its CSV link and file name repeat them. */
function viewFilters(query: TransactionReportQuery, split: data.Split | undefined): [string, string][] {
  const filters: [string, string][] = [];
  for (const key of ['from', 'to', 'organization', 'label', 'module', 'useCase'] as const) {
    const v = query[key];
    if (v !== undefined) filters.push([key, v]);
  }
  if (split) filters.push(['split', split]);
  return filters;
}

/** Where the dashboard is served. */
export const DASHBOARD_PREFIX = BASE;

const page_ = (name: string, path: string, summary: string) =>
  defineRoute({ name, method: 'GET', path, summary, auth: { kind: 'dashboard-session' }, produces: 'html' });

/**
 * The dashboard's routes, defined like the API's (below {@link DASHBOARD_PREFIX}): the assets and
 * the login form are public, every other page needs the cookie session of a user with reports:read.
 */
export const DASHBOARD = {
  asset: defineRoute({
    name: 'dashboardAsset',
    method: 'GET',
    path: '/assets/{name}',
    summary: 'The dashboard’s scripts and styles',
    auth: { kind: 'public' },
    params: z.object({ name: PathSegmentSchema }),
    produces: 'asset',
    example: { params: { name: 'dashboard.js' } },
  }),
  loginForm: defineRoute({ name: 'dashboardLoginForm', method: 'GET', path: '/login', summary: 'The login form', auth: { kind: 'public' }, produces: 'html' }),
  login: defineRoute({ name: 'dashboardLogin', method: 'POST', path: '/login', summary: 'Log in (form post with the CSRF token)', auth: { kind: 'public' }, produces: 'html' }),
  logout: defineRoute({ name: 'dashboardLogout', method: 'POST', path: '/logout', summary: 'Log out (form post with the CSRF token)', auth: { kind: 'dashboard-session' }, produces: 'html' }),
  overview: page_('dashboardOverview', '/', 'Overview: devices, versions, transactions, downloads'),
  demographics: page_('dashboardDemographics', '/demographics', 'Devices and downloads by OS, browser, version and status'),
  transactions: page_('dashboardTransactions', '/transactions', 'Transactions per day and month, filtered and split'),
  versions: page_('dashboardVersions', '/versions', 'Versions: adoption over time and the rollouts with their waves and health'),
  transactionsCsv: defineRoute({
    name: 'dashboardTransactionsCsv',
    method: 'GET',
    path: '/transactions.csv',
    summary: 'The transactions table as CSV',
    auth: { kind: 'dashboard-session' },
    produces: 'csv',
  }),
};
export const DASHBOARD_ROUTES = Object.values(DASHBOARD);

/** The dashboard: pages for logged-in users at `/dashboard`, over the same report services as the admin API. */
export function dashboardRoutes(services: Services) {
  const app = new Hono<DashboardEnv>();
  const csrf = new CsrfTokens(services);
  const d = (c: Context) => c as unknown as Context<DashboardEnv>;

  app.use('*', securityHeaders);
  app.use('*', async (c, next) => {
    if (c.req.path === `${BASE}/`) return c.redirect(BASE, 301);
    await next();
  });

  /** The cookie session every page but the login form needs; without one, the login form. */
  const requireSession: MiddlewareHandler<DashboardEnv> = async (c, next) => {
    const found = await sessionPrincipal(c, services);
    if (!found) {
      const hadCookie = getCookie(c, SESSION_COOKIE) !== undefined;
      const url = new URL(c.req.url);
      const params = new URLSearchParams({ next: safeNext(c.req.method === 'GET' ? url.pathname + url.search : BASE) });
      if (hadCookie) params.set('expired', '1');
      return c.redirect(`${BASE}/login?${params}`, 303);
    }
    requireScopeOf(found.principal, 'reports:read');
    c.set('principal', found.principal);
    c.set('sessionToken', found.token);
    c.set('csrf', await csrf.forSession(found.token));
    await next();
  };

  const routes: BoundRoute[] = [
    handle(DASHBOARD.asset, ({ c, params }) => {
      const asset = Object.values(dashboardAssets()).find((a) => a.name === params.name);
      if (!asset) return c.text('not found', 404);
      const current = c.req.query('v') === asset.etag.slice(1, -1);
      c.header('Cache-Control', current ? 'public, max-age=31536000, immutable' : 'no-cache');
      c.header('ETag', asset.etag);
      c.header('Vary', 'Accept-Encoding');
      if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
      c.header('Content-Type', asset.type);
      if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
        c.header('Content-Encoding', 'gzip');
        return c.body(new Uint8Array(asset.gzip));
      }
      return c.body(new Uint8Array(asset.body));
    }),

    handle(DASHBOARD.loginForm, async ({ c }) => {
      if (await sessionPrincipal(c, services)) return c.redirect(safeNext(c.req.query('next')), 303);
      if (getCookie(c, SESSION_COOKIE)) clearSessionCookie(c, services);
      const notice = c.req.query('out') !== undefined ? 'You have logged out.' : c.req.query('expired') !== undefined ? 'Your session has ended: log in again.' : undefined;
      return page(c, <LoginPage csrf={await csrf.forLogin(loginNonce(c, services))} next={safeNext(c.req.query('next'))} notice={notice} />);
    }),

    handle(DASHBOARD.login, async ({ c }) => {
      const form = await c.req.parseBody();
      refuseNul(form, 'form');
      const next = safeNext(form.next);
      const username = typeof form.username === 'string' ? form.username : '';
      const nonce = getCookie(c, LOGIN_COOKIE);
      const again = async (status: number, error: string) =>
        page(c, <LoginPage csrf={await csrf.forLogin(loginNonce(c, services))} next={next} username={username} error={error} />, status);
      if (!sameOrigin(c, services) || !nonce || !(await csrf.verify(csrf.forLogin(nonce), form[CSRF_FIELD]))) {
        return again(403, 'This login form has expired or did not come from this site. Try again.');
      }
      const credentials = LoginRequestSchema.safeParse({ username, password: form.password });
      if (!credentials.success) return again(400, 'Enter your username and password.');
      try {
        const result = await auth.login(services, credentials.data.username, credentials.data.password, clientAddress(c));
        // Logging in again (perhaps as someone else) ends the session this browser had.
        const previous = await sessionPrincipal(c, services);
        if (previous) await auth.logout(services, previous.principal);
        setSessionCookie(c, services, result.token, result.expiresAt);
        clearLoginNonce(c, services);
        return c.redirect(next, 303);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        if (error.code === 'RATE_LIMITED') {
          for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
          return again(429, `Too many failed logins. ${error.message.replace(/^too many [^;]*; /, '').replace(/^./, (ch) => ch.toUpperCase())}.`);
        }
        if (error.code === 'INVALID_CREDENTIALS') return again(401, 'Wrong username or password.');
        throw error;
      }
    }),

    handle(DASHBOARD.logout, async ({ c }) => {
      const form = await c.req.parseBody();
      if (!sameOrigin(c, services) || !(await csrf.verify(csrf.forSession(d(c).var.sessionToken), form[CSRF_FIELD]))) {
        return page(c, <ErrorPage title="Not logged out" message="This form has expired or did not come from this site: reload the page and try again." session={session(d(c))} />, 403);
      }
      await auth.logout(services, c.var.principal);
      clearSessionCookie(c, services);
      return c.redirect(`${BASE}/login?out=1`, 303);
    }),

    handle(DASHBOARD.overview, async ({ c }) => {
      const organization = organizationParam(c);
      const [overview, organizations] = await Promise.all([data.overview(services, c.var.principal, organization), data.pickerChoices(services, c.var.principal)]);
      return page(c, <OverviewPage session={session(d(c))} data={overview} organizations={organizations} organization={organization} />);
    }),

    handle(DASHBOARD.demographics, async ({ c }) => {
      const organization = organizationParam(c);
      const [demographics, organizations] = await Promise.all([data.demographics(services, c.var.principal, organization), data.pickerChoices(services, c.var.principal)]);
      return page(c, <DemographicsPage session={session(d(c))} data={demographics} organizations={organizations} organization={organization} />);
    }),

    handle(DASHBOARD.versions, async ({ c }) => {
      const organization = organizationParam(c);
      const [view, organizations] = await Promise.all([versionsView(services, c.var.principal, organization), data.pickerChoices(services, c.var.principal)]);
      return page(c, <VersionsPage session={session(d(c))} data={view} organizations={organizations} organization={organization} />);
    }),

    handle(DASHBOARD.transactions, async ({ c }) => {
      const filters = transactionFilters(c);
      const transactions = await data.transactions(services, c.var.principal, data.transactionQuery(services, filters));
      const csvUrl = `${BASE}/transactions.csv?${new URLSearchParams(viewFilters(transactions.query, filters.split))}`;
      return page(c, <TransactionsPage session={session(d(c))} data={transactions} split={filters.split} csvUrl={csvUrl} />);
    }),

    handle(DASHBOARD.transactionsCsv, async ({ c }) => {
      const filters = transactionFilters(c);
      const query = data.transactionQuery(services, filters);
      const rows = await transactionsReport(services, c.var.principal, query);
      const name = ['transactions', ...viewFilters(query, filters.split).map(([, value]) => value)].join('-').replace(/[^A-Za-z0-9._-]/g, '_');
      c.header('Content-Type', 'text/csv; charset=utf-8; header=present');
      c.header('Content-Disposition', `attachment; filename="${name}.csv"`);
      return c.body(toCsv(rows, transactionCsvFields(query.by, rows)));
    }),
  ];
  mountRoutes(app, services, routes, { 'dashboard-session': [requireSession] }, BASE);

  app.all('*', requireSession, (c) => page(c, <ErrorPage title="Page not found" message={`There is no dashboard page ${c.req.path}.`} session={session(c)} />, 404));

  app.onError(async (error, c) => {
    const who = c.var.principal && c.var.csrf ? session(c) : undefined;
    if (error instanceof AppError && error.status < 500) {
      for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
      const title =
        error.status === 403 ? 'Not allowed' : error.status === 404 ? 'Not found' : error.status === 429 ? 'Too many requests' : 'This request cannot be answered';
      return page(c, <ErrorPage title={title} message={error.message} session={who} />, error.status);
    }
    const requestId = c.var.requestId ?? 'unknown';
    services.logger.error('dashboard error', { requestId, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    return page(c, <ErrorPage title="Something went wrong" message={`DS could not show this page; the request id is ${requestId} in the server log.`} session={who} />, 500);
  });

  return app;
}
