import fc from 'fast-check';
import { writeIpv6 } from '../../../gist/codec/addresses';
import { canonicalAddress, ipVersionOf } from '../../../gist/driver/ip-address';
import { ipv4UdpChecksumsValid, ipv6UdpChecksumValid, parseUdpPacket, withUdpPayload } from '../../../gist/driver/ip-packet';
import { ipv4RouterAlertOption, ipv6HopByHopRouterAlert } from '../../../gist/driver/router-alert';

/** An IPv4/UDP packet with the Router Alert option, built field by field. */
function ipv4Packet(payload: Uint8Array, rao: number | undefined, ttl = 64): Uint8Array {
  const opt = rao === undefined ? new Uint8Array(0) : ipv4RouterAlertOption(rao);
  const ihl = 20 + opt.length;
  const total = ihl + 8 + payload.length;
  const p = new Uint8Array(total);
  p[0] = 0x40 | (ihl / 4);
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[6] = 0x40; // DF
  p[8] = ttl;
  p[9] = 17;
  p.set([198, 18, 1, 1], 12);
  p.set([198, 18, 2, 2], 16);
  p.set(opt, 20);
  p[ihl] = 0x01; // sport 270
  p[ihl + 1] = 0x0e;
  p[ihl + 2] = 0x01; // dport 270
  p[ihl + 3] = 0x0e;
  p[ihl + 4] = (8 + payload.length) >> 8;
  p[ihl + 5] = (8 + payload.length) & 0xff;
  p.set(payload, ihl + 8);
  return p;
}

function ipv6Packet(payload: Uint8Array, rao: number): Uint8Array {
  const hbh = ipv6HopByHopRouterAlert(rao);
  hbh[0] = 17; // next header UDP
  const plen = hbh.length + 8 + payload.length;
  const p = new Uint8Array(40 + plen);
  p[0] = 0x60;
  p[4] = plen >> 8;
  p[5] = plen & 0xff;
  p[6] = 0; // Hop-by-Hop
  p[7] = 64;
  writeIpv6('2001:db8:1::1', p, 8);
  writeIpv6('2001:db8:2::2', p, 24);
  p.set(hbh, 40);
  const u = 40 + hbh.length;
  p[u + 2] = 0x01;
  p[u + 3] = 0x0e;
  p[u + 4] = (8 + payload.length) >> 8;
  p[u + 5] = (8 + payload.length) & 0xff;
  p.set(payload, u + 8);
  return p;
}

const MAGIC_QUERY = new Uint8Array([0x4e, 0x04, 0xbd, 0xa5, 1, 64, 0, 0, 0, 33, 0, 0x40]);

