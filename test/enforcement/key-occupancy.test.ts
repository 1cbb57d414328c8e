/**
 * The nftables backend's key occupancy index (which pinhole holds each key of a hash map), keyed by
 * a 30-bit hash of the key: checked against a plain Map of key strings, with a pair of keys whose
 * hashes collide in the pool so that the spill path is exercised.
 */
import fc from 'fast-check';
import { type Installed, KeyOccupancy, keyHash } from '../../enforcement/nft/backend';
import type { Pinhole } from '../../enforcement';

/** A 20-byte `full`-shape key of the template the collision search used. */
function key(i: number): string {
  return String.fromCharCode(198, 18, (i >> 8) & 255, i & 255, 198, 19, 0, (i >> 16) & 255, 17, 0, 0, 0, 0x9c, 0x40, 0, 0, (i >> 20) & 255, 1, 0, 0);
}

// Found by a birthday search over key(0), key(1), ...: two different keys, one hash.
const COLLIDING = [13035, 181687];

function inst(mark: number, keys: string[]): Installed {
  const pinhole: Pinhole = {
    id: `ph-${mark.toString(16)}`,
    protocol: 17,
    src: { address: '198.18.0.1', length: 32 },
    dst: { address: '198.19.0.1', length: 32 },
    action: 'allow',
    owner: 'o',
    expiresAt: 1,
  };
  return { pinhole, mark, set: 'a4_full_0', keys, deadline: 1 };
}

describe('KeyOccupancy', () => {
  it('the pool really has a hash collision', () => {
    expect(key(COLLIDING[0])).not.toBe(key(COLLIDING[1]));
    expect(keyHash(key(COLLIDING[0]))).toBe(keyHash(key(COLLIDING[1])));
  });

  it('answers like a Map of key strings, collisions included', () => {
    const pool = [...COLLIDING, 1, 2, 3, 4].map(key);
    // A pinhole holds one or two keys of the pool (sub_ports=1 is two keys); ops: add a pinhole whose
    // keys are all free (the backend only adds those), or remove a holder.
    const op = fc.oneof(
      fc.record({ t: fc.constant('add' as const), keys: fc.uniqueArray(fc.integer({ min: 0, max: pool.length - 1 }), { minLength: 1, maxLength: 2 }) }),
      fc.record({ t: fc.constant('remove' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const occ = new KeyOccupancy();
        const ref = new Map<string, Installed>();
        const holders: Installed[] = [];
        let mark = 1;
        for (const o of ops) {
          if (o.t === 'add') {
            const keys = o.keys.map((k) => pool[k]);
            if (keys.some((k) => occ.has(k))) continue;
            const i = inst(mark++, keys);
            for (const k of keys) {
              occ.add(k, i);
              ref.set(k, i);
            }
            holders.push(i);
          } else if (holders.length > 0) {
            const [i] = holders.splice(o.pick % holders.length, 1);
            for (const k of i.keys) {
              if (typeof k !== 'string') continue;
              occ.delete(k, i);
              ref.delete(k);
            }
          }
          for (const k of pool) expect(occ.has(k)).toBe(ref.has(k));
          expect(occ.size).toBe(ref.size);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a delete by a pinhole that does not hold the key changes nothing', () => {
    const occ = new KeyOccupancy();
    const a = inst(1, [key(COLLIDING[0])]);
    const b = inst(2, [key(COLLIDING[1])]);
    occ.add(key(COLLIDING[0]), a);
    occ.add(key(COLLIDING[1]), b); // same hash: spilled
    occ.delete(key(COLLIDING[0]), b);
    occ.delete(key(COLLIDING[1]), a);
    expect(occ.has(key(COLLIDING[0]))).toBe(true);
    expect(occ.has(key(COLLIDING[1]))).toBe(true);
    occ.delete(key(COLLIDING[0]), a);
    expect(occ.has(key(COLLIDING[0]))).toBe(false);
    expect(occ.has(key(COLLIDING[1]))).toBe(true);
    expect(occ.size).toBe(1);
  });
});
