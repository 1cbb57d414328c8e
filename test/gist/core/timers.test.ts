import fc from 'fast-check';
import { TimerHeap, type TimerTarget } from '../../../gist/core/timers';

interface T extends TimerTarget {
  id: number;
}

describe('TimerHeap', () => {
  it('pops exactly the due targets in deadline order, whatever the sequence of re-arms', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(19), fc.option(fc.nat(1000), { nil: undefined })), { maxLength: 200 }), fc.nat(1000), (ops, now) => {
        const heap = new TimerHeap<T>();
        const targets: T[] = Array.from({ length: 20 }, (_, id) => ({ id, timerAt: undefined, heapIndex: -1 }));
        const model = new Map<number, number>();
        for (const [id, at] of ops) {
          heap.arm(targets[id], at);
          if (at === undefined) model.delete(id);
          else model.set(id, at);
        }
        expect(heap.size).toBe(model.size);
        const popped: [number, number][] = [];
        for (let t = heap.popDue(now); t !== undefined; t = heap.popDue(now)) popped.push([t.id, model.get(t.id) as number]);
        const due = [...model.entries()].filter(([, at]) => at <= now);
        expect(popped.map(([id]) => id).sort()).toEqual(due.map(([id]) => id).sort());
        for (let i = 1; i < popped.length; i++) expect(popped[i][1]).toBeGreaterThanOrEqual(popped[i - 1][1]);
        expect(heap.size).toBe(model.size - due.length);
        const next = [...model.values()].filter((at) => at > now);
        expect(heap.peek()).toBe(next.length > 0 ? Math.min(...next) : undefined);
      }),
    );
  });

  it('stays exact when re-arms (earlier, later, none) and pops at a rising clock interleave', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.tuple(fc.constant('arm' as const), fc.nat(9), fc.option(fc.nat(300), { nil: undefined })), fc.tuple(fc.constant('tick' as const), fc.nat(30), fc.constant(undefined))), { maxLength: 300 }),
        (ops) => {
          const heap = new TimerHeap<T>();
          const targets: T[] = Array.from({ length: 10 }, (_, id) => ({ id, timerAt: undefined, heapIndex: -1 }));
          const model = new Map<number, number>();
          let now = 0;
          for (const [kind, a, at] of ops) {
            if (kind === 'arm') {
              heap.arm(targets[a], at === undefined ? undefined : now + at);
              if (at === undefined) model.delete(a);
              else model.set(a, now + at);
            } else {
              now += a;
              let last = -Infinity;
              for (let t = heap.popDue(now); t !== undefined; t = heap.popDue(now)) {
                const want = model.get(t.id);
                expect(want).toBeDefined();
                expect(want as number).toBeLessThanOrEqual(now);
                expect(want as number).toBeGreaterThanOrEqual(last);
                last = want as number;
                model.delete(t.id);
                expect(t.timerAt).toBeUndefined();
              }
              for (const at2 of model.values()) expect(at2).toBeGreaterThan(now);
            }
            const next = [...model.values()];
            expect(heap.peek()).toBe(next.length > 0 ? Math.min(...next) : undefined);
            expect(heap.size).toBe(model.size);
          }
        },
      ),
    );
  });

  it('fires targets due at the same moment in the order of the plain indexed binary heap it replaced (simulations replay the same)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.tuple(fc.constant('arm' as const), fc.nat(29), fc.option(fc.nat(8), { nil: undefined })), fc.tuple(fc.constant('tick' as const), fc.nat(4), fc.constant(undefined))), { maxLength: 400 }),
        (ops) => {
          const heap = new TimerHeap<T>();
          const ref = new ReferenceHeap();
          const a: T[] = Array.from({ length: 30 }, (_, id) => ({ id, timerAt: undefined, heapIndex: -1 }));
          const b: T[] = Array.from({ length: 30 }, (_, id) => ({ id, timerAt: undefined, heapIndex: -1 }));
          let now = 0;
          const got: number[] = [];
          const want: number[] = [];
          for (const [kind, x, at] of ops) {
            if (kind === 'arm') {
              // Few distinct deadlines: many ties.
              heap.arm(a[x], at === undefined ? undefined : now + at);
              ref.arm(b[x], at === undefined ? undefined : now + at);
            } else {
              now += x;
              for (let t = heap.popDue(now); t !== undefined; t = heap.popDue(now)) got.push(t.id);
              for (let t = ref.popDue(now); t !== undefined; t = ref.popDue(now)) want.push(t.id);
            }
          }
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** The indexed binary heap TimerHeap replaced (each target kept its own slot), as the reference for the firing order. */
class ReferenceHeap {
  private h: T[] = [];
  private keys: number[] = [];

  arm(target: T, at: number | undefined): void {
    const i = target.heapIndex;
    target.timerAt = at;
    if (at === undefined) {
      if (i >= 0) this.removeAt(i);
      return;
    }
    if (i < 0) {
      const n = this.h.length;
      this.h.push(target);
      this.keys[n] = at;
      this.up(n);
    } else if (at < this.keys[i]) {
      this.keys[i] = at;
      this.up(i);
    }
  }

  popDue(now: number): T | undefined {
    if (this.h.length === 0 || this.keys[0] > now) return undefined;
    this.settleTop();
    const top = this.h[0];
    if (top === undefined || this.keys[0] > now) return undefined;
    this.removeAt(0);
    top.timerAt = undefined;
    return top;
  }

  private settleTop(): void {
    for (let n = this.h.length; n > 0; n--) {
      const want = this.h[0].timerAt as number;
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
    const lastKey = this.keys.pop() as number;
    if (i === n) return;
    h[i] = last;
    this.keys[i] = lastKey;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  private up(i: number): void {
    const { h, keys } = this;
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
    const { h, keys } = this;
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
