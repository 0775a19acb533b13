import { DsApiError, type AdminClient } from '@ds/shared';
import { Limiter, splitCounterKey, type SimulatedDevice } from './engine.js';

/** One way DS disagrees with what a simulated device had acknowledged. */
export interface VerifyDifference {
  device: string;
  label?: string;
  module?: string;
  useCase?: string;
  /** What the device had acknowledged. */
  expected?: number;
  /** What DS has. */
  actual?: number;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  month: string;
  /** Devices compared (the ones that registered). */
  devices: number;
  /** Sum of the counters they had acknowledged. */
  transactions: number;
  differences: VerifyDifference[];
}

/**
 * Reads every registered simulated device through the admin API and compares its counters for
 * `month` with exactly what the device had acknowledged; any difference either way is listed.
 */
export async function verifySimulation(client: AdminClient, devices: SimulatedDevice[], month: string, concurrency = 8): Promise<VerifyResult> {
  const registered = devices.filter((d): d is SimulatedDevice & { id: string } => d.id !== null);
  const limiter = new Limiter(concurrency);
  const differences: VerifyDifference[] = [];
  let transactions = 0;
  await Promise.all(
    registered.map((device) =>
      limiter.run(async () => {
        const expected = new Map<string, number>();
        for (const [key, counter] of device.acknowledged) {
          const parts = splitCounterKey(key);
          if (parts.month !== month) continue;
          const name = [parts.label, parts.module, parts.useCase].join('\t');
          expected.set(name, (expected.get(name) ?? 0) + counter);
          transactions += counter;
        }
        let counters;
        try {
          counters = (await client.getDevice(device.id)).counters ?? [];
        } catch (error) {
          const problem = error instanceof DsApiError && error.status === 404 ? 'DS does not know this device' : `cannot read it: ${(error as Error).message}`;
          differences.push({ device: device.id, problem });
          return;
        }
        const actual = new Map<string, number>();
        // Rows of one label, module and use case counted for different organizations (a label moved) add up.
        for (const c of counters) {
          if (c.month !== month) continue;
          const name = [c.label, c.module, c.useCase].join('\t');
          actual.set(name, (actual.get(name) ?? 0) + c.counter);
        }
        const unacknowledged = device.unacknowledgedEntries > 0 ? ` (${device.unacknowledgedEntries} entries were sent without an answer)` : '';
        for (const name of [...new Set([...expected.keys(), ...actual.keys()])].sort()) {
          const want = expected.get(name) ?? 0;
          const have = actual.get(name) ?? 0;
          if (want === have) continue;
          const [label = '', module = '', useCase = ''] = name.split('\t');
          differences.push({
            device: device.id,
            label,
            module,
            useCase,
            expected: want,
            actual: have,
            problem: `${label} / ${module} / ${useCase}: DS counted ${have}, the device had ${want} acknowledged${unacknowledged}`,
          });
        }
      }),
    ),
  );
  differences.sort((a, b) => a.device.localeCompare(b.device) || a.problem.localeCompare(b.problem));
  return { ok: differences.length === 0, month, devices: registered.length, transactions, differences };
}
