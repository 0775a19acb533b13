import type { Services } from '../context.js';
import { AppError } from '../lib/errors.js';
import { acquireLease, releaseLease } from './job-lock.js';
import { applyRetention } from './retention.js';
import { pendingMonths, rollover } from './rollover.service.js';

const RETENTION_JOB = 'retention';

/**
 * The in-process scheduler of counter jobs: the month rollover (shortly after a month starts) and
 * retention. Every DS process runs one; the lock rows make sure one process at a time does a job.
 * `tick()` is what the timer calls; tests call it with a fake clock.
 */
export class CounterScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastRetention = 0;
  private stopping = false;

  constructor(
    private readonly services: Services,
    private readonly retentionEveryMs = 3600_000,
  ) {}

  /** Checks every `intervalMs` (a cheap query when there is nothing to do). */
  start(intervalMs = 60_000): void {
    this.timer ??= setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
    void this.tick();
  }

  /** Stops the timer; a rollover in progress stops after its current batch (the next run finishes it). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs what is due; never throws (failures are logged and retried on the next tick). */
  tick(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.running ??= this.runDue().finally(() => (this.running = undefined));
    return this.running;
  }

  private async runDue(): Promise<void> {
    const { services } = this;
    try {
      if ((await pendingMonths(services)).length > 0) {
        await rollover(services, undefined, {
          onBatch: () => {
            if (this.stopping) throw new Error('DS is stopping; the next start finishes the rollover');
          },
        });
      }
    } catch (error) {
      // Another process holds the lease: it is doing the work.
      if (!(error instanceof AppError && error.code === 'CONFLICT')) services.logger.error('counter rollover failed', { error: (error as Error).message });
    }
    const now = services.clock.now().getTime();
    if (now - this.lastRetention < this.retentionEveryMs) return;
    try {
      if (!(await acquireLease(services.db, RETENTION_JOB, services.instanceId, services.clock.now(), 10 * 60_000))) return;
      try {
        const removed = await applyRetention(services);
        this.lastRetention = now;
        if (removed.archivedRows + removed.downloadEvents + removed.deviceDailyTotals > 0) services.logger.info('retention applied', removed);
      } finally {
        await releaseLease(services.db, RETENTION_JOB, services.instanceId);
      }
    } catch (error) {
      services.logger.error('retention failed', { error: (error as Error).message });
    }
  }
}
