import fc from 'fast-check';
import { ByteReader, ByteWriter, fromHex, toHex } from '../../common/bytes';

describe('ByteWriter / ByteReader', () => {
  it('round-trips big-endian fields and pads to 32 bits', () => {
    const w = new ByteWriter(2);
    w.u8(0xab).u16(0x1234).u32(0xdeadbeef).bytes(new Uint8Array([1, 2, 3])).pad4();
    const b = w.finish();
    expect(toHex(b)).toBe('ab1234deadbeef0102030000');
    expect(b.length).toBe(12);
    const r = new ByteReader(b);
    expect(r.u8()).toBe(0xab);
    expect(r.u16()).toBe(0x1234);
    expect(r.u32()).toBe(0xdeadbeef);
    expect(Array.from(r.bytes(3))).toEqual([1, 2, 3]);
    expect(r.remaining).toBe(2);
    expect(r.has(3)).toBe(false);
  });

  it('parses hex leniently and rejects non-hex', () => {
    expect(fromHex('01 02:0a')).toEqual(new Uint8Array([1, 2, 10]));
    expect(fromHex('0g')).toBeUndefined();
    expect(fromHex('012')).toBeUndefined();
  });
});

describe('toHex', () => {
  it("equals Buffer's hex for any bytes and length, views into larger buffers included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.nat(8), (b, off) => {
        const ref = (x: Uint8Array): string => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
        expect(toHex(b)).toBe(ref(b));
        const view = b.subarray(Math.min(off, b.length));
        expect(toHex(view)).toBe(ref(view));
      }),
      { numRuns: 500 },
    );
    expect(toHex(new Uint8Array(16).fill(0xff))).toBe('f'.repeat(32));
    expect(toHex(Uint8Array.from([0, 1, 0x0a, 0xa0]))).toBe('00010aa0');
    expect(toHex(new Uint8Array(0))).toBe('');
  });
});
