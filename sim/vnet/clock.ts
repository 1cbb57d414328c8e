/**
 * A virtual clock: a time in milliseconds and a queue of scheduled callbacks,
 * ordered by (time, insertion order) so runs are deterministic. Nothing here
 * reads the wall clock; time moves only when `step()` pops the next event.
 */
import { ClockTask, type ScheduledHandle } from '../clock';

export type { ScheduledHandle };

/**
 * An event on the clock, its own handle (the simulator's ClockTask, sim/clock.ts) plus the time
 * this clock files it under. Drivers with an event per datagram subclass it (`scheduleEvent`)
 * instead of scheduling a closure: one object per event, not a handle, a closure and its context.
 */
export abstract class ClockEvent extends ClockTask {
  /** Set by the clock when scheduled. */
  at = 0;
}

/** A scheduled callback. */
class Scheduled extends ClockEvent {
  constructor(readonly fn: () => void) {
    super();
  }

  run(): void {
    this.fn();
  }
}

export class StepCapExceeded extends Error {
  constructor(readonly steps: number) {
    super(`virtual clock: step cap of ${steps} reached (livelock, or raise maxSteps)`);
    this.name = 'StepCapExceeded';
  }
}

/** The events due at one time, in scheduling order (which is the seq order). */
interface Bucket {
  readonly evs: (ClockEvent | undefined)[];
  head: number;
}

/**
 * Events are kept per distinct time: a min-heap of the times and, for each,
 * its events in the order they were scheduled. Running them bucket by bucket,
 * front to back, is exactly the (time, insertion order) order, and most events
 * join a bucket that exists already (every datagram on a 1 ms link lands at
 * now + 1): no heap sift for them.
 */
export class VirtualClock {
  private nowMs: number;
  private count = 0;
  private readonly times: number[] = [];
  private readonly buckets = new Map<number, Bucket>();

  constructor(start = 0) {
    this.nowMs = start;
  }

  get now(): number {
    return this.nowMs;
  }

  /** Number of pending (not cancelled) events is at most this. */
  get pending(): number {
    return this.count;
  }

  /** Schedules `fn` at absolute time `at` (clamped to now). */
  schedule(at: number, fn: () => void): ScheduledHandle {
    return this.scheduleEvent(at, new Scheduled(fn));
  }

  /** Schedules `ev` (run() is called) at absolute time `at` (clamped to now); returns it. An event is scheduled once. */
  scheduleEvent<E extends ClockEvent>(at: number, ev: E): E {
    const t = at > this.nowMs ? at : this.nowMs;
    ev.at = t;
    let b = this.buckets.get(t);
    if (b === undefined) {
      b = { evs: [], head: 0 };
      this.buckets.set(t, b);
      this.pushTime(t);
    }
    b.evs.push(ev);
    this.count++;
    return ev;
  }

  after(delayMs: number, fn: () => void): ScheduledHandle {
    return this.schedule(this.nowMs + Math.max(0, delayMs), fn);
  }

  /** Time of the next pending event, or undefined. */
  peek(): number | undefined {
    return this.front()?.at;
  }

  /** Runs the next event (advancing time to it); false when there is none. */
  step(): boolean {
    const ev = this.front();
    if (ev === undefined) return false;
    const b = this.buckets.get(ev.at) as Bucket;
    b.evs[b.head++] = undefined;
    this.count--;
    this.nowMs = ev.at;
    ev.run();
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

  /** The next event that is not cancelled (left in its bucket), dropping cancelled ones and spent buckets. */
  private front(): ClockEvent | undefined {
    const times = this.times;
    while (times.length > 0) {
      const t = times[0];
      const b = this.buckets.get(t) as Bucket;
      const evs = b.evs;
      while (b.head < evs.length) {
        const ev = evs[b.head] as ClockEvent;
        if (!ev.cancelled) return ev;
        evs[b.head++] = undefined;
        this.count--;
      }
      this.buckets.delete(t);
      this.popTime();
    }
    return undefined;
  }

  private pushTime(t: number): void {
    const h = this.times;
    let i = h.length;
    h.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const up = h[p];
      if (up <= t) break;
      h[i] = up;
      i = p;
    }
    h[i] = t;
  }

  private popTime(): void {
    const h = this.times;
    const last = h.pop() as number;
    const n = h.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r] < h[l] ? r : l;
      if (h[c] >= last) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }
}
