/** The simulator's verdict index answers exactly what the memory backend's lookup answers. */
import fc from 'fast-check';
import { MemoryPinholeSet } from '../../enforcement/memory';
import type { PinholeSpec } from '../../enforcement/types';
import { VerdictIndex } from '../../sim/verdicts';

const families = [
  { name: 'IPv4', hosts: ['198.18.0.1', '198.18.0.2', '198.18.1.7'], full: 32, wideSrc: { address: '198.18.0.0', length: 16 }, any: { address: '0.0.0.0', length: 0 }, wideDst: { address: '198.18.0.0', length: 24 } },
  { name: 'IPv6', hosts: ['2001:db8::1', '2001:db8::2', '2001:db8:0:1::7'], full: 128, wideSrc: { address: '2001:db8::', length: 32 }, any: { address: '::', length: 0 }, wideDst: { address: '2001:db8::', length: 64 } },
];

describe.each(families)('$name', (fam) => {
  const addr = fc.constantFrom(...fam.hosts);
  const spec: fc.Arbitrary<PinholeSpec> = fc.record({
    protocol: fc.constantFrom(6, 17),
    src: fc.oneof(addr.map((a) => ({ address: a, length: fam.full })), fc.constant(fam.wideSrc), fc.constant(fam.any)),
    srcPorts: fc.option(fc.oneof(fc.integer({ min: 1000, max: 1003 }).map((p) => ({ from: p, to: p })), fc.constant({ from: 1000, to: 1002 })), { nil: undefined }),
    dst: fc.oneof(addr.map((a) => ({ address: a, length: fam.full })), fc.constant(fam.wideDst)),
    dstPorts: fc.option(fc.integer({ min: 2000, max: 2003 }).chain((p) => fc.constantFrom({ from: p, to: p }, { from: p, to: p + 1 }, { from: p, to: p + 10 })), { nil: undefined }),
    action: fc.constantFrom('allow' as const, 'deny' as const),
    owner: fc.constant('t'),
    expiresAt: fc.constant(1e9),
  });

  test('same verdicts as MemoryPinholeSet.lookup, through adds and removes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), async (specs, removals) => {
        const set = new MemoryPinholeSet();
        const idx = new VerdictIndex();
        const tx = set.begin();
        const ids = specs.map((s) => tx.add(s));
        await tx.commit(0);
        for (const id of ids) idx.add(set.get(id)!);
        const tx2 = set.begin();
        const gone = new Set<string>();
        for (const r of removals) {
          const id = ids[r % Math.max(1, ids.length)];
          if (id === undefined || gone.has(id)) continue;
          gone.add(id);
          idx.remove(set.get(id)!);
          tx2.remove(id);
        }
        await tx2.commit(0);
        for (const protocol of [6, 17]) for (const src of [fam.hosts[0], fam.hosts[2]]) for (const dst of [fam.hosts[1], fam.hosts[2]]) {
          for (const srcPort of [1000, 1001, 1003]) for (const dstPort of [2000, 2001, 2004]) {
            const pkt = { protocol, src, srcPort, dst, dstPort };
            expect(idx.verdict(pkt)).toBe(set.lookup(pkt).verdict);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
