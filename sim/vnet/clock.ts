/**
 * A virtual clock: a time in milliseconds and a queue of scheduled callbacks,
 * ordered by (time, insertion order) so runs are deterministic. Nothing here
 * reads the wall clock; time moves only when `step()` pops the next event.
 */
interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export interface ScheduledHandle {
  cancel(): void;
}

export class StepCapExceeded extends Error {
  constructor(readonly steps: number) {
    super(`virtual clock: step cap of ${steps} reached (livelock, or raise maxSteps)`);
    this.name = 'StepCapExceeded';
  }
}

export class VirtualClock {
  private nowMs: number;
  private seq = 0;
  private heap: Scheduled[] = [];

  constructor(start = 0) {
    this.nowMs = start;
  }

  get now(): number {
    return this.nowMs;
  }

  /** Number of pending (not cancelled) events is at most this. */
  get pending(): number {
    return this.heap.length;
  }

  /** Schedules `fn` at absolute time `at` (clamped to now). */
  schedule(at: number, fn: () => void): ScheduledHandle {
    const ev: Scheduled = { at: Math.max(at, this.nowMs), seq: this.seq++, fn, cancelled: false };
    this.push(ev);
    return {
      cancel: () => {
        ev.cancelled = true;
      },
    };
  }

  after(delayMs: number, fn: () => void): ScheduledHandle {
    return this.schedule(this.nowMs + Math.max(0, delayMs), fn);
  }

  /** Time of the next pending event, or undefined. */
  peek(): number | undefined {
    this.dropCancelled();
    return this.heap.length > 0 ? this.heap[0].at : undefined;
  }

  /** Runs the next event (advancing time to it); false when there is none. */
  step(): boolean {
    this.dropCancelled();
    const ev = this.pop();
    if (ev === undefined) return false;
    this.nowMs = ev.at;
    ev.fn();
    return true;
  }

  /** Runs every event due up to and including `t`, then sets the time to `t`. Returns the steps taken. */
  runUntil(t: number, maxSteps = 1_000_000): number {
    let steps = 0;
    for (;;) {
      const next = this.peek();
      if (next === undefined || next > t) break;
      if (steps >= maxSteps) throw new StepCapExceeded(maxSteps);
      this.step();
      steps++;
    }
    if (t > this.nowMs) this.nowMs = t;
    return steps;
  }

  /** Runs until no event is pending; throws StepCapExceeded after `maxSteps` (periodic timers never go idle: use runUntil). */
  runUntilIdle(maxSteps = 100_000): number {
    let steps = 0;
    while (this.peek() !== undefined) {
      if (steps >= maxSteps) throw new StepCapExceeded(maxSteps);
      this.step();
      steps++;
    }
    return steps;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
  }

  private less(x: Scheduled, y: Scheduled): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  private push(ev: Scheduled): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Scheduled | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop() as Scheduled;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
