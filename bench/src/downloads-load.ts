// The client side of bench:downloads, as its own process: N concurrent downloads of one URL,
// bodies counted and thrown away. Prints JSON {seconds, bytes, statuses}.
// Usage: node bench/dist/downloads-load.js <url> <clients> [rounds]
import { get } from 'node:http';

/** What this process prints. */
export interface DownloadLoadResult {
  seconds: number;
  bytes: number;
  statuses: (number | undefined)[];
}

const [url, clients, rounds] = [process.argv[2] ?? '', Number(process.argv[3]), Number(process.argv[4] ?? 1)];

function download() {
  return new Promise<{ bytes: number; status: number | undefined }>((resolve, reject) => {
    get(url, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ bytes, status: res.statusCode }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const started = performance.now();
const results: { bytes: number; status: number | undefined }[] = [];
await Promise.all(
  Array.from({ length: clients }, async () => {
    for (let i = 0; i < rounds; i++) results.push(await download());
  }),
);
const seconds = (performance.now() - started) / 1000;
const result: DownloadLoadResult = { seconds, bytes: results.reduce((s, r) => s + r.bytes, 0), statuses: results.map((r) => r.status) };
process.stdout.write(JSON.stringify(result));
