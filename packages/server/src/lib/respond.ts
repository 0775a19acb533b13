import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** `{"success": true, "data": ...}` */
export function ok<T>(c: Context, data: T, status: ContentfulStatusCode = 200): Response {
  return c.json({ success: true as const, data }, status);
}

/** A page of a list with the cursor of the next page. */
export function okPage<T>(c: Context, page: { items: T[]; next: string | null }): Response {
  return c.json({ success: true as const, data: page.items, page: { next: page.next } });
}
