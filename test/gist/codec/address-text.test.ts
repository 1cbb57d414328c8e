import fc from 'fast-check';
import { isIPv4, isIPv6 } from 'node:net';
import { isIpv4Text, isIpv6Text } from '../../../gist/codec/addresses';

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
