import type { Version } from '@ds/shared';
import { keyFields } from '../../lib/keys.js';
import { formatBytes, lines, type Column } from '../../lib/output.js';

export const versionColumns: Column<Version>[] = [
  { header: 'id', value: (v) => v.id },
  { header: 'recommended', value: (v) => v.recommended },
  { header: 'mandatory', value: (v) => v.mandatory },
  { header: 'allowed', value: (v) => v.allowed },
  { header: 'installers', value: (v) => v.installers.map((i) => i.os.toLowerCase()) },
  { header: 'published', value: (v) => v.publishedAt },
];

export function versionFields(v: Version): [string, unknown][] {
  return [
    ['id', v.id],
    ['recommended', v.recommended],
    ['mandatory', v.mandatory],
    ['allowed', v.allowed],
    ['published', v.publishedAt],
    ['created', v.createdAt],
    ['updated', v.updatedAt],
    ['release notes', v.releaseNotes],
    ...(v.installers.length === 0
      ? ([['installers', 'none']] as [string, unknown][])
      : v.installers.map((i): [string, unknown] => [
          `installer ${i.os.toLowerCase()}`,
          lines(i.uri, i.sha256 ? `sha256 ${i.sha256}` : 'no checksum', ...(i.size === null ? [] : [formatSize(i.size)])),
        ])),
    ['context config digest', v.contextConfig.digest],
    ['keystore config digest', v.sslKeystoreConfig.digest],
    ...keyFields(v.installationKeys),
    ...(v.installationApiKey ? ([['installationApiKey', v.installationApiKey]] as [string, unknown][]) : []),
  ];
}

/** `1536` → `1.5 KiB (1536 bytes)`: the exact count too, to compare with `ls -l` or a changed file. */
export function formatSize(bytes: number): string {
  return bytes < 1024 ? formatBytes(bytes) : `${formatBytes(bytes)} (${bytes} bytes)`;
}
