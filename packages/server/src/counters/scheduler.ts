import type { Services } from '../context.js';
import { runAdoptionJob } from '../adoption/adoption.service.js';
import { PeriodicJob } from '../lib/background.js';
import { AppError } from '../lib/errors.js';
import { acquireLease, releaseLease } from './job-lock.js';
import { applyRetention } from './retention.js';
import { applyAuditRetention } from '../audit/audit.service.js';
import { pendingMonths, rollover } from './rollover.service.js';
import { evaluateRollouts } from '../rollouts/rollouts.service.js';
import { listActiveRollouts } from '../rollouts/rollouts.repository.js';
import { recordPendingDeviceEvents } from '../devices/events.js';

const RETENTION_JOB = 'retention';
const ROLLOUTS_JOB = 'rollouts';

/**
 * The in-process scheduler of counter jobs: the month rollover (shortly after a month starts) and
 * retention; of staged rollouts (their waves and health gates, every tick); and of device events
 * left pending (every tick). Every DS process runs one; the lock rows make sure one process at a
 * time does a job (pending events need none: each is recorded by the transaction that deletes it).
 * `tick()` is what the timer calls; tests call it with a fake clock.
 */
export class CounterScheduler extends PeriodicJob<void> {
  private lastRetention = 0;
  protected readonly idle = undefined;

  constructor(
    private readonly services: Services,
    private readonly retentionEveryMs = 3600_000,
  ) {
    super();
  }

  /**
   * Checks every `intervalMs` (a cheap query when there is nothing to do). On stop, a rollover in
   * progress stops after its current batch (the next run finishes it).
   */
  override start(intervalMs = 60_000): void {
    super.start(intervalMs);
  }

  /**
   * Staged rollouts: waves whose hold ended advance, rollouts whose health gate trips pause. One
   * process at a time (a lease); each change is conditional on the rollout's revision besides.
   * Without an active rollout nothing is to do: one read, not the lease's two writes a minute.
   */
  private async evaluateRollouts(): Promise<void> {
    const { services } = this;
    try {
      if ((await listActiveRollouts(services.db)).length === 0) return;
      if (!(await acquireLease(services.db, ROLLOUTS_JOB, services.instanceId, services.clock.now(), 5 * 60_000))) return;
      try {
        const changed = await evaluateRollouts(services);
        if (changed > 0) services.logger.info('rollouts evaluated', { changed });
      } finally {
        await releaseLease(services.db, ROLLOUTS_JOB, services.instanceId);
      }
    } catch (error) {
      services.logger.error('rollout evaluation failed', { error: (error as Error).message });
    }
  }

  protected async run(): Promise<void> {
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
    await this.evaluateRollouts();
    // Events syncs left pending when DS stopped before recording them (devices/events.ts).
    try {
      const recorded = await recordPendingDeviceEvents(services);
      if (recorded > 0) services.logger.info('recorded pending device events', { count: recorded });
    } catch (error) {
      services.logger.error('recording pending device events failed', { error: (error as Error).message });
    }
    // After the rollover, before anything that may return early: yesterday's adoption snapshot.
    await runAdoptionJob(services);
    const now = services.clock.now().getTime();
    if (now - this.lastRetention < this.retentionEveryMs) return;
    try {
      if (!(await acquireLease(services.db, RETENTION_JOB, services.instanceId, services.clock.now(), 10 * 60_000))) return;
      try {
        const removed = { ...(await applyRetention(services)), auditEntries: await applyAuditRetention(services, services.config.auditRetentionDays) };
        this.lastRetention = now;
        if (removed.archivedRows + removed.downloadEvents + removed.deviceDailyTotals + removed.auditEntries > 0) services.logger.info('retention applied', removed);
      } finally {
        await releaseLease(services.db, RETENTION_JOB, services.instanceId);
      }
    } catch (error) {
      services.logger.error('retention failed', { error: (error as Error).message });
    }
  }
}
