import { describe, expect, it } from 'vitest';
import { BackgroundWork } from './background.js';

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
    const work = new BackgroundWork();
    work.track(new Promise(() => {}));
    const started = performance.now();
    await work.drain(50);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(work.size).toBe(1);
  });
});
