import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  decodePacket,
  internetChecksum,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  PcapWriter,
  readCapture,
  synthesizeTcpSegment,
  synthesizeUdp,
  TcpConversation,
  TcpReassembler,
  verifyTransportChecksum,
  type DecodedPacket,
} from '../../gist/capture';

const payload = Uint8Array.of(0x4e, 0x04, 0xbd, 0xa5, 1, 0, 0, 0);

function ip(p: Uint8Array): Extract<DecodedPacket, { kind: 'ip' }> {
  const r = decodePacket(LINKTYPE_RAW, p);
  if (!r.ok || r.value.kind !== 'ip') throw new Error('not decodable');
  return r.value;
}

describe('packet synthesis', () => {
  it('writes IPv4 UDP with the Router Alert option and valid checksums', () => {
    const p = synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 40000, dstPort: 270, payload, routerAlert: 65 });
    expect([...p.subarray(20, 24)]).toEqual([148, 4, 0, 65]); // RFC 2113 s2.1
    expect(p[0]).toBe(0x46);
    expect(internetChecksum(p, 0, 24)).toBe(0);
    const d = ip(p);
    expect(d.ip.routerAlert).toBe(65);
    expect(verifyTransportChecksum(d.ip.srcBytes, d.ip.dstBytes, 17, p.subarray(24))).toBe(true);
    expect(d.transport.kind === 'udp' && [...d.transport.udp.payload]).toEqual([...payload]);
  });

  it('writes IPv6 UDP with a Hop-by-Hop Router Alert and a valid checksum', () => {
    const p = synthesizeUdp({ src: '2001:db8::1', dst: '2001:db8::2', srcPort: 1, dstPort: 270, payload, routerAlert: 68 });
    expect(p[6]).toBe(0); // next header: Hop-by-Hop
    expect([...p.subarray(40, 48)]).toEqual([17, 0, 5, 2, 0, 68, 1, 0]); // RFC 2711 s2.1 + PadN
    const d = ip(p);
    expect(d.ip.routerAlert).toBe(68);
    expect(verifyTransportChecksum(d.ip.srcBytes, d.ip.dstBytes, 17, p.subarray(48))).toBe(true);
  });

  it('writes TCP segments whose checksums verify', () => {
    for (const [src, dst] of [['198.18.0.1', '198.18.0.2'], ['2001:db8::1', '2001:db8::2']]) {
      const p = synthesizeTcpSegment({ src, dst, srcPort: 1, dstPort: 2, seq: 0xfffffff0, ack: 7, flags: { ack: true, psh: true }, payload: Uint8Array.of(1, 2, 3) });
      const d = ip(p);
      expect(d.transport.kind === 'tcp' && d.transport.tcp).toMatchObject({ seq: 0xfffffff0, ack: 7, flags: { ack: true, psh: true, syn: false } });
      expect(verifyTransportChecksum(d.ip.srcBytes, d.ip.dstBytes, 6, p.subarray(d.ip.payloadOffset))).toBe(true);
    }
  });

  it('refuses bad addresses and mixed families (caller bugs)', () => {
    expect(() => synthesizeUdp({ src: '198.18.0.1', dst: '2001:db8::1', srcPort: 1, dstPort: 2, payload })).toThrow(/mixed/);
    expect(() => synthesizeUdp({ src: 'x', dst: '198.18.0.1', srcPort: 1, dstPort: 2, payload })).toThrow(/not an IP address/);
    expect(() => synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 70000, dstPort: 2, payload })).toThrow(/port/);
  });

  it('advances seq and ack across a conversation so reassembly recovers both streams', () => {
    const c = new TcpConversation({ address: '198.18.0.1', port: 40001 }, { address: '198.18.0.2', port: 5000 }, { mss: 100 });
    const up = Uint8Array.from({ length: 350 }, (_, i) => i & 0xff);
    const down = Uint8Array.of(9, 8, 7);
    const pkts = [...c.handshake(), ...c.send('client', up), ...c.send('server', down), ...c.close()];
    const rs = { c: new TcpReassembler(), s: new TcpReassembler() };
    const got = { c: [] as number[], s: [] as number[] };
    let lastAck = 0;
    for (const p of pkts) {
      const d = ip(p);
      if (d.transport.kind !== 'tcp') throw new Error('not tcp');
      const t = d.transport.tcp;
      const side = t.srcPort === 40001 ? 'c' : 's';
      if (side === 'c' && t.flags.ack) lastAck = t.ack;
      for (const e of rs[side].push({ seq: t.seq, syn: t.flags.syn, payload: t.payload })) if (e.kind === 'data') got[side].push(...e.bytes);
    }
    expect(got.c).toEqual([...up]);
    expect(got.s).toEqual([...down]);
    expect(lastAck).toBe((0x2000 + 1 + 3 + 1) >>> 0); // server ISN + SYN + 3 bytes + FIN
    expect(pkts.length).toBe(3 + (4 + 1) + (1 + 1) + 3); // handshake, 4 segments + ACK, 1 + ACK, close
  });
});

