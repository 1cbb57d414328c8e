import {
  decodePacket,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  readCapture,
  type CaptureFile,
  type DecodedPacket,
} from '../../gist/capture';
import { classicPcap, ethernet, ipv4Udp, ipv6Udp, PcapngBuilder, sll, sll2, V4A, V4B, V6A, V6B } from './builders';

const payload = [0x4e, 0x04, 0xbd, 0xa5, 1, 2, 3, 4];
const v4 = ipv4Udp(V4A, V4B, 40000, 270, payload);
const v6 = ipv6Udp(V6A, V6B, 40001, 270, payload);

function read(bytes: Uint8Array): CaptureFile {
  const r = readCapture(bytes);
  if (!r.ok) throw new Error(`readCapture failed: ${r.error.message}`);
  return r.value;
}

function udpOf(linkType: number, data: Uint8Array): { src: string; dst: string; sport: number; dport: number; payload: number[] } {
  const r = decodePacket(linkType, data);
  if (!r.ok) throw new Error(r.error.message);
  const p: DecodedPacket = r.value;
  if (p.kind !== 'ip' || p.transport.kind !== 'udp') throw new Error(`not UDP: ${JSON.stringify(p)}`);
  const u = p.transport.udp;
  return { src: p.ip.src, dst: p.ip.dst, sport: u.srcPort, dport: u.dstPort, payload: [...u.payload] };
}

describe('classic pcap reader', () => {
  for (const le of [true, false]) {
    for (const nano of [true, false]) {
      it(`reads ${le ? 'little' : 'big'}-endian ${nano ? 'nanosecond' : 'microsecond'} files`, () => {
        const f = read(
          classicPcap({
            le,
            nano,
            linkType: LINKTYPE_RAW,
            records: [
              { sec: 1700000000, frac: nano ? 123456789 : 123456, data: v4 },
              { sec: 1700000001, frac: 7, data: v6 },
            ],
          }),
        );
        expect(f.format).toBe('pcap');
        expect(f.error).toBeUndefined();
        expect(f.frames).toHaveLength(2);
        expect(f.frames[0].number).toBe(1);
        expect(f.frames[0].timestamp).toEqual({ sec: 1700000000, nsec: nano ? 123456789 : 123456000 });
        expect(f.frames[1].timestamp).toEqual({ sec: 1700000001, nsec: nano ? 7 : 7000 });
        expect(udpOf(f.frames[0].linkType, f.frames[0].data)).toEqual({ src: '198.18.0.1', dst: '198.18.0.2', sport: 40000, dport: 270, payload });
        expect(udpOf(f.frames[1].linkType, f.frames[1].data)).toEqual({ src: '2001:db8::1', dst: '2001:db8::2', sport: 40001, dport: 270, payload });
      });
    }
  }

  it('keeps the frames before a truncated record and reports its offset', () => {
    const whole = classicPcap({ le: true, nano: false, linkType: LINKTYPE_RAW, records: [{ sec: 1, frac: 0, data: v4 }, { sec: 2, frac: 0, data: v4 }] });
    const cut = whole.subarray(0, whole.length - 3);
    const f = read(cut);
    expect(f.frames).toHaveLength(1);
    expect(f.error?.code).toBe('CAPTURE_TRUNCATED');
    expect(f.error?.offset).toBe(24 + 16 + v4.length + 16);
  });

  it('rejects a record length that is not plausible', () => {
    const b = classicPcap({ le: false, nano: false, linkType: LINKTYPE_RAW, records: [{ sec: 1, frac: 0, data: v4 }] });
    new DataView(b.buffer).setUint32(24 + 8, 0xfffffff0);
    const f = read(b);
    expect(f.frames).toHaveLength(0);
    expect(f.error).toMatchObject({ code: 'CAPTURE_BAD_RECORD', offset: 32 });
  });

  it('refuses what is not a capture and a header cut short', () => {
    const r = readCapture(new TextEncoder().encode('hello, this is not a capture file'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'CAPTURE_NOT_A_CAPTURE', offset: 0 });
    const short = readCapture(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1, 2, 0]));
    expect(short.ok).toBe(false);
    if (!short.ok) expect(short.error.code).toBe('CAPTURE_TRUNCATED');
    expect(readCapture(new Uint8Array(0)).ok).toBe(false);
  });
});

