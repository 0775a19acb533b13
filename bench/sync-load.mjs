// The load generator of bench:sync, run as its own process: it reads prepared messages and fires
// them at DS with a fixed number of keep-alive connections, then prints timings as JSON.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

const [file, url, connections] = process.argv.slice(2);
const { warmup, measured } = JSON.parse(readFileSync(file, 'utf8'));
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: Number(connections) });

function send(message) {
  return new Promise((resolve, reject) => {
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

async function fire(messages) {
  const latencies = [];
  const statuses = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(connections) }, async () => {
      while (next < messages.length) {
        const r = await send(messages[next++]);
        latencies.push(r.ms);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies: latencies.sort((a, b) => a - b), statuses };
}

await fire(warmup);
const cpu = process.cpuUsage();
const result = await fire(measured);
const used = process.cpuUsage(cpu);
result.loadCpuMsPerSync = (used.user + used.system) / 1000 / measured.length;
process.stdout.write(JSON.stringify(result));
agent.destroy();
