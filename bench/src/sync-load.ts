// The load generator of bench:sync, run as its own process: it reads prepared messages and fires
// them at DS with a fixed number of keep-alive connections, then prints timings as JSON.
// Usage: node bench/dist/sync-load.js <messages file> <DS url> <connections>
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

/** One sealed sync message for a device. */
export interface LoadMessage {
  id: string;
  body: string;
}

/** The file the bench writes for this process. */
export interface SyncLoadInput {
  warmup: LoadMessage[];
  measured: LoadMessage[];
}

/** What this process prints: the measured messages only. */
export interface SyncLoadResult {
  seconds: number;
  /** Milliseconds, ascending. */
  latencies: number[];
  /** Count of answers by HTTP status. */
  statuses: Record<string, number>;
  loadCpuMsPerSync: number;
}

const [file = '', url = '', connections = '1'] = process.argv.slice(2);
const { warmup, measured } = JSON.parse(readFileSync(file, 'utf8')) as SyncLoadInput;
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: Number(connections) });

function send(message: LoadMessage) {
  return new Promise<{ ms: number; status: number | undefined }>((resolve, reject) => {
    const started = performance.now();
    const req = request(
      { host: target.hostname, port: target.port, path: `/v3_5/devices/${message.id}/sync`, method: 'POST', agent, headers: { 'content-type': 'application/jose', 'content-length': Buffer.byteLength(message.body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode }));
      },
    );
    req.on('error', reject);
    req.end(message.body);
  });
}

async function fire(messages: LoadMessage[]) {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(connections) }, async () => {
      while (next < messages.length) {
        const r = await send(messages[next++]!);
        latencies.push(r.ms);
        statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies: latencies.sort((a, b) => a - b), statuses };
}

await fire(warmup);
const cpu = process.cpuUsage();
const fired = await fire(measured);
const used = process.cpuUsage(cpu);
const result: SyncLoadResult = { ...fired, loadCpuMsPerSync: (used.user + used.system) / 1000 / measured.length };
process.stdout.write(JSON.stringify(result));
agent.destroy();
