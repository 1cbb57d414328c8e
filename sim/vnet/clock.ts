/**
 * A virtual clock: a time in milliseconds and a queue of scheduled callbacks,
 * ordered by (time, insertion order) so runs are deterministic. Nothing here
 * reads the wall clock; time moves only when `step()` pops the next event.
 */
export interface ScheduledHandle {
  cancel(): void;
}

/** A scheduled callback; it is its own handle (no handle object or closure per event). */
class Scheduled implements ScheduledHandle {
  cancelled = false;

  constructor(
    readonly at: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
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
    const ev = new Scheduled(at > this.nowMs ? at : this.nowMs, this.seq++, fn);
    this.push(ev);
    return ev;
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

  // Sifts move the event through a hole (no swap arrays: this runs for every datagram).
  private push(ev: Scheduled): void {
    const h = this.heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const up = h[p];
      if (!this.less(ev, up)) break;
      h[i] = up;
      i = p;
    }
    h[i] = ev;
  }

  private pop(): Scheduled | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop() as Scheduled;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.less(h[r], h[l]) ? r : l;
        if (!this.less(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
