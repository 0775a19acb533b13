import type { DsKeyInfo } from '@ds/shared';
import type { Column } from '../../lib/output.js';

export const keyColumns: Column<DsKeyInfo>[] = [
  { header: 'kid', value: (k) => k.kid },
  { header: 'use', value: (k) => k.use },
  { header: 'alg', value: (k) => k.alg },
  { header: 'status', value: (k) => k.status },
  { header: 'created', value: (k) => k.createdAt },
  { header: 'retired', value: (k) => k.retiredAt },
  { header: 'published until', value: (k) => (k.retiredAt ? k.publishedUntil : 'while current') },
];
