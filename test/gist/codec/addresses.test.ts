/** Address text: IPv6 formatting must equal Node's net (RFC 5952 as libuv prints it); parsing accepts every RFC 4291 form. */
import fc from 'fast-check';
import { formatIpv4, formatIpv6, writeIpv4, writeIpv6 } from '../../../gist/codec';
import { ipv6Bytes, nodeIpv6 } from './arbitraries';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));

describe('IPv6 text', () => {
  it('formats like Node for generated addresses (zero runs, mapped, compatible)', () => {
    fc.assert(
      fc.property(ipv6Bytes, fc.integer({ min: 0, max: 7 }), (b, shift) => {
        const buf = new Uint8Array(16 + shift);
        buf.set(b, shift);
        expect(formatIpv6(buf, shift)).toBe(nodeIpv6(b));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // first of two equal runs
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'], // longest run wins
    ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'], // no run
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000ffffc6120001', '::ffff:198.18.0.1'],
    ['000000000000000000000000c6120001', '::198.18.0.1'],
    ['20010DB8000000000000000000000000', '2001:db8::'],
    ['ABCD00000000000000000000000000EF', 'abcd::ef'],
  ])('%s -> %s', (h, text) => {
    expect(formatIpv6(hex(h), 0)).toBe(text);
    const back = new Uint8Array(16);
    expect(writeIpv6(text, back, 0)).toBe(true);
    expect(Buffer.from(back).toString('hex')).toBe(h.toLowerCase());
  });

  it('parses what it formats, and uncompressed/uppercase forms', () => {
    fc.assert(
      fc.property(ipv6Bytes, (b) => {
        const out = new Uint8Array(16);
        expect(writeIpv6(formatIpv6(b, 0), out, 0)).toBe(true);
        expect(out).toEqual(b);
        const full = Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16).toUpperCase()).join(':');
        const out2 = new Uint8Array(16);
        expect(writeIpv6(full, out2, 0)).toBe(true);
        expect(out2).toEqual(b);
      }),
      { numRuns: 500 },
    );
  });

  it.each(['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '12345::', '::1.2.3', '::256.1.1.1', '1:2:3:4:5:6:7::8:9', '198.18.0.1'])(
    'rejects %j',
    (s) => {
      expect(writeIpv6(s, new Uint8Array(16), 0)).toBe(false);
    },
  );
});

describe('IPv4 text', () => {
  it('round-trips dotted quads', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        const s = formatIpv4(b, 0);
        expect(s).toBe(Array.from(b).join('.'));
        const out = new Uint8Array(4);
        expect(writeIpv4(s, out, 0)).toBe(true);
        expect(out).toEqual(b);
      }),
    );
  });
  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1..2.3', 'a.b.c.d', '1.2.3.4 ', '::1'])('rejects %j', (s) => {
    expect(writeIpv4(s, new Uint8Array(4), 0)).toBe(false);
  });
});
