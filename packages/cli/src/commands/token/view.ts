import type { ApiToken } from '@ds/shared';
import type { Column } from '../../lib/output.js';

export const tokenColumns: Column<ApiToken>[] = [
  { header: 'id', value: (t) => t.id },
  { header: 'name', value: (t) => t.name },
  { header: 'user', value: (t) => t.username },
  { header: 'prefix', value: (t) => t.prefix },
  { header: 'scopes', value: (t) => t.scopes },
  { header: 'expires', value: (t) => t.expiresAt ?? 'never' },
  { header: 'revoked', value: (t) => t.revokedAt },
  { header: 'last used', value: (t) => t.lastUsedAt },
];

export function tokenFields(t: ApiToken): [string, unknown][] {
  return [
    ...tokenColumns.map((c): [string, unknown] => [c.header, c.value(t)]),
    ['created', t.createdAt],
    ...(t.token ? ([['token', t.token]] as [string, unknown][]) : []),
  ];
}
