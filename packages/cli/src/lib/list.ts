import type { AdminClient, ListOptions, PageResult } from '@ds/shared';
import type { Command } from 'commander';
import { parsePositive } from './parse.js';

export interface LimitOptions {
  limit?: number;
}

/** Adds `--limit N`; without it a list command fetches every page. */
export function withLimit(command: Command): Command {
  return command.option('--limit <n>', 'show at most N items (default: all)', parsePositive);
}

const MAX_PAGE = 500;

/** Every item (following cursors), or the first `limit` items when a limit is given. */
export async function fetchList<T>(
  client: AdminClient,
  list: (options: ListOptions) => Promise<PageResult<T>>,
  limit: number | undefined,
): Promise<T[]> {
  if (limit === undefined) return client.all(list);
  // The server caps a page at 500, so a larger limit still needs several pages.
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ limit: Math.min(limit - items.length, MAX_PAGE), cursor });
    items.push(...page.data);
    cursor = page.next ?? undefined;
  } while (cursor && items.length < limit);
  return items.slice(0, limit);
}