describe('addresses', () => {
  it('canonical text follows RFC 5952 and maps IPv4-mapped IPv6 to IPv4', () => {
    expect(canonicalAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalAddress('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1'); // first of equal runs
    expect(canonicalAddress('::ffff:198.18.1.1')).toBe('198.18.1.1');
    expect(canonicalAddress('198.18.1.1')).toBe('198.18.1.1');
    expect(canonicalAddress('2001:db8::1:0')).toBe('2001:db8::1:0');
    expect(canonicalAddress('nonsense')).toBeUndefined();
    expect(canonicalAddress('198.18.300.1')).toBeUndefined();
    expect(canonicalAddress('::1.2.3.4')).toBe('::1.2.3.4'); // IPv4-compatible is not IPv4-mapped
  });

  it('tells the IP version of a literal', () => {
    expect(ipVersionOf('198.18.0.1')).toBe(4);
    expect(ipVersionOf('2001:db8::1')).toBe(6);
    expect(ipVersionOf('01.2.3.4')).toBeUndefined();
    expect(ipVersionOf('fe80::1%eth0')).toBe(6); // scoped: fine for binding a socket
    expect(ipVersionOf('example.org')).toBeUndefined();
  });
});

describe('Router Alert option bytes', () => {
  it('IPv4: RFC 2113 type 148, length 4, value', () => {
    expect(Array.from(ipv4RouterAlertOption(65))).toEqual([0x94, 0x04, 0x00, 0x41]);
    expect(Array.from(ipv4RouterAlertOption(0))).toEqual([0x94, 0x04, 0x00, 0x00]);
  });
  it('IPv6: a whole 8-octet Hop-by-Hop header, RAO type 5 length 2, PadN', () => {
    expect(Array.from(ipv6HopByHopRouterAlert(68))).toEqual([0, 0, 5, 2, 0, 68, 1, 0]);
  });
});

describe('parsing intercepted packets', () => {
  it('IPv4 with RAO: addresses, TTL, RAO value, ports, payload', () => {
    const p = parseUdpPacket(ipv4Packet(MAGIC_QUERY, 65, 17));
    expect(p).toMatchObject({ ipVersion: 4, source: '198.18.1.1', destination: '198.18.2.2', ttl: 17, rao: 65, sourcePort: 270, destinationPort: 270 });
    expect(Array.from(p!.payload)).toEqual(Array.from(MAGIC_QUERY));
  });
  it('IPv4 without options has no RAO; fragments and non-UDP are not candidates', () => {
    expect(parseUdpPacket(ipv4Packet(MAGIC_QUERY, undefined))?.rao).toBeUndefined();
    const frag = ipv4Packet(MAGIC_QUERY, 65);
    frag[6] = 0x20; // MF
    expect(parseUdpPacket(frag)).toBeUndefined();
    const tcp = ipv4Packet(MAGIC_QUERY, 65);
    tcp[9] = 6;
    expect(parseUdpPacket(tcp)).toBeUndefined();
  });
  it('IPv6 with a Hop-by-Hop RAO', () => {
    const p = parseUdpPacket(ipv6Packet(MAGIC_QUERY, 68));
    expect(p).toMatchObject({ ipVersion: 6, source: '2001:db8:1::1', destination: '2001:db8:2::2', ttl: 64, rao: 68, destinationPort: 270 });
  });
  it('never throws and never reads past the end on random or truncated input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (junk, v6) => {
        const base = v6 ? ipv6Packet(MAGIC_QUERY, 68) : ipv4Packet(MAGIC_QUERY, 65);
        const mixed = new Uint8Array([...base.slice(0, junk.length % base.length), ...junk]);
        const r = parseUdpPacket(mixed);
        if (r !== undefined) expect(r.udpOffset + 8 + r.payload.length).toBeLessThanOrEqual(mixed.length);
        parseUdpPacket(junk);
      }),
    );
  });
});

describe('rewriting a passed-on packet', () => {
  it('IPv4: new payload, TTL-1, valid IP and UDP checksums, option kept', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 300 }), fc.integer({ min: 2, max: 255 }), (payload, ttl) => {
        const orig = ipv4Packet(MAGIC_QUERY, 65, ttl);
        const parsed = parseUdpPacket(orig)!;
        const out = withUdpPayload(orig, parsed, payload, true)!;
        expect(ipv4UdpChecksumsValid(out)).toBe(true);
        const again = parseUdpPacket(out)!;
        expect(again).toMatchObject({ ttl: ttl - 1, rao: 65, source: '198.18.1.1', destination: '198.18.2.2' });
        expect(Array.from(again.payload)).toEqual(Array.from(payload));
        // A changed byte must break the checksum (the check can fail).
        const bad = out.slice();
        bad[bad.length - 1] ^= 0x01;
        expect(ipv4UdpChecksumsValid(bad)).toBe(false);
      }),
    );
  });
  it('IPv6: new payload, valid UDP checksum over the pseudo header', () => {
    const orig = ipv6Packet(MAGIC_QUERY, 68);
    const out = withUdpPayload(orig, parseUdpPacket(orig)!, new Uint8Array([...MAGIC_QUERY, 1, 2, 3, 4]), true)!;
    expect(ipv6UdpChecksumValid(out)).toBe(true);
    expect(parseUdpPacket(out)).toMatchObject({ ttl: 63, rao: 68 });
    out[out.length - 1] ^= 0xff;
    expect(ipv6UdpChecksumValid(out)).toBe(false);
  });
  it('refuses to forward a packet whose TTL is spent', () => {
    const orig = ipv4Packet(MAGIC_QUERY, 65, 1);
    expect(withUdpPayload(orig, parseUdpPacket(orig)!, MAGIC_QUERY, true)).toBeUndefined();
  });
});
