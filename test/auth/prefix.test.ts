/** The authorizer's IPv4 fast path (addresses as numbers) against the byte-wise comparison it replaces. */
import fc from 'fast-check';
import { parseIp, parseIpv4 } from '../../natfw-nslp/codec/address';
import { ipv4Number, prefixCovers } from '../../natfw-nslp/auth/verify';
import type { Prefix } from '../../enforcement/types';

/** The byte-wise reference: same family, inner at least as long, the first outer.length bits equal. */
function reference(outer: Prefix, inner: Prefix): boolean {
  const o = parseIp(outer.address);
  const i = parseIp(inner.address);
  if (o === undefined || i === undefined || o.version !== i.version) return false;
  if (inner.length < outer.length) return false;
  let bits = outer.length;
  for (let k = 0; bits > 0; k++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((o.bytes[k] & mask) !== (i.bytes[k] & mask)) return false;
  }
  return true;
}

const octet = fc.oneof(fc.constantFrom(0, 1, 127, 128, 198, 255), fc.nat({ max: 255 }));
const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const text = fc.oneof(v4, fc.constantFrom('198.18.0.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '256.1.1.1', '2001:db8::1', '::ffff:198.18.0.1', '', '1..2.3', ' 1.2.3.4'), fc.string({ maxLength: 16 }));
const prefix = fc.record({ address: text, length: fc.oneof(fc.integer({ min: 0, max: 32 }), fc.constantFrom(-1, 33, 64, 128)) });

describe('authorizer prefix coverage', () => {
  test('ipv4Number accepts exactly what parseIpv4 accepts, with the same value', () => {
    fc.assert(
      fc.property(text, (s) => {
        const b = parseIpv4(s);
        const n = ipv4Number(s);
        if (b === undefined) expect(n).toBe(-1);
        else expect(n).toBe(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0);
      }),
      { numRuns: 5000 },
    );
  });

  test('prefixCovers agrees with the byte-wise comparison', () => {
    fc.assert(
      fc.property(prefix, prefix, (o, i) => {
        expect(prefixCovers(o, i)).toBe(reference(o, i));
      }),
      { numRuns: 5000 },
    );
    // Near misses around the prefix boundary.
    expect(prefixCovers({ address: '198.18.0.0', length: 15 }, { address: '198.19.255.1', length: 32 })).toBe(true);
    expect(prefixCovers({ address: '198.18.0.0', length: 16 }, { address: '198.19.0.1', length: 32 })).toBe(false);
    expect(prefixCovers({ address: '198.18.0.128', length: 25 }, { address: '198.18.0.127', length: 32 })).toBe(false);
    expect(prefixCovers({ address: '198.18.0.7', length: 32 }, { address: '198.18.0.7', length: 32 })).toBe(true);
  });
});
