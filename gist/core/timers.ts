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
 *
 * The heap itself is typed arrays only: a slot holds its key and the id of
 * its target (an id is given while the target is in the heap), and the
 * position of each id is kept by id. Sifting moves numbers within three
 * small arrays and never writes to the targets (one cache miss per level
 * when each moved target kept its own position); a target is read only at
 * the top (settleTop) and written when it enters or leaves. The sift steps
 * are those of the plain binary heap this replaced, so targets due at the
 * same moment still fire in the same order (a simulation replays exactly).
 */
export interface TimerTarget {
  /** Earliest deadline of this object, or undefined when it has none. */
  timerAt: number | undefined;
  /** Its id in the heap while it is in it, -1 when not (managed by TimerHeap). */
  heapIndex: number;
}

export class TimerHeap<T extends TimerTarget> {
  private n = 0;
  /** keys[i] orders slot i: at most the timerAt of its target. */
  private keys = new Float64Array(64);
  /** ids[i]: the id of slot i's target. */
  private ids = new Int32Array(64);
  /** pos[id]: the slot of the target with that id. */
  private pos = new Int32Array(64);
  /** byId[id]: the target with that id (undefined: the id is free). */
  private readonly byId: (T | undefined)[] = [];
  /** Ids given back, reused last-in first-out (ids stay below the most targets ever held at once). */
  private readonly freeIds: number[] = [];

  get size(): number {
    return this.n;
  }

  /** Sets target.timerAt = at (undefined = none) and places it in the heap. */
  arm(target: T, at: number | undefined): void {
    const id = target.heapIndex;
    target.timerAt = at;
    if (at === undefined) {
      if (id >= 0) this.removeAt(this.pos[id]);
      return;
    }
    if (id < 0) {
      const n = this.n;
      if (n === this.keys.length) this.grow();
      const nid = this.freeIds.length > 0 ? (this.freeIds.pop() as number) : this.byId.length;
      if (nid === this.byId.length) this.byId.push(target);
      else this.byId[nid] = target;
      target.heapIndex = nid;
      this.n = n + 1;
      this.keys[n] = at;
      this.ids[n] = nid;
      this.pos[nid] = n;
      this.up(n);
    } else {
      const i = this.pos[id];
      if (at < this.keys[i]) {
        this.keys[i] = at;
        this.up(i);
      }
    }
    // Later than the key: taken up when the slot reaches the top (settleTop).
  }

  /** Earliest deadline. */
  peek(): number | undefined {
    this.settleTop();
    return this.n > 0 ? this.keys[0] : undefined;
  }

  /** Removes and returns the next target due at `now` (its timerAt is cleared), or undefined. */
  popDue(now: number): T | undefined {
    if (this.n === 0 || this.keys[0] > now) return undefined;
    this.settleTop();
    if (this.n === 0 || this.keys[0] > now) return undefined;
    const top = this.byId[this.ids[0]] as T;
    this.removeAt(0);
    top.timerAt = undefined;
    return top;
  }

  /** Doubles the slot arrays (pos is indexed by id: ids stay below the slot count ever reached). */
  private grow(): void {
    const len = this.keys.length * 2;
    const keys = new Float64Array(len);
    keys.set(this.keys);
    this.keys = keys;
    const ids = new Int32Array(len);
    ids.set(this.ids);
    this.ids = ids;
    const pos = new Int32Array(len);
    pos.set(this.pos);
    this.pos = pos;
  }

  /** Re-keys the top slot until its key is its target's deadline; then it is the true minimum. */
  private settleTop(): void {
    // Each pass gives one slot its true key, so this ends within n passes.
    for (let k = this.n; k > 0; k--) {
      const want = (this.byId[this.ids[0]] as T).timerAt as number;
      if (want <= this.keys[0]) return;
      this.keys[0] = want;
      this.down(0);
    }
  }

  private removeAt(i: number): void {
    const id = this.ids[i];
    (this.byId[id] as T).heapIndex = -1;
    this.byId[id] = undefined;
    this.freeIds.push(id);
    const n = --this.n;
    if (i === n) return;
    const lastId = this.ids[n];
    this.keys[i] = this.keys[n];
    this.ids[i] = lastId;
    this.pos[lastId] = i;
    this.up(i);
    this.down(this.pos[lastId]);
  }

  private up(i: number): void {
    const keys = this.keys;
    const ids = this.ids;
    const pos = this.pos;
    const id = ids[i];
    const v = keys[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p] <= v) break;
      keys[i] = keys[p];
      const pid = ids[p];
      ids[i] = pid;
      pos[pid] = i;
      i = p;
    }
    keys[i] = v;
    ids[i] = id;
    pos[id] = i;
  }

  private down(i: number): void {
    const keys = this.keys;
    const ids = this.ids;
    const pos = this.pos;
    const n = this.n;
    const id = ids[i];
    const v = keys[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && keys[r] < keys[l] ? r : l;
      if (keys[c] >= v) break;
      keys[i] = keys[c];
      const cid = ids[c];
      ids[i] = cid;
      pos[cid] = i;
      i = c;
    }
    keys[i] = v;
    ids[i] = id;
    pos[id] = i;
  }
}
