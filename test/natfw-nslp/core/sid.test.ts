/** sidKey (natfw-nslp/core/sid.ts) is gist/types.ts sessionIdKey, made another way. */
import fc from 'fast-check';
import { sessionIdKey } from '../../../gist/types';
import { sidKey } from '../../../natfw-nslp/core/sid';

test('sidKey equals sessionIdKey for any bytes, views into larger buffers included', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.nat(8), (b, off) => {
      expect(sidKey(b)).toBe(sessionIdKey(b));
      const big = new Uint8Array(b.length + off + 3);
      big.set(b, off);
      const view = big.subarray(off, off + b.length);
      expect(sidKey(view)).toBe(sessionIdKey(view));
    }),
    { numRuns: 500 },
  );
  expect(sidKey(new Uint8Array(16).fill(0xff))).toBe('f'.repeat(32));
  expect(sidKey(Uint8Array.from([0, 1, 0x0a, 0xa0]))).toBe('00010aa0');
});
