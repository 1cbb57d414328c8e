/** The NATFW core's indexed timer heap against a plain reference (a map of deadlines), under random operations. */
import fc from 'fast-check';
import { TimerHeap } from '../../../natfw-nslp/core/timers';

type Op = { kind: 'set'; item: number; at: number } | { kind: 'cancel'; item: number } | { kind: 'pop'; now: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), item: fc.nat({ max: 40 }), at: fc.nat({ max: 1000 }) }),
  fc.record({ kind: fc.constant('cancel' as const), item: fc.nat({ max: 40 }) }),
  fc.record({ kind: fc.constant('pop' as const), now: fc.nat({ max: 1000 }) }),
);

describe('TimerHeap (natfw-nslp/core/timers.ts)', () => {
  test('pops exactly the due items, earliest first, one timer per item', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const heap = new TimerHeap<{ timerIdx: number; id: number }>();
        const items = Array.from({ length: 41 }, (_, id) => ({ timerIdx: -1, id }));
        const ref = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            heap.set(items[o.item], o.at);
            ref.set(o.item, o.at);
          } else if (o.kind === 'cancel') {
            heap.cancel(items[o.item]);
            ref.delete(o.item);
          } else {
            for (let it = heap.popDue(o.now); it !== undefined; it = heap.popDue(o.now)) {
              const at = ref.get(it.id);
              expect(at).toBeDefined();
              expect(at as number).toBeLessThanOrEqual(o.now);
              // Earliest first: nothing left in the reference is earlier.
              for (const v of ref.values()) expect(v).toBeGreaterThanOrEqual(at as number);
              ref.delete(it.id);
              expect(it.timerIdx).toBe(-1);
            }
            for (const v of ref.values()) expect(v).toBeGreaterThan(o.now);
          }
          expect(heap.size).toBe(ref.size);
          expect(heap.next()).toBe(ref.size === 0 ? undefined : Math.min(...ref.values()));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('holds many items (the deadline array grows past its first size and shrinks back)', () => {
    const heap = new TimerHeap<{ timerIdx: number; id: number }>();
    const items = Array.from({ length: 5000 }, (_, id) => ({ timerIdx: -1, id }));
    for (const it of items) heap.set(it, (it.id * 7919) % 5000);
    const out: number[] = [];
    for (let it = heap.popDue(4999); it !== undefined; it = heap.popDue(4999)) out.push((it.id * 7919) % 5000);
    expect(out).toEqual([...out].sort((a, b) => a - b));
    expect(out.length).toBe(5000);
    expect(heap.next()).toBeUndefined();
  });
});