describe('PcapWriter', () => {
  it('writes files the reader reads back, raw and Ethernet, micro and nano', () => {
    for (const linkType of ['raw', 'ethernet'] as const) {
      for (const nanosecond of [false, true]) {
        const w = new PcapWriter({ linkType, nanosecond });
        const p1 = synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 1, dstPort: 270, payload });
        const p2 = synthesizeUdp({ src: '2001:db8::1', dst: '2001:db8::2', srcPort: 1, dstPort: 270, payload });
        w.add({ sec: 1700000000, nsec: 123456789 }, p1);
        w.addMs(1700000000500.25, p2);
        const r = readCapture(w.finish());
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.error).toBeUndefined();
        expect(r.value.frames.map((f) => f.linkType)).toEqual(linkType === 'raw' ? [LINKTYPE_RAW, LINKTYPE_RAW] : [LINKTYPE_ETHERNET, LINKTYPE_ETHERNET]);
        expect(r.value.frames[0].timestamp).toEqual({ sec: 1700000000, nsec: nanosecond ? 123456789 : 123456000 });
        expect(r.value.frames[1].timestamp).toEqual({ sec: 1700000000, nsec: nanosecond ? 500250000 : 500250000 });
        const d = decodePacket(r.value.frames[1].linkType, r.value.frames[1].data);
        expect(d.ok && d.value.kind === 'ip' && d.value.ip.src).toBe('2001:db8::1');
        expect(w.packetCount).toBe(2);
      }
    }
  });

  it('refuses timestamps pcap cannot hold', () => {
    const w = new PcapWriter();
    expect(() => w.add({ sec: -1, nsec: 0 }, payload)).toThrow(/timestamp/);
    expect(() => w.add({ sec: 1, nsec: 1e9 }, payload)).toThrow(/timestamp/);
  });
});

const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
const describeTshark = tshark ? describe : describe.skip;
if (!tshark) console.log('SKIP tshark checks: tshark is not installed');

describeTshark('tshark opens what PcapWriter writes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'natfw-capture-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const linkType of ['raw', 'ethernet'] as const) {
    it(`sees IP option 148 / Hop-by-Hop option 5 with their values and good checksums (${linkType})`, () => {
      const w = new PcapWriter({ linkType });
      w.addMs(1700000000000, synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 40000, dstPort: 270, payload, routerAlert: 65 }));
      w.addMs(1700000000001, synthesizeUdp({ src: '2001:db8::1', dst: '2001:db8::2', srcPort: 40000, dstPort: 270, payload, routerAlert: 68 }));
      const c = new TcpConversation({ address: '198.18.0.1', port: 40001 }, { address: '198.18.0.2', port: 5000 });
      let t = 1700000000002;
      for (const p of [...c.handshake(), ...c.send('client', new Uint8Array(3000).fill(7)), ...c.close()]) w.addMs(t++, p);
      const file = join(dir, `w-${linkType}.pcap`);
      writeFileSync(file, w.finish());
      const out = execFileSync(
        'tshark',
        ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
          '-T', 'fields', '-E', 'separator=|', '-e', 'frame.number', '-e', 'ip.opt.type', '-e', 'ip.opt.ra',
          '-e', 'ipv6.opt.router_alert', '-e', 'ip.checksum.status', '-e', 'udp.checksum.status', '-e', 'tcp.checksum.status',
          '-e', 'tcp.analysis.flags', '-e', 'frame.time_epoch'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20000 },
      );
      const rows = out.trim().split('\n').map((l) => l.split('|'));
      expect(rows).toHaveLength(2 + 3 + 4 + 3);
      expect(rows[0].slice(1, 6)).toEqual(['148', '65', '', '1', '1']); // IP option 148 (router alert), value 65
      expect(rows[0][8]).toBe('1700000000.000000000');
      expect(rows[1][3]).toBe('68');
      expect(rows[1][5]).toBe('1');
      for (const r of rows.slice(2)) {
        expect(r[4]).toBe('1'); // IPv4 header checksum good
        expect(r[6]).toBe('1'); // TCP checksum good
        expect(r[7]).toBe(''); // no TCP analysis warnings (retransmission, out of order, lost segment)
      }
    });
  }
});
