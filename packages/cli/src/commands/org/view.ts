import type { Organization } from '@ds/shared';
import type { Column } from '../../lib/output.js';

export const organizationColumns: Column<Organization>[] = [
  { header: 'name', value: (o) => o.name },
  { header: 'description', value: (o) => o.description },
  { header: 'labels', value: (o) => o.labelCount },
  { header: 'created', value: (o) => o.createdAt },
  { header: 'updated', value: (o) => o.updatedAt },
];

export function organizationFields(o: Organization): [string, unknown][] {
  return organizationColumns.map((c) => [c.header, c.value(o)]);
}
