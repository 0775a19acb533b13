import type { Device } from '@ds/shared';
import { lines, type Column } from '../../lib/output.js';

/** `Windows x64`, `macOS arm64`; what a device reported about its system. */
export function osText(d: Device): string {
  return [d.os.name, d.os.architecture].filter((part) => part).join(' ');
}

export const deviceColumns: Column<Device>[] = [
  { header: 'id', value: (d) => d.id },
  { header: 'version', value: (d) => d.version },
  { header: 'status', value: (d) => d.status },
  { header: 'os', value: osText },
  { header: 'installer os', value: (d) => d.installerOs },
  { header: 'last sync', value: (d) => d.lastSyncAt ?? 'never' },
  { header: 'labels', value: (d) => d.labels },
];

/** The fields of one device: its identity, then the labels, User-Agents and this month's counters it reported. */
export function deviceFields(d: Device): [string, unknown][] {
  const fields: [string, unknown][] = [
    ['id', d.id],
    ['version', d.version],
    ['status', d.status],
    ['os', [d.os.name, d.os.version, d.os.architecture].filter((part) => part).join(' ')],
    ['installer os', d.installerOs],
    ['hostname', d.hostname],
    ['key type', d.keyType],
    ['certificate sha256', d.certificateSha256],
    ['registered', d.registeredAt],
    ['last sync', d.lastSyncAt ?? 'never'],
    ['labels', d.labels.length > 0 ? d.labels : 'none'],
  ];
  const agents = d.userAgents ?? [];
  if (agents.length === 0) fields.push(['user agents', 'none']);
  agents.forEach((ua, index) => {
    const browser = [ua.browser, ua.browserMajor].filter((part) => part).join(' ') || 'unknown browser';
    fields.push([`user agent ${index + 1}`, lines(`${browser}${ua.os ? ` on ${ua.os}` : ''}, last seen ${ua.lastSeenAt}`, ua.userAgent)]);
  });
  const counters = d.counters ?? [];
  if (counters.length === 0) fields.push(['counters', 'none this month']);
  else {
    const months = [...new Set(counters.map((c) => c.month))];
    for (const c of counters) {
      // Rows are reset at the month boundary; name the month only when an old one is still there.
      const month = months.length > 1 ? ` (${c.month})` : '';
      fields.push([`counter ${c.label} / ${c.module} / ${c.useCase}${month}`, c.counter]);
    }
    fields.push([`counters total (${months.join(', ')})`, counters.reduce((sum, c) => sum + c.counter, 0)]);
  }
  return fields;
}
