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
