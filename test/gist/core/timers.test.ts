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
});
