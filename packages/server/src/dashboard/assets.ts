import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// The dashboard's static files, served by DS itself: machines running DS may have no internet, so
// nothing comes from a CDN. Chart.js is read from its installed npm package; the dashboard's own
// script and style sheet from packages/server/static/dashboard (two levels above this module in
// both src/ and dist/). Each is read once, gzipped once, and served under a URL carrying its
// content hash, so browsers may cache it for good.

export interface Asset {
  name: string;
  /** `/dashboard/assets/<name>?v=<hash>` */
  url: string;
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

const STATIC_DIR = fileURLToPath(new URL('../../static/dashboard/', import.meta.url));

function chartJsPath(): string {
  // The package exports only its ES module and CommonJS builds; the UMD file sits beside them.
  const main = createRequire(import.meta.url).resolve('chart.js');
  return join(dirname(main), 'chart.umd.min.js');
}

function load(name: string, path: string, type: string): Asset {
  const body = readFileSync(path);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return { name, url: `/dashboard/assets/${name}?v=${hash}`, type, body, gzip: gzipSync(body, { level: 9 }), etag: `"${hash}"` };
}

let cached: Record<'chart' | 'script' | 'style', Asset> | undefined;

/** The dashboard's assets, loaded on first use. */
export function dashboardAssets(): Record<'chart' | 'script' | 'style', Asset> {
  cached ??= {
    chart: load('chart.umd.min.js', chartJsPath(), 'text/javascript; charset=utf-8'),
    script: load('dashboard.js', join(STATIC_DIR, 'dashboard.js'), 'text/javascript; charset=utf-8'),
    style: load('dashboard.css', join(STATIC_DIR, 'dashboard.css'), 'text/css; charset=utf-8'),
  };
  return cached;
}
