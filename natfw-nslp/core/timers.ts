/**
 * Timers are data (STYLE.md point 3): a binary min-heap of (deadline, key,
 * generation). Re-arming a key bumps its generation, so stale entries are
 * skipped lazily when they surface; `handleTimeout` pops what is due.
 */
interface Entry {
  at: number;
  key: string;
  gen: number;
}

export class TimerHeap {
  private heap: Entry[] = [];
  private gens = new Map<string, number>();

  get size(): number {
    return this.gens.size;
  }

  /** (Re)arm the single timer of `key`. */
  set(key: string, at: number): void {
    const gen = (this.gens.get(key) ?? 0) + 1;
    this.gens.set(key, gen);
    this.push({ at, key, gen });
  }

  cancel(key: string): void {
    this.gens.delete(key);
  }

  /** Earliest live deadline, or undefined. */
  next(): number | undefined {
    this.dropStale();
    return this.heap.length > 0 ? this.heap[0].at : undefined;
  }

  /** Pops one key whose deadline is <= now, or undefined. */
  popDue(now: number): string | undefined {
    this.dropStale();
    const top = this.heap[0];
    if (top === undefined || top.at > now) return undefined;
    this.pop();
    this.gens.delete(top.key);
    return top.key;
  }

  private dropStale(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0];
      if (this.gens.get(top.key) === top.gen) return;
      this.pop();
    }
  }

  private push(e: Entry): void {
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
