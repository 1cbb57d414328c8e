import fc from 'fast-check';
import { isIPv4, isIPv6 } from 'node:net';
import { formatIpv6, isIpv4Text, isIpv6Text, writeIpv4, writeIpv6 } from '../../../gist/codec/addresses';

function v6(s: string): Uint8Array | undefined {
  const b = new Uint8Array(16);
  return writeIpv6(s, b, 0) ? b : undefined;
}

describe('address text classification (the core avoids node:net)', () => {
  it('agrees with node:net on generated IPv4 and IPv6 addresses', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (a) => {
        expect(isIpv4Text(a)).toBe(isIPv4(a));
        expect(isIpv6Text(a)).toBe(isIPv6(a));
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects what is not an address', () => {
    for (const s of ['', '1.2.3', '1.2.3.256', '01.2.3.4', 'example.org', '1::2::3', '::g', '198.18.0.1/24']) {
      expect(isIpv4Text(s) || isIpv6Text(s)).toBe(false);
    }
  });
});

describe('address text <-> bytes (the one parser and formatter of natfw)', () => {
  it('formats IPv6 per RFC 5952 and parses it back', () => {
    expect(formatIpv6(new Uint8Array(16), 0)).toBe('::');
    expect(formatIpv6(v6('2001:db8:0:0:1:0:0:1')!, 0)).toBe('2001:db8::1:0:0:1'); // the first of equal runs
    expect(formatIpv6(v6('2001:0db8:0000:0001:0001:0001:0001:0001')!, 0)).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIpv6(v6('2001:DB8::1')!, 0)).toBe('2001:db8::1');
    expect(formatIpv6(v6('::ffff:198.18.0.1')!, 0)).toBe('::ffff:198.18.0.1');
    expect(v6('1::2::3')).toBeUndefined();
    expect(writeIpv4('198.18.0.256', new Uint8Array(4), 0)).toBe(false);
  });

  it('round-trips any IPv6 address and agrees with the WHATWG URL serializer except for dotted tails', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), (b, sparse) => {
        if (sparse) for (let i = 0; i < 16; i++) if (i % 3 !== 0) b[i] = 0;
        const text = formatIpv6(b, 0);
        expect([...v6(text)!]).toEqual([...b]);
        // inet_ntop (Node) keeps ::a.b.c.d and ::ffff:a.b.c.d dotted; the URL serializer never does.
        if (!text.includes('.')) expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
      }),
      { numRuns: 2000 },
    );
  });
});