describe('link types', () => {
  const cases: Array<[string, number, Uint8Array, string]> = [
    ['Ethernet', LINKTYPE_ETHERNET, ethernet(0x0800, v4), '198.18.0.1'],
    ['Ethernet with 802.1Q VLAN', LINKTYPE_ETHERNET, ethernet(0x86dd, v6, [42]), '2001:db8::1'],
    ['Ethernet with stacked VLANs', LINKTYPE_ETHERNET, ethernet(0x0800, v4, [5, 6]), '198.18.0.1'],
    ['raw IP (101) v4', LINKTYPE_RAW, v4, '198.18.0.1'],
    ['raw IP (101) v6', LINKTYPE_RAW, v6, '2001:db8::1'],
    ['IPv4 (228)', LINKTYPE_IPV4, v4, '198.18.0.1'],
    ['IPv6 (229)', LINKTYPE_IPV6, v6, '2001:db8::1'],
    ['Linux SLL (113)', LINKTYPE_LINUX_SLL, sll(0x0800, v4), '198.18.0.1'],
    ['Linux SLL2 (276)', LINKTYPE_LINUX_SLL2, sll2(0x86dd, v6), '2001:db8::1'],
    ['BSD loopback (0)', LINKTYPE_NULL, new Uint8Array([2, 0, 0, 0, ...v4]), '198.18.0.1'],
  ];
  for (const [name, lt, frame, src] of cases) {
    it(`finds the UDP datagram in ${name}`, () => {
      const u = udpOf(lt, frame);
      expect(u.src).toBe(src);
      expect(u.dport).toBe(270);
      expect(u.payload).toEqual(payload);
    });
  }

  it('reports the VLAN ids', () => {
    const r = decodePacket(LINKTYPE_ETHERNET, ethernet(0x0800, v4, [100, 200]));
    expect(r.ok && r.value.kind === 'ip' && r.value.vlan).toEqual([100, 200]);
  });

  it('says "not IP" for ARP and fails typed on short headers and unknown link types', () => {
    const arp = decodePacket(LINKTYPE_ETHERNET, ethernet(0x0806, new Uint8Array(28)));
    expect(arp).toEqual({ ok: true, value: { kind: 'non-ip', what: 'ethertype 0x0806' } });
    const short = decodePacket(LINKTYPE_LINUX_SLL2, new Uint8Array(10));
    expect(short.ok).toBe(false);
    if (!short.ok) expect(short.error.code).toBe('LINK_TRUNCATED');
    const unknown = decodePacket(147, v4);
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.error.code).toBe('LINK_UNSUPPORTED');
    const mismatch = decodePacket(LINKTYPE_IPV6, v4);
    expect(mismatch.ok).toBe(false);
    if (!mismatch.ok) expect(mismatch.error).toMatchObject({ code: 'IP_BAD_VERSION', offset: 0 });
  });
});

describe('pcapng reader', () => {
  for (const le of [true, false]) {
    it(`reads ${le ? 'little' : 'big'}-endian sections with several interfaces, EPB and SPB`, () => {
      const b = new PcapngBuilder(le)
        .shb()
        .idb(LINKTYPE_ETHERNET) // default resolution: microseconds
        .idb(LINKTYPE_LINUX_SLL2, { tsresol: 9 }) // nanoseconds
        .block(0x00000bad, [1, 2, 3, 4]) // an unknown block is skipped
        .epb(0, 1700000000123456n, ethernet(0x0800, v4))
        .epb(1, 1700000001000000042n, sll2(0x86dd, v6))
        .spb(ethernet(0x0800, v4))
        .bytes();
      const f = read(b);
      expect(f.format).toBe('pcapng');
      expect(f.error).toBeUndefined();
      expect(f.frames.map((x) => [x.number, x.interfaceId, x.linkType])).toEqual([
        [1, 0, LINKTYPE_ETHERNET],
        [2, 1, LINKTYPE_LINUX_SLL2],
        [3, 0, LINKTYPE_ETHERNET],
      ]);
      expect(f.frames[0].timestamp).toEqual({ sec: 1700000000, nsec: 123456000 });
      expect(f.frames[1].timestamp).toEqual({ sec: 1700000001, nsec: 42 });
      expect(udpOf(f.frames[1].linkType, f.frames[1].data).src).toBe('2001:db8::1');
      expect(udpOf(f.frames[2].linkType, f.frames[2].data).payload).toEqual(payload);
    });
  }

  it('honours binary if_tsresol and if_tsoffset', () => {
    const b = new PcapngBuilder(true)
      .shb()
      .idb(LINKTYPE_RAW, { tsresol: 0x80 | 10, tsoffset: 1000 }) // 2^-10 s units, +1000 s
      .epb(0, 5n * 1024n + 512n, v4)
      .bytes();
    const f = read(b);
    expect(f.frames[0].timestamp).toEqual({ sec: 1005, nsec: 500000000 });
  });

  it('starts a new section with its own byte order and interfaces', () => {
    const first = new PcapngBuilder(true).shb().idb(LINKTYPE_RAW).epb(0, 1n, v4).bytes();
    const second = new PcapngBuilder(false).shb().idb(LINKTYPE_ETHERNET).epb(0, 2n, ethernet(0x86dd, v6)).bytes();
    const all = new Uint8Array([...first, ...second]);
    const f = read(all);
    expect(f.error).toBeUndefined();
    expect(f.frames.map((x) => x.linkType)).toEqual([LINKTYPE_RAW, LINKTYPE_ETHERNET]);
    expect(udpOf(f.frames[1].linkType, f.frames[1].data).src).toBe('2001:db8::1');
  });

  it('skips packets of undeclared interfaces and stops at a block whose lengths disagree', () => {
    const b = new PcapngBuilder(true).shb().idb(LINKTYPE_RAW).epb(3, 1n, v4).epb(0, 2n, v4).epb(0, 3n, v4).bytes();
    const bad = b.slice();
    // corrupt the trailing length of the last block
    new DataView(bad.buffer).setUint32(bad.length - 4, 999, true);
    const f = read(bad);
    expect(f.skipped.map((e) => e.code)).toEqual(['CAPTURE_UNKNOWN_INTERFACE']);
    expect(f.frames).toHaveLength(1);
    expect(f.error).toMatchObject({ code: 'CAPTURE_BAD_BLOCK', offset: bad.length - 4 });
  });

  it('rejects a block length below 12 or not a multiple of 4', () => {
    const b = new PcapngBuilder(true).shb().idb(LINKTYPE_RAW).bytes();
    const withBad = new Uint8Array([...b, 6, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0]);
    const f = read(withBad);
    expect(f.error).toMatchObject({ code: 'CAPTURE_BAD_BLOCK', offset: b.length + 4 });
  });
});
