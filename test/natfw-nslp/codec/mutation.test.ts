/**
 * Mutation test: valid messages truncated, extended, bit-flipped, with object
 * lengths lied about, and random bytes. Decoding must return a message or a
 * NatfwDecodeError, never throw, and finish. Bounded in count (and by jest's timeout).
 */
import fc from 'fast-check';
import { decodeNatfwMessage, encodeNatfwMessage, NatfwDecodeError, type NatfwMessage } from '../../../natfw-nslp/codec';
import * as A from './arbitraries';

function check(bytes: Uint8Array): void {
  let r: ReturnType<typeof decodeNatfwMessage>;
  try {
    r = decodeNatfwMessage(bytes);
  } catch (e) {
    throw new Error(`decoder threw on ${Buffer.from(bytes).toString('hex')}: ${String(e)}`);
  }
  if (!r.ok) {
    expect(r.error).toBeInstanceOf(NatfwDecodeError);
    expect(r.error.offset).toBeGreaterThanOrEqual(0);
    expect(r.error.offset).toBeLessThanOrEqual(bytes.length);
    expect([3, 5, 7]).toContain(r.error.responseClass);
  } else {
    // Whatever decodes must encode again.
    expect(() => encodeNatfwMessage(r.value)).not.toThrow();
  }
}

type Mutation = (b: Uint8Array, m: NatfwMessage) => Uint8Array;

/** Object header offsets of a well-formed message (walking the lengths). */
function objectOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 4; at + 4 <= b.length && out.length < 1000; ) {
    out.push(at);
    at += 4 + (((b[at + 2] << 8) | b[at + 3]) & 0xfff) * 4;
  }
  return out;
}

describe('NATFW decoder mutation test', () => {
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.nat().map((n) => (b: Uint8Array) => b.slice(0, n % (b.length + 1))),
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra) => (b: Uint8Array) => Uint8Array.from([...b, ...extra])),
    fc.array(fc.nat(), { minLength: 1, maxLength: 4 }).map((bits) => (b: Uint8Array) => {
      const c = b.slice();
      for (const bit of bits) c[Math.floor(bit / 8) % c.length] ^= 1 << bit % 8;
      return c;
    }),
    fc.tuple(fc.nat(), fc.nat({ max: 0xfff })).map(([which, len]) => (b: Uint8Array) => {
      const c = b.slice();
      const offs = objectOffsets(c);
      if (offs.length === 0) return c;
      const at = offs[which % offs.length];
      c[at + 2] = (c[at + 2] & 0xf0) | (len >> 8);
      c[at + 3] = len & 0xff;
      return c;
    }),
    fc.tuple(fc.nat(), fc.nat({ max: 0xffff })).map(([where, v]) => (b: Uint8Array) => {
      // lie in an attribute length of a SESSION_AUTH, or anywhere: overwrite 16 bits
      const c = b.slice();
      if (c.length < 2) return c;
      const at = (where % (c.length / 2)) * 2;
      c[at] = v >> 8;
      c[at + 1] = v & 0xff;
      return c;
    }),
  );

  it('never throws on mutated valid messages (5000 cases)', () => {
    fc.assert(
      fc.property(A.message, fc.array(mutation, { minLength: 1, maxLength: 3 }), (m, muts) => {
        let b = encodeNatfwMessage(m);
        for (const mu of muts) b = mu(b, m);
        check(b);
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on random bytes behind a valid header (3000 cases)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 200 }), (t, body) => {
        check(Uint8Array.from([t, 0, 0, 0, ...body]));
      }),
      { numRuns: 3000 },
    );
  });
});
