/**
 * PreparedHmac (natfw-nslp/auth/transforms.ts) against node:crypto's HMAC for
 * every SESSION_AUTH transform: the pre-keyed implementations (gist/core's
 * HMAC-SHA256, a reused @noble SHA-1 instance) must give the same MACs for any
 * key, any split of the input into parts, and one key used many times.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { constantTimeEqual, PreparedHmac, TRANSFORMS } from '../../natfw-nslp/auth/transforms';

const ids = [...TRANSFORMS.keys()];

function reference(id: number, key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  const t = TRANSFORMS.get(id);
  if (t === undefined) throw new Error(`no transform ${id}`);
  const h = createHmac(t.digest, key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest().subarray(0, t.macLength));
}

const bytes = (n: number, seed: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed * 17 + 5) & 0xff);

describe('PreparedHmac', () => {
  test.each(ids)('transform %i: every input length 0-300 in one part, and split in two and three parts', (id) => {
    const t = TRANSFORMS.get(id)!;
    for (const keyLen of [8, 32, 64, 65, 200]) {
      const key = bytes(keyLen, keyLen);
      const hm = new PreparedHmac(t, key);
      for (let n = 0; n <= 300; n += n < 140 ? 1 : 7) {
        const msg = bytes(n, n);
        const want = reference(id, key, [msg]);
        expect(hm.mac([msg])).toEqual(want);
        const a = Math.floor(n / 3);
        const b = Math.floor((2 * n) / 3);
        expect(hm.mac([msg.subarray(0, a), msg.subarray(a)])).toEqual(want);
        expect(hm.mac([msg.subarray(0, a), msg.subarray(a, b), msg.subarray(b)])).toEqual(want);
        expect(hm.verify([msg.subarray(0, a), msg.subarray(a)], want)).toBe(true);
      }
    }
  });

  test.each(ids)('transform %i: random keys and parts match node:crypto; one flipped bit fails verify', (id) => {
    const t = TRANSFORMS.get(id)!;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 160 }), fc.array(fc.uint8Array({ maxLength: 700 }), { minLength: 1, maxLength: 5 }), fc.nat(), (key, parts, flip) => {
        const hm = new PreparedHmac(t, key);
        const want = reference(id, key, parts);
        expect(hm.mac(parts)).toEqual(want);
        expect(hm.verify(parts, want)).toBe(true);
        const bad = want.slice();
        bad[flip % bad.length] ^= 1 << flip % 8;
        expect(hm.verify(parts, bad)).toBe(false);
        // A MAC of the wrong length never verifies (not even as a prefix).
        expect(hm.verify(parts, want.subarray(0, want.length - 1))).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  test('the key is taken at construction: changing the caller\'s array afterwards changes nothing', () => {
    for (const id of ids) {
      const key = bytes(32, 3);
      const hm = new PreparedHmac(TRANSFORMS.get(id)!, key);
      const want = reference(id, bytes(32, 3), [bytes(50, 1)]);
      key.fill(0);
      expect(hm.mac([bytes(50, 1)])).toEqual(want);
    }
  });

  test('RFC 4231 test case 2 (HMAC-SHA-256, truncated to 128 bits for AUTH_HMAC_SHA2_256_128)', () => {
    const hm = new PreparedHmac(TRANSFORMS.get(12)!, new TextEncoder().encode('Jefe'));
    const mac = hm.mac([new TextEncoder().encode('what do ya want '), new TextEncoder().encode('for nothing?')]);
    expect(Buffer.from(mac).toString('hex')).toBe('5bdcc146bf60754e6a042426089575c7');
  });

  test('constantTimeEqual', () => {
    expect(constantTimeEqual(bytes(16, 1), bytes(16, 1))).toBe(true);
    expect(constantTimeEqual(bytes(16, 1), bytes(15, 1))).toBe(false);
    const b = bytes(16, 1);
    b[15] ^= 0x80;
    expect(constantTimeEqual(bytes(16, 1), b)).toBe(false);
  });
});
