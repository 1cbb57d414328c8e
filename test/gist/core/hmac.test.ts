import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { HmacSha256 } from '../../../gist/core/hmac-sha256';

describe('HmacSha256 (gist/core/hmac-sha256.ts) against node:crypto', () => {
  it('RFC 4231 test case 2 ("Jefe")', () => {
    const h = new HmacSha256(new Uint8Array(Buffer.from('Jefe')));
    const out = h.mac(new Uint8Array(Buffer.from('what do ya want for nothing?')));
    expect(Buffer.from(out).toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('every message length 0..200 around the block and padding boundaries, short and long keys', () => {
    for (const keyLen of [0, 1, 32, 63, 64, 65, 131]) {
      const key = Uint8Array.from({ length: keyLen }, (_, i) => (i * 31 + keyLen) & 0xff);
      const h = new HmacSha256(key);
      for (let n = 0; n <= 200; n++) {
        const msg = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
        const want = createHmac('sha256', key).update(msg).digest('hex');
        expect(Buffer.from(h.mac(msg)).toString('hex')).toBe(want);
      }
    }
  });

  it('macInto writes a truncated MAC of a prefix at an offset, and the instance is reusable', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.uint8Array({ maxLength: 300 }), fc.nat(300), (key, data, cut) => {
        const h = new HmacSha256(key);
        const len = Math.min(cut, data.length);
        const out = new Uint8Array(24).fill(0xee);
        h.macInto(data, len, out, 4, 16);
        h.macInto(data, len, out, 4, 16); // again: no state carried over
        const want = createHmac('sha256', key).update(data.subarray(0, len)).digest();
        expect(Buffer.from(out.subarray(4, 20)).equals(want.subarray(0, 16))).toBe(true);
        expect(out[3]).toBe(0xee);
        expect(out[20]).toBe(0xee);
      }),
      { numRuns: 300 },
    );
  });
});
