/**
 * Work a request starts but does not wait for (recording a download event after the body was
 * sent). Shutdown drains it before the database closes, so nothing is lost to that race.
 */
export class BackgroundWork {
  private readonly pending = new Set<Promise<unknown>>();

  /** Runs `work` in the background; its failure is the caller's to handle (it is not awaited). */
  track(work: Promise<unknown>): void {
    const entry = work.catch(() => {}).finally(() => this.pending.delete(entry));
    this.pending.add(entry);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves when everything tracked so far has settled, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.pending]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }
}

/**
 * Work a timer runs every interval in every DS process (the scheduler's jobs, webhook deliveries):
 * one run at a time (a tick during a run joins it), timers that never keep the process alive, and
 * a stop that waits for the run in progress. `tick()` is what the timer calls; tests call it.
 */
export abstract class PeriodicJob<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;
  /** Set by stop(): a run checks it between steps and ends early. */
  protected stopping = false;

  /** One run; never throws (failures are logged and retried on the next tick). */
  protected abstract run(): Promise<T>;
  /** What a tick answers once stopped. */
  protected abstract readonly idle: T;

  start(intervalMs: number): void {
    this.timer ??= setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  tick(): Promise<T> {
    if (this.stopping) return Promise.resolve(this.idle);
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }
}
