/**
 * Timers are data (STYLE.md point 3): a binary min-heap of (deadline, item,
 * generation) with one live timer per item. The generation lives on the item
 * itself (no side map, so a session costs one heap entry); re-arming bumps it
 * and stale entries are skipped lazily when they surface.
 */
export interface TimerItem {
  timerGen: number;
}

interface Entry<T extends TimerItem> {
  readonly at: number;
  readonly item: T;
  readonly gen: number;
}

export class TimerHeap<T extends TimerItem> {
  private heap: Entry<T>[] = [];

  /** (Re)arm the single timer of `item`. */
  set(item: T, at: number): void {
    item.timerGen++;
    this.push({ at, item, gen: item.timerGen });
  }

  cancel(item: T): void {
    item.timerGen++;
  }

  /** Earliest live deadline, or undefined. */
  next(): number | undefined {
    this.dropStale();
    return this.heap.length > 0 ? this.heap[0].at : undefined;
  }

  /** Pops one item whose deadline is <= now, or undefined. */
  popDue(now: number): T | undefined {
    this.dropStale();
    const top = this.heap[0];
    if (top === undefined || top.at > now) return undefined;
    this.pop();
    top.item.timerGen++;
    return top.item;
  }

  private dropStale(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0];
      if (top.item.timerGen === top.gen) return;
      this.pop();
    }
  }

  private push(e: Entry<T>): void {
    const h = this.heap;
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
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r].at < h[l].at ? r : l;
      if (h[c].at >= last.at) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }
}
