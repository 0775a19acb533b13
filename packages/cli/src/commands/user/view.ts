import type { User } from '@ds/shared';
import type { Column } from '../../lib/output.js';

export const userColumns: Column<User>[] = [
  { header: 'username', value: (u) => u.username },
  { header: 'role', value: (u) => u.role },
  { header: 'organization', value: (u) => u.organization ?? '(all)' },
  { header: 'created', value: (u) => u.createdAt },
  { header: 'updated', value: (u) => u.updatedAt },
];

export function userFields(u: User): [string, unknown][] {
  return userColumns.map((c) => [c.header, c.value(u)]);
}
