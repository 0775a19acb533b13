import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from './rate-limit.js';

describe('ConcurrencyLimit', () => {
  it('runs at most max tasks, queues maxQueued more in order, refuses the rest, and hands each freed slot on', async () => {
    const limit = new ConcurrencyLimit(2, 1, 'things');
    const started: number[] = [];
    const gates = [0, 1, 2].map(() => {
      let open!: () => void;
      return { promise: new Promise<void>((resolve) => (open = resolve)), open: () => open() };
    });
    const runs = gates.map((g, i) => limit.run(async () => (started.push(i), g.promise)));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    await expect(limit.run(async () => 'never')).rejects.toMatchObject({ code: 'RATE_LIMITED', headers: { 'Retry-After': '1' } });
    gates[0]!.open();
    await runs[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.open();
    gates[2]!.open();
    await Promise.all(runs);
    // Everything drained: a new task runs at once.
    await expect(limit.run(async () => 'now')).resolves.toBe('now');
  });
});
