/**
 * How simulated devices wait between syncs. In real time a pause is a timer. In simulated time
 * (a clock that can be moved: tests with a FakeClock shared with an in-process DS) nobody waits:
 * once every running device is pausing, the clock is moved to the earliest wake-up and the devices
 * due then go on. So a day of hourly syncs passes in the time the requests take, every device sees
 * the same "now" as DS, and `advance` (which may run DS's scheduled jobs) happens while no device
 * has a request in flight.
 */
export interface Timeline {
  /** Milliseconds on this timeline's own scale (the clock's in simulated time, monotonic otherwise). */
  now(): number;
  /** Resolves after `ms` (at once when `ms` <= 0 or the run was aborted). */
  pause(ms: number): Promise<void>;
  /** A device stops taking part (it finished): the others no longer wait for it. */
  leave(): void;
  /** What moving the clock threw, if it did (the run then ends: every pause ends at once). */
  readonly failure: unknown;
}

/** Real time: pauses are timers, cut short by the abort signal. */
export function realTimeline(elapsed: () => number, signal: AbortSignal | undefined): Timeline {
  return {
    now: elapsed,
    pause: (ms) => sleep(ms, signal),
    leave: () => {},
    failure: undefined,
  };
}

/**
 * Simulated time for `participants` devices on `clock`; `advance(ms)` moves the clock (and whatever
 * shares it). Pauses of devices due at the same time end together, in the order they began.
 */
export function simulatedTimeline(
  participants: number,
  clock: { now(): Date },
  advance: (ms: number) => void | Promise<void>,
  signal: AbortSignal | undefined,
): Timeline {
  let running = participants;
  let advancing = false;
  let failure: unknown;
  const sleepers: { at: number; wake: () => void }[] = [];
  const now = () => clock.now().getTime();

  const wakeAll = () => {
    const all = sleepers.splice(0);
    running += all.length;
    for (const s of all) s.wake();
  };
  signal?.addEventListener('abort', wakeAll, { once: true });

  /** When every device pauses: move the clock to the first wake-up and wake who is due. */
  const step = async () => {
    if (advancing || running > 0 || sleepers.length === 0) return;
    advancing = true;
    try {
      const next = Math.min(...sleepers.map((s) => s.at));
      const ms = next - now();
      if (ms > 0) await advance(ms);
    } finally {
      advancing = false;
    }
    if (sleepers.length === 0) return;
    const at = now();
    const due = sleepers.filter((s) => s.at <= at);
    // A clock that did not move as far as asked wakes nobody; wake the first anyway, never hang.
    const waking = due.length > 0 ? due : [sleepers.reduce((a, b) => (b.at < a.at ? b : a))];
    for (const s of waking) sleepers.splice(sleepers.indexOf(s), 1);
    running += waking.length;
    for (const s of waking) s.wake();
  };

  const stepSafely = () =>
    void step().catch((error: unknown) => {
      failure ??= error;
      wakeAll();
    });

  return {
    now,
    pause(ms) {
      if (ms <= 0 || signal?.aborted || failure !== undefined) return Promise.resolve();
      return new Promise<void>((wake) => {
        sleepers.push({ at: now() + ms, wake });
        running--;
        stepSafely();
      });
    },
    leave() {
      running--;
      stepSafely();
    },
    get failure() {
      return failure;
    },
  };
}

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
