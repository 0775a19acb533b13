import type { Label } from '@ds/shared';
import { keyFields, summarizeKeys } from '../../lib/keys.js';
import type { Column } from '../../lib/output.js';

export const labelColumns: Column<Label>[] = [
  { header: 'name', value: (l) => l.name },
  { header: 'organization', value: (l) => l.organization },
  { header: 'description', value: (l) => l.description },
  { header: 'keys', value: (l) => summarizeKeys(l.keys) },
  { header: 'created', value: (l) => l.createdAt },
];

export function labelFields(l: Label): [string, unknown][] {
  return [
    ['name', l.name],
    ['id', l.id],
    ['organization', l.organization],
    ['description', l.description],
    ['created', l.createdAt],
    ['updated', l.updatedAt],
    ...keyFields(l.keys),
    ...(l.apiKey ? ([['apiKey', l.apiKey]] as [string, unknown][]) : []),
  ];
}
