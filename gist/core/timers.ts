/**
 * Timers as data (STYLE.md): every state object that needs time keeps its
 * named deadlines as plain fields (e.g. RoutingState.refreshAt, .expireAt,
 * .retransmitAt; MessagingAssociation.lastTxAt + hold time) and one
 * `timerAt`, the earliest of them. The node keeps an indexed min-heap of the
 * targets themselves (each knows its slot, so moving a deadline is an
 * in-place sift: one heap slot per object, no stale entries).
 * `handleTimeout(now)` pops everything due and lets each target fire the
 * kinds that are due; spurious or repeated calls do nothing.
 */
export interface TimerTarget {
  /** Earliest deadline of this object, or undefined when it has none. */
  timerAt: number | undefined;
  /** Slot in the heap, -1 when not in it (managed by TimerHeap). */
  heapIndex: number;
}

export class TimerHeap<T extends TimerTarget> {
  private h: T[] = [];

  get size(): number {
    return this.h.length;
  }

  /** Sets target.timerAt = at (undefined = none) and places it in the heap. */
  arm(target: T, at: number | undefined): void {
    if (target.timerAt === at && (at === undefined) === (target.heapIndex < 0)) return;
    target.timerAt = at;
    const i = target.heapIndex;
    if (at === undefined) {
      if (i >= 0) this.removeAt(i);
      return;
    }
    if (i < 0) {
      target.heapIndex = this.h.length;
      this.h.push(target);
      this.up(target.heapIndex);
    } else {
      this.up(i);
      this.down(target.heapIndex);
    }
  }

  /** Earliest deadline. */
  peek(): number | undefined {
    return this.h.length > 0 ? this.h[0].timerAt : undefined;
  }

  /** Removes and returns the next target due at `now` (its timerAt is cleared), or undefined. */
  popDue(now: number): T | undefined {
    const top = this.h[0];
    if (top === undefined || (top.timerAt as number) > now) return undefined;
    this.removeAt(0);
    top.timerAt = undefined;
    return top;
  }

  private at(i: number): number {
    return this.h[i].timerAt as number;
  }

  private removeAt(i: number): void {
    const h = this.h;
    const gone = h[i];
    gone.heapIndex = -1;
    const last = h.pop() as T;
    if (i === h.length) return;
    h[i] = last;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  private up(i: number): void {
    const h = this.h;
    const t = h[i];
    const v = t.timerAt as number;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.at(p) <= v) break;
      h[i] = h[p];
      h[i].heapIndex = i;
      i = p;
    }
    h[i] = t;
    t.heapIndex = i;
  }

  private down(i: number): void {
    const h = this.h;
    const t = h[i];
    const v = t.timerAt as number;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.at(r) < this.at(l) ? r : l;
      if (this.at(c) >= v) break;
      h[i] = h[c];
      h[i].heapIndex = i;
      i = c;
    }
    h[i] = t;
    t.heapIndex = i;
  }
}
