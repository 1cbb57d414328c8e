/**
 * Timers as data (STYLE.md): every state object that needs time keeps its
 * named deadlines as plain fields (e.g. RoutingState.refreshAt, .expireAt,
 * .retransmitAt; MessagingAssociation.lastTxAt + hold time) and one
 * `timerAt`, the earliest of them. The node keeps an indexed min-heap of the
 * targets themselves (each knows its slot: one heap slot per object, no stale
 * entries). A slot is ordered by its key, which is never later than the
 * target's `timerAt`: a deadline moved earlier is sifted at once, one moved
 * later (every message extends a routing state's lifetime) only updates
 * `timerAt`, and the slot is re-keyed when it reaches the top. That made
 * re-arming, once about a tenth of a large simulation, mostly free.
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
  /** keys[i] orders slot i: at most h[i].timerAt. */
  private keys = new Float64Array(64);

  get size(): number {
    return this.h.length;
  }

  /** Sets target.timerAt = at (undefined = none) and places it in the heap. */
  arm(target: T, at: number | undefined): void {
    const i = target.heapIndex;
    target.timerAt = at;
    if (at === undefined) {
      if (i >= 0) this.removeAt(i);
      return;
    }
    if (i < 0) {
      const n = this.h.length;
      if (n === this.keys.length) {
        const grown = new Float64Array(n * 2);
        grown.set(this.keys);
        this.keys = grown;
      }
      this.h.push(target);
      this.keys[n] = at;
      this.up(n);
    } else if (at < this.keys[i]) {
      this.keys[i] = at;
      this.up(i);
    }
    // Later than the key: taken up when the slot reaches the top (settleTop).
  }

  /** Earliest deadline. */
  peek(): number | undefined {
    this.settleTop();
    return this.h.length > 0 ? this.keys[0] : undefined;
  }

  /** Removes and returns the next target due at `now` (its timerAt is cleared), or undefined. */
  popDue(now: number): T | undefined {
    if (this.h.length === 0 || this.keys[0] > now) return undefined;
    this.settleTop();
    const top = this.h[0];
    if (top === undefined || this.keys[0] > now) return undefined;
    this.removeAt(0);
    top.timerAt = undefined;
    return top;
  }

  /** Re-keys the top slot until its key is its target's deadline; then it is the true minimum. */
  private settleTop(): void {
    const h = this.h;
    // Each pass gives one slot its true key, so this ends within h.length passes.
    for (let n = h.length; n > 0; n--) {
      const want = h[0].timerAt as number;
      if (want <= this.keys[0]) return;
      this.keys[0] = want;
      this.down(0);
    }
  }

  private removeAt(i: number): void {
    const h = this.h;
    h[i].heapIndex = -1;
    const last = h.pop() as T;
    const n = h.length;
    if (i === n) return;
    h[i] = last;
    this.keys[i] = this.keys[n];
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  private up(i: number): void {
    const h = this.h;
    const keys = this.keys;
    const t = h[i];
    const v = keys[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p] <= v) break;
      h[i] = h[p];
      keys[i] = keys[p];
      h[i].heapIndex = i;
      i = p;
    }
    h[i] = t;
    keys[i] = v;
    t.heapIndex = i;
  }

  private down(i: number): void {
    const h = this.h;
    const keys = this.keys;
    const n = h.length;
    const t = h[i];
    const v = keys[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && keys[r] < keys[l] ? r : l;
      if (keys[c] >= v) break;
      h[i] = h[c];
      keys[i] = keys[c];
      h[i].heapIndex = i;
      i = c;
    }
    h[i] = t;
    keys[i] = v;
    t.heapIndex = i;
  }
}
