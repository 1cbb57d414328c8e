import { decodePacket, LINKTYPE_RAW } from '../../gist/capture';
import { ipv4Udp, ipv6Udp, V4A, V4B, V6A, V6B } from './builders';

function decode(bytes: Uint8Array) {
  const r = decodePacket(LINKTYPE_RAW, bytes);
  if (!r.ok) throw new Error(`${r.error.code} at ${r.error.offset}: ${r.error.message}`);
  if (r.value.kind !== 'ip') throw new Error('not IP');
  return r.value;
}

describe('IPv4', () => {
  it('reports the Router Alert option (RFC 2113, type 148) and its value among other options', () => {
    // NOP, Router Alert value 65, EOL padding
    const p = decode(ipv4Udp(V4A, V4B, 1, 270, [9], [1, 148, 4, 0, 65, 0, 0, 0]));
    expect(p.ip.routerAlert).toBe(65);
    expect(p.ip.options).toEqual([148]);
    expect(p.transport.kind === 'udp' && [...p.transport.udp.payload]).toEqual([9]);
  });

  it('has no routerAlert without the option', () => {
    expect(decode(ipv4Udp(V4A, V4B, 1, 270, [9])).ip.routerAlert).toBeUndefined();
  });

  it('rejects a Router Alert option of the wrong length and options overrunning the header, with offsets', () => {
    const bad = decodePacket(LINKTYPE_RAW, ipv4Udp(V4A, V4B, 1, 270, [9], [148, 3, 0, 0]));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatchObject({ code: 'IP_BAD_OPTION', offset: 21 });
    const over = decodePacket(LINKTYPE_RAW, ipv4Udp(V4A, V4B, 1, 270, [9], [7, 40, 0, 0]));
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.error).toMatchObject({ code: 'IP_BAD_OPTION', offset: 21 });
  });

  it('marks fragments and does not decode their transport', () => {
    const b = ipv4Udp(V4A, V4B, 1, 270, [9]);
    b[6] = 0x20; // MF
    const p = decode(b);
    expect(p.transport.kind).toBe('fragment');
    expect(p.ip.fragment).toEqual({ id: 1, offset: 0, moreFragments: true });
  });

  it('marks a packet cut by the snap length as truncated but still decodes the UDP header', () => {
    const b = ipv4Udp(V4A, V4B, 1, 270, [1, 2, 3, 4, 5, 6]);
    const p = decode(b.subarray(0, b.length - 4));
    expect(p.ip.truncated).toBe(true);
    expect(p.transport.kind === 'udp' && p.transport.udp.truncated).toBe(true);
  });

  it('rejects a total length below the header and a UDP length beyond the packet', () => {
    const b = ipv4Udp(V4A, V4B, 1, 270, [9]);
    b[2] = 0;
    b[3] = 10;
    const r = decodePacket(LINKTYPE_RAW, b);
    expect(!r.ok && r.error).toMatchObject({ code: 'IP_BAD_TOTAL_LENGTH', offset: 2 });
    const u = ipv4Udp(V4A, V4B, 1, 270, [9]);
    u[25] = 50;
    const r2 = decodePacket(LINKTYPE_RAW, u);
    expect(!r2.ok && r2.error).toMatchObject({ code: 'UDP_BAD_LENGTH', offset: 24 });
  });
});

describe('IPv6', () => {
  // Hop-by-Hop (next: UDP, length 0): Router Alert (type 5, length 2, value 68), PadN(0)
  const hbhRa = [17, 0, 5, 2, 0, 68, 1, 0];

  it('reports the Hop-by-Hop Router Alert (RFC 2711) and its value', () => {
    const p = decode(ipv6Udp(V6A, V6B, 1, 270, [9], 0, hbhRa));
    expect(p.ip.routerAlert).toBe(68);
    expect(p.ip.options).toEqual([0]);
    expect(p.ip.protocol).toBe(17);
    expect(p.transport.kind === 'udp' && p.transport.udp.dstPort).toBe(270);
  });

  it('walks a chain of extension headers to UDP', () => {
    // HbH (Pad1 x6) -> Destination Options (PadN 4 + Pad1 x2) -> Routing (type 0 segs 0, 8 bytes) -> UDP
    const ext = [60, 0, 0, 0, 0, 0, 0, 0, 43, 0, 1, 2, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0];
    const p = decode(ipv6Udp(V6A, V6B, 1, 270, [9], 0, ext));
    expect(p.ip.options).toEqual([0, 60, 43]);
    expect(p.ip.routerAlert).toBeUndefined();
    expect(p.transport.kind === 'udp' && [...p.transport.udp.payload]).toEqual([9]);
  });

  it('marks a real fragment, and treats an atomic fragment as a whole packet', () => {
    const frag = [17, 0, 0, 1, 0, 0, 0, 7]; // offset 0, M=1
    const p = decode(ipv6Udp(V6A, V6B, 1, 270, [9], 44, frag));
    expect(p.transport.kind).toBe('fragment');
    const atomic = [17, 0, 0, 0, 0, 0, 0, 7];
    expect(decode(ipv6Udp(V6A, V6B, 1, 270, [9], 44, atomic)).transport.kind).toBe('udp');
  });

  it('rejects a Hop-by-Hop header that is not first and a Router Alert of the wrong length', () => {
    const notFirst = [0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0];
    const r = decodePacket(LINKTYPE_RAW, ipv6Udp(V6A, V6B, 1, 270, [9], 60, notFirst));
    expect(!r.ok && r.error).toMatchObject({ code: 'IP_BAD_OPTION', offset: 48 });
    const badRa = [17, 0, 5, 3, 0, 68, 0, 0];
    const r2 = decodePacket(LINKTYPE_RAW, ipv6Udp(V6A, V6B, 1, 270, [9], 0, badRa));
    expect(!r2.ok && r2.error).toMatchObject({ code: 'IP_BAD_OPTION', offset: 43 });
  });

  it('stops an endless chain of extension headers', () => {
    const ext: number[] = [];
    for (let i = 0; i < 40; i++) ext.push(60, 0, 1, 4, 0, 0, 0, 0);
    const r = decodePacket(LINKTYPE_RAW, ipv6Udp(V6A, V6B, 1, 270, [9], 60, ext));
    expect(!r.ok && r.error.code).toBe('IP_TOO_MANY_EXTENSION_HEADERS');
  });
});
