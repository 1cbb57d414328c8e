/**
 * Timers are data (STYLE.md point 3): an indexed binary min-heap with one
 * slot per item. The deadlines live in the heap's own Float64Array (no
 * per-entry object, no boxed number on the item); the item only knows its
 * slot, so re-arming is an in-place sift and cancelling removes the slot:
 * no stale entries pile up between refreshes.
 */
export interface TimerItem {
  /** Slot in the heap, -1 when not armed (managed by TimerHeap). */
  timerIdx: number;
}

export class TimerHeap<T extends TimerItem> {
  private items: T[] = [];
  private at = new Float64Array(64);

  get size(): number {
    return this.items.length;
  }

  /** (Re)arm the single timer of `item`. */
  set(item: T, at: number): void {
    const i = item.timerIdx;
    if (i >= 0) {
      const old = this.at[i];
      this.at[i] = at;
      if (at < old) this.up(i);
      else if (at > old) this.down(i);
      return;
    }
    const n = this.items.length;
    if (n === this.at.length) {
      const grown = new Float64Array(n * 2);
      grown.set(this.at);
      this.at = grown;
    }
    this.items.push(item);
    this.at[n] = at;
    item.timerIdx = n;
    this.up(n);
  }

  cancel(item: T): void {
    const i = item.timerIdx;
    if (i >= 0) this.removeAt(i);
  }

  /** Earliest deadline, or undefined. */
  next(): number | undefined {
    return this.items.length > 0 ? this.at[0] : undefined;
  }

  /** Pops one item whose deadline is <= now, or undefined. */
  popDue(now: number): T | undefined {
    if (this.items.length === 0 || this.at[0] > now) return undefined;
    const top = this.items[0];
    this.removeAt(0);
    return top;
  }

  private removeAt(i: number): void {
    const items = this.items;
    const gone = items[i];
    gone.timerIdx = -1;
    const last = items.pop() as T;
    const n = items.length;
    if (i === n) {
      this.shrink();
      return;
    }
    const lastAt = this.at[n];
    const oldAt = this.at[i];
    items[i] = last;
    this.at[i] = lastAt;
    last.timerIdx = i;
    if (lastAt < oldAt) this.up(i);
    else this.down(i);
    this.shrink();
  }

  /** Gives memory back once the heap is well below its capacity (a burst of sessions went away). */
  private shrink(): void {
    const cap = this.at.length;
    if (cap > 64 && this.items.length < cap >> 2) this.at = this.at.slice(0, cap >> 1);
  }

  private up(i: number): void {
    const items = this.items;
    const at = this.at;
    const item = items[i];
    const t = at[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p] <= t) break;
      items[i] = items[p];
      at[i] = at[p];
      items[i].timerIdx = i;
      i = p;
    }
    items[i] = item;
    at[i] = t;
    item.timerIdx = i;
  }

  private down(i: number): void {
    const items = this.items;
    const at = this.at;
    const n = items.length;
    const item = items[i];
    const t = at[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && at[r] < at[l] ? r : l;
      if (at[c] >= t) break;
      items[i] = items[c];
      at[i] = at[c];
      items[i].timerIdx = i;
      i = c;
    }
    items[i] = item;
    at[i] = t;
    item.timerIdx = i;
  }
}
