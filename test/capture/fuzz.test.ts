import fc from 'fast-check';
import {
  decodePacket,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_RAW,
  PcapWriter,
  readCapture,
  synthesizeTcpSegment,
  synthesizeUdp,
  TcpReassembler,
} from '../../gist/capture';
import { classicPcap, ethernet, ipv6Udp, PcapngBuilder, sll, sll2, V6A, V6B } from './builders';

const payload = Uint8Array.of(0x4e, 0x04, 0xbd, 0xa5, 1, 0, 0, 0, 0, 0, 0, 0);
const q4 = synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 40000, dstPort: 270, payload, routerAlert: 65 });
const q6 = synthesizeUdp({ src: '2001:db8::1', dst: '2001:db8::2', srcPort: 40000, dstPort: 270, payload, routerAlert: 68 });
const t4 = synthesizeTcpSegment({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 1, dstPort: 2, seq: 1, ack: 1, flags: { ack: true }, payload });
const ext6 = ipv6Udp(V6A, V6B, 1, 270, [1, 2], 0, [60, 0, 5, 2, 0, 68, 1, 0, 17, 0, 1, 4, 0, 0, 0, 0]);

function seeds(): Uint8Array[] {
  const w = new PcapWriter({ linkType: 'ethernet' });
  w.addMs(1, q4);
  w.addMs(2, q6);
  w.addMs(3, t4);
  const raw = new PcapWriter({ nanosecond: true });
  raw.addMs(1, ext6);
  raw.addMs(2, q4);
  return [
    w.finish(),
    raw.finish(),
    classicPcap({ le: false, nano: false, linkType: LINKTYPE_LINUX_SLL, records: [{ sec: 1, frac: 2, data: sll(0x0800, q4) }] }),
    new PcapngBuilder(true)
      .shb()
      .idb(LINKTYPE_ETHERNET, { tsresol: 9 })
      .idb(LINKTYPE_LINUX_SLL2)
      .epb(0, 5n, ethernet(0x86dd, q6, [7]))
      .epb(1, 6n, sll2(0x0800, t4))
      .spb(ethernet(0x0800, q4))
      .bytes(),
    new PcapngBuilder(false).shb().idb(LINKTYPE_RAW).epb(0, 1n, ext6).bytes(),
  ];
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
  // a 32-bit length field lied about, at any offset
  fc.record({ kind: fc.constant('lie' as const), at: fc.nat(), value: fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.nat()) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(b: Uint8Array, ms: Mutation[]): Uint8Array {
  let out = b.slice();
  for (const m of ms) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === 'flip') out[at] ^= 1 << m.bit;
    else if (m.kind === 'set') out[at] = m.value;
    else if (m.kind === 'truncate') out = out.slice(0, at);
    else if (m.kind === 'insert') out = new Uint8Array([...out.subarray(0, at), ...m.bytes, ...out.subarray(at)]);
    else if (at + 4 <= out.length) new DataView(out.buffer).setUint32(at, m.value >>> 0, at % 2 === 0);
  }
  return out;
}

/** Reads a capture and decodes every frame down to TCP reassembly; returns how many frames decoded. */
function decodeAll(bytes: Uint8Array): number {
  const r = readCapture(bytes);
  if (!r.ok) {
    expect(typeof r.error.offset).toBe('number');
    return 0;
  }
  let n = 0;
  const reasm = new TcpReassembler({ maxBufferedBytes: 4096 });
  for (const f of r.value.frames) {
    const d = decodePacket(f.linkType, f.data);
    if (d.ok) {
      n++;
      if (d.value.kind === 'ip' && d.value.transport.kind === 'tcp') {
        const t = d.value.transport.tcp;
        reasm.push({ seq: t.seq, syn: t.flags.syn, payload: t.payload });
      }
    } else {
      expect(d.error.offset).toBeGreaterThanOrEqual(0);
      expect(d.error.offset).toBeLessThanOrEqual(f.data.length);
    }
  }
  return n;
}

describe('capture decoding of mutated files', () => {
  const base = seeds();

  it('decodes every seed completely', () => {
    for (const b of base) {
      const r = readCapture(b);
      expect(r.ok && r.value.error).toBeUndefined();
      expect(decodeAll(b)).toBe(r.ok ? r.value.frames.length : -1);
    }
  });

  it('never throws and always ends on truncated, extended, bit-flipped and length-lying captures', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 6 }), (which, ms) => {
        decodeAll(mutate(base[which % base.length], ms));
      }),
      { numRuns: 6000 },
    );
  });

  it('never throws on random bytes behind a valid magic number', () => {
    const heads = [Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1), Uint8Array.of(0xa1, 0xb2, 0x3c, 0x4d), Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a)];
    fc.assert(
      fc.property(fc.nat(), fc.uint8Array({ maxLength: 400 }), (h, rest) => {
        decodeAll(new Uint8Array([...heads[h % heads.length], ...rest]));
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws when decoding arbitrary frames under every link type', () => {
    const lts = [0, 1, 101, 108, 113, 228, 229, 276];
    fc.assert(
      fc.property(fc.nat(), fc.uint8Array({ maxLength: 120 }), (lt, data) => {
        const r = decodePacket(lts[lt % lts.length], data);
        if (!r.ok) expect(r.error.code).toMatch(/^(LINK|IP|UDP|TCP)_/);
      }),
      { numRuns: 5000 },
    );
  });
});
