/**
 * The simulator's event queue on the virtual clock: a binary heap ordered by
 * (time, insertion sequence), so events at the same instant run in the order
 * they were scheduled and a run is reproducible. Time is in milliseconds.
 */
export type EventFn = (now: number) => void;

interface Entry {
  at: number;
  seq: number;
  fn: EventFn;
  cancelled: boolean;
}

export interface EventHandle {
  cancel(): void;
  readonly at: number;
}

export class Scheduler {
  private heap: Entry[] = [];
  private seq = 0;
  private _now = 0;
  /** Events run so far (cancelled ones not counted). */
  executed = 0;

  get now(): number {
    return this._now;
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Schedules `fn` at absolute time `at` (never before now). */
  at(at: number, fn: EventFn): EventHandle {
    const e: Entry = { at: at < this._now ? this._now : at, seq: this.seq++, fn, cancelled: false };
    this.push(e);
    return {
      at: e.at,
      cancel: () => {
        e.cancelled = true;
      },
    };
  }

  after(delay: number, fn: EventFn): EventHandle {
    return this.at(this._now + delay, fn);
  }

  /** Runs events in order up to and including time `until`; returns false when `shouldStop` asked to stop. */
  runUntil(until: number, shouldStop?: () => boolean): boolean {
    const h = this.heap;
    while (h.length > 0 && h[0].at <= until) {
      const e = this.pop();
      if (e.cancelled) continue;
      this._now = e.at;
      this.executed++;
      e.fn(e.at);
      if (shouldStop !== undefined && (this.executed & 1023) === 0 && shouldStop()) return false;
    }
    if (this._now < until) this._now = until;
    return true;
  }

  nextTime(): number | undefined {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
    return this.heap.length > 0 ? this.heap[0].at : undefined;
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as Entry;
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
