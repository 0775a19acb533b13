import { describe, expect, it, vi } from 'vitest';
import { BackgroundWork, PeriodicJob } from './background.js';

describe('BackgroundWork', () => {
  it('drain waits for tracked work, failed or not, and forgets it afterwards', async () => {
    const work = new BackgroundWork();
    const done: string[] = [];
    work.track(new Promise((r) => setTimeout(r, 50)).then(() => done.push('slow')));
    work.track(Promise.reject(new Error('ignored')));
    expect(work.size).toBe(2);
    await work.drain(2000);
    expect(done).toEqual(['slow']);
    expect(work.size).toBe(0);
  });

  it('drain gives up after its timeout', async () => {
    // On the fake clock: the drain ends when its 50 ms have passed there, whatever the machine's load.
    vi.useFakeTimers();
    try {
      const work = new BackgroundWork();
      work.track(new Promise(() => {}));
      let drained = false;
      const drain = work.drain(50).then(() => (drained = true));
      await vi.advanceTimersByTimeAsync(49);
      expect(drained).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await drain;
      expect(drained).toBe(true);
      expect(work.size).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('PeriodicJob', () => {
  class Job extends PeriodicJob<number> {
    protected readonly idle = -1;
    runs = 0;
    release: () => void = () => {};
    protected run(): Promise<number> {
      this.runs++;
      return new Promise((resolve) => (this.release = () => resolve(this.runs)));
    }
  }

  it('runs one at a time (a tick during a run joins it), and stop waits for the run in progress', async () => {
    const job = new Job();
    const first = job.tick();
    const joined = job.tick();
    expect(job.runs).toBe(1);
    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    job.release();
    expect(await first).toBe(1);
    expect(await joined).toBe(1);
    await stopping;
    expect(await job.tick()).toBe(-1);
    expect(job.runs).toBe(1);
  });
});
