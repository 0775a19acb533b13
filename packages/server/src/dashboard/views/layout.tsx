import type { Child } from 'hono/jsx';
import type { Principal } from '../../users/principal.js';
import { dashboardAssets } from '../assets.js';
import { BASE, CSRF_FIELD } from '../session.js';

export type Section = 'overview' | 'demographics' | 'transactions' | 'versions';

/** Who a page is for: the logged-in user, and the CSRF token of the page's forms. */
export type Session = { principal: Principal; csrf: string };

const NAV: { section: Section; href: string; text: string }[] = [
  { section: 'overview', href: BASE, text: 'Overview' },
  { section: 'demographics', href: `${BASE}/demographics`, text: 'Demographics' },
  { section: 'transactions', href: `${BASE}/transactions`, text: 'Transactions' },
  { section: 'versions', href: `${BASE}/versions`, text: 'Versions' },
];

/** Who is logged in, in a few words. */
export function whoText(principal: Principal): string {
  return `${principal.username} (${principal.role}, ${principal.organizationName ? `organization ${principal.organizationName}` : 'all organizations'})`;
}

export function Layout(props: {
  title: string;
  /** Absent on the login and error pages of a visitor who is not logged in. */
  session?: Session | undefined;
  section?: Section | undefined;
  /** Pages with charts load Chart.js and the dashboard script. */
  charts?: boolean;
  children?: Child;
}) {
  const assets = dashboardAssets();
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${props.title} · DS dashboard`}</title>
        {/* No icon to fetch: browsers would otherwise ask for /favicon.ico. */}
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={assets.style.url} />
        {props.charts ? <script defer src={assets.chart.url}></script> : null}
        {props.charts ? <script defer src={assets.script.url}></script> : null}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <p class="brand">
            <a href={BASE}>DS dashboard</a>
          </p>
          {props.session ? (
            <nav aria-label="Main">
              <ul>
                {NAV.map((item) => (
                  <li>
                    <a href={item.href} aria-current={item.section === props.section ? 'page' : undefined}>
                      {item.text}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          ) : null}
          {props.session ? (
            <form class="logout" method="post" action={`${BASE}/logout`}>
              <span class="who">{whoText(props.session.principal)}</span>
              <input type="hidden" name={CSRF_FIELD} value={props.session.csrf} />
              <button type="submit">Log out</button>
            </form>
          ) : null}
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** A full HTML document from a page element. */
export async function documentOf(page: Child): Promise<string> {
  return `<!DOCTYPE html>${String(await (page as { toString(): string | Promise<string> }).toString())}`;
}

export function ErrorPage(props: { title: string; message: string; session?: Session | undefined }) {
  return (
    <Layout title={props.title} session={props.session}>
      <h1>{props.title}</h1>
      <p role="alert">{props.message}</p>
      <p>
        <a href={BASE}>Back to the overview</a>
      </p>
    </Layout>
  );
}

export function LoginPage(props: { csrf: string; next: string; username?: string | undefined; error?: string | undefined; notice?: string | undefined }) {
  return (
    <Layout title="Log in">
      <div class="login">
        <h1>Log in to the DS dashboard</h1>
        {props.notice ? <p class="notice" role="status">{props.notice}</p> : null}
        {props.error ? (
          <p class="error" role="alert" id="login-error">
            {props.error}
          </p>
        ) : null}
        <form method="post" action={`${BASE}/login`} aria-describedby={props.error ? 'login-error' : undefined}>
          <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
          <input type="hidden" name="next" value={props.next} />
          <p>
            <label for="username">Username</label>
            <input id="username" name="username" type="text" autocomplete="username" required value={props.username ?? ''} autofocus={!props.username} />
          </p>
          <p>
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required autofocus={Boolean(props.username)} />
          </p>
          <p>
            <button type="submit">Log in</button>
          </p>
        </form>
        <p class="hint">The same users as the admin API and <code>ds login</code>.</p>
      </div>
    </Layout>
  );
}
