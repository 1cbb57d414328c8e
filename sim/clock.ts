/**
 * The simulator's event queue: virtual time in milliseconds and the callbacks
 * scheduled on it, run in (time, scheduling order) so runs are deterministic.
 * Same contract as sim/vnet's VirtualClock, built for millions of events: the
 * binary heap keeps each event's time and sequence number in typed arrays
 * beside it (the comparisons read no objects), and the event object is its own
 * cancel handle. Nothing here reads the wall clock.
 */
export interface ScheduledHandle {
  cancel(): void;
}

/**
 * Something to run at a time on the clock, and its own cancel handle. Hot
 * callers (a datagram in flight) subclass it so an event costs one object,
 * not a task plus a closure.
 */
export abstract class ClockTask implements ScheduledHandle {
  cancelled = false;
  abstract run(): void;
  cancel(): void {
    this.cancelled = true;
  }
}

class Scheduled extends ClockTask {
  constructor(readonly fn: () => void) {
    super();
  }
  run(): void {
    this.fn();
  }
}

export class SimClock {
  private nowMs = 0;
  private seq = 0;
  private size = 0;
  private at = new Float64Array(1024);
  private order = new Float64Array(1024);
  private events: Array<ClockTask | undefined> = new Array<ClockTask | undefined>(1024);

  get now(): number {
    return this.nowMs;
  }

  /** Events in the queue (cancelled ones included until they reach the front). */
  get pending(): number {
    return this.size;
  }

  /** Schedules `fn` at absolute time `at` (clamped to now). */
  schedule(at: number, fn: () => void): ScheduledHandle {
    const ev = new Scheduled(fn);
    this.push(at > this.nowMs ? at : this.nowMs, ev);
    return ev;
  }

  /** Schedules `task` at absolute time `at` (clamped to now); it must not be in the queue already. */
  scheduleTask(at: number, task: ClockTask): void {
    this.push(at > this.nowMs ? at : this.nowMs, task);
  }

  /**
   * The tasks in the queue that `pick` selects (cancelled ones left out), in the order they were scheduled.
   * A scan of the whole queue: for rare events (a route change), not per packet.
   */
  pendingTasks<T extends ClockTask>(pick: (t: ClockTask) => t is T): T[] {
    const found: Array<{ s: number; t: T }> = [];
    for (let i = 0; i < this.size; i++) {
      const t = this.events[i] as ClockTask;
      if (!t.cancelled && pick(t)) found.push({ s: this.order[i], t });
    }
    return found.sort((a, b) => a.s - b.s).map((x) => x.t);
  }

  after(delayMs: number, fn: () => void): ScheduledHandle {
    return this.schedule(this.nowMs + Math.max(0, delayMs), fn);
  }

  /** Time of the next pending event, or undefined. */
  peek(): number | undefined {
    this.dropCancelled();
    return this.size > 0 ? this.at[0] : undefined;
  }

  /** Runs every event due up to and including `t`, then sets the time to `t`. Returns the events run. */
  runUntil(t: number): number {
    let steps = 0;
    for (;;) {
      this.dropCancelled();
      if (this.size === 0 || this.at[0] > t) break;
      this.nowMs = this.at[0];
      const ev = this.pop();
      ev.run();
      steps++;
    }
    if (t > this.nowMs) this.nowMs = t;
    return steps;
  }

  private dropCancelled(): void {
    while (this.size > 0 && (this.events[0] as ClockTask).cancelled) this.pop();
  }

  private grow(): void {
    const n = this.at.length * 2;
    const at = new Float64Array(n);
    at.set(this.at);
    const order = new Float64Array(n);
    order.set(this.order);
    this.at = at;
    this.order = order;
    this.events.length = n;
  }

  private push(t: number, ev: ClockTask): void {
    if (this.size === this.at.length) this.grow();
    const at = this.at;
    const order = this.order;
    const events = this.events;
    const s = this.seq++;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p] < t || (at[p] === t && order[p] < s)) break;
      at[i] = at[p];
      order[i] = order[p];
      events[i] = events[p];
      i = p;
    }
    at[i] = t;
    order[i] = s;
    events[i] = ev;
  }

  private pop(): ClockTask {
    const at = this.at;
    const order = this.order;
    const events = this.events;
    const top = events[0] as ClockTask;
    const n = --this.size;
    const t = at[n];
    const s = order[n];
    const ev = events[n];
    events[n] = undefined;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && (at[r] < at[l] || (at[r] === at[l] && order[r] < order[l]))) m = r;
      if (at[m] > t || (at[m] === t && order[m] > s)) break;
      at[i] = at[m];
      order[i] = order[m];
      events[i] = events[m];
      i = m;
    }
    if (n > 0) {
      at[i] = t;
      order[i] = s;
      events[i] = ev;
    }
    return top;
  }
}
