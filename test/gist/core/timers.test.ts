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
});
