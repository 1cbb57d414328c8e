/**
 * Timers as data (STYLE.md): every state object that needs time keeps its
 * named deadlines as plain fields (e.g. RoutingState.refreshAt, .expireAt,
 * .retransmitAt; MessagingAssociation.helloAt) and one `timerAt`, the
 * earliest of them. The node keeps a min-heap of (timerAt, target); an entry
 * whose target has since moved its timerAt is stale and skipped when popped.
 * `handleTimeout(now)` pops everything due and lets each target fire the kinds
 * that are due; spurious or repeated calls do nothing.
 */
export interface TimerTarget {
  /** Earliest deadline of this object, or undefined when it has none. */
  timerAt: number | undefined;
}

interface Entry<T extends TimerTarget> {
  at: number;
  target: T;
}

export class TimerHeap<T extends TimerTarget> {
  private h: Entry<T>[] = [];

  get size(): number {
    return this.h.length;
  }

  /** Sets target.timerAt = at (undefined = none) and records it. */
  arm(target: T, at: number | undefined): void {
    if (target.timerAt === at) return;
    target.timerAt = at;
    if (at !== undefined) this.push({ at, target });
  }

  /** Earliest live deadline. */
  peek(): number | undefined {
    this.dropStale();
    return this.h.length > 0 ? this.h[0].at : undefined;
  }

  /** Pops the next target due at `now` (its timerAt is cleared), or undefined. */
  popDue(now: number): T | undefined {
    this.dropStale();
    const top = this.h[0];
    if (top === undefined || top.at > now) return undefined;
    this.pop();
    top.target.timerAt = undefined;
    return top.target;
  }

  private dropStale(): void {
    while (this.h.length > 0 && this.h[0].target.timerAt !== this.h[0].at) this.pop();
  }

  private push(e: Entry<T>): void {
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= e.at) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.h;
    const last = h.pop() as Entry<T>;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r].at < h[l].at ? r : l;
      if (h[c].at >= last.at) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }
}
