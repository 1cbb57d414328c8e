import fc from 'fast-check';
import { canonicalIp, formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../../../natfw-nslp/codec/address';
import { isIPv4 } from 'node:net';

describe('address text', () => {
  it('IPv4: round trip, and rejects what is not a dotted quad', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => expect(parseIpv4(formatIpv4(b))).toEqual(b)));
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '1.2.3.-4', '1.2.3.4/24'])
      expect([bad, parseIpv4(bad)]).toEqual([bad, undefined]);
    fc.assert(fc.property(fc.string({ maxLength: 16, unit: fc.constantFrom('0', '1', '2', '5', '9', '.', 'x') }), (s) => expect(parseIpv4(s) !== undefined).toBe(isIPv4(s))));
  });
  it('IPv6: RFC 5952 text round trip', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => expect(parseIpv6(formatIpv6(b))).toEqual(b)));
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('::ffff:198.18.0.1')).toBe('::ffff:198.18.0.1');
    expect(canonicalIp('::ffff:c612:1')).toBe('::ffff:198.18.0.1');
    expect(canonicalIp('::c612:1')).toBe('::198.18.0.1');
    expect(canonicalIp('::1')).toBe('::1');
    expect(canonicalIp('::')).toBe('::');
    expect(parseIpv6('1::2::3')).toBeUndefined();
    expect(parseIpv6('1:2:3:4:5:6:7:8:9')).toBeUndefined();
  });
});
