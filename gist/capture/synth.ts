/**
 * Synthesis of IPv4/IPv6 + UDP/TCP packets around a payload, with correct
 * checksums, for captures the project writes itself (the simulator's
 * `--pcap`, the bundled samples, tests). Q-mode Queries get the Router Alert
 * option: IPv4 option 148 (RFC 2113) or an IPv6 Hop-by-Hop option 5
 * (RFC 2711), as RFC 5971 s5.3.2 requires.
 * Bad arguments (an unparsable address, mixed families) are the caller's bug
 * and throw `UsageError`; nothing here reads untrusted bytes.
 */
import { UsageError } from '../../common/errors';
import { writeIpv4, writeIpv6 } from '../codec/addresses';
import { internetChecksum, transportChecksum } from './checksum';
import { IPPROTO_HOPOPTS, IPPROTO_TCP, IPPROTO_UDP, IPV4_OPT_ROUTER_ALERT, IPV6_OPT_ROUTER_ALERT } from './ip';

export interface IpSpec {
  readonly src: string;
  readonly dst: string;
  /** TTL / Hop Limit (default 64). */
  readonly ttl?: number;
  /** IPv4 Identification (default 0; DF is set, so it is not used for reassembly). */
  readonly id?: number;
  /** Router Alert value to carry (RFC 2113 / RFC 2711), e.g. 65 for NATFW over IPv4, 68 over IPv6. */
  readonly routerAlert?: number;
}

export interface UdpSpec extends IpSpec {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

export interface TcpSegmentSpec extends IpSpec {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: { readonly syn?: boolean; readonly ack?: boolean; readonly fin?: boolean; readonly rst?: boolean; readonly psh?: boolean };
  /** Default 65535. */
  readonly window?: number;
  readonly payload?: Uint8Array;
}

/** The 4 or 16 bytes of an address literal, or undefined. */
function parseIp(s: string): Uint8Array | undefined {
  const v4 = new Uint8Array(4);
  if (writeIpv4(s, v4, 0)) return v4;
  const v6 = new Uint8Array(16);
  return writeIpv6(s, v6, 0) ? v6 : undefined;
}

function addresses(spec: IpSpec): { src: Uint8Array; dst: Uint8Array } {
  const src = parseIp(spec.src);
  const dst = parseIp(spec.dst);
  if (!src) throw new UsageError('CAPTURE_BAD_ADDRESS', `not an IP address: '${spec.src}'`);
  if (!dst) throw new UsageError('CAPTURE_BAD_ADDRESS', `not an IP address: '${spec.dst}'`);
  if (src.length !== dst.length) throw new UsageError('CAPTURE_BAD_ADDRESS', `mixed address families: ${spec.src} -> ${spec.dst}`);
  return { src, dst };
}

function checkPort(p: number, what: string): void {
  if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new UsageError('CAPTURE_BAD_PORT', `${what} ${p} is not a port number`);
}

/** Wraps an upper-layer segment in an IPv4 or IPv6 header (with the Router Alert option when asked). */
function wrapIp(spec: IpSpec, src: Uint8Array, dst: Uint8Array, protocol: number, segment: Uint8Array): Uint8Array {
  const ttl = spec.ttl ?? 64;
  const ra = spec.routerAlert;
  if (ra !== undefined && (!Number.isInteger(ra) || ra < 0 || ra > 0xffff)) {
    throw new UsageError('CAPTURE_BAD_OPTION', `Router Alert value ${ra} is not a 16-bit number`);
  }
  if (src.length === 4) {
    const optLen = ra !== undefined ? 4 : 0;
    const hl = 20 + optLen;
    const total = hl + segment.length;
    if (total > 0xffff) throw new UsageError('CAPTURE_TOO_LONG', `IPv4 packet of ${total} bytes exceeds 65535`);
    const p = new Uint8Array(total);
    const dv = new DataView(p.buffer);
    p[0] = 0x40 | (hl / 4);
    dv.setUint16(2, total);
    dv.setUint16(4, (spec.id ?? 0) & 0xffff);
    dv.setUint16(6, 0x4000); // DF
    p[8] = ttl;
    p[9] = protocol;
    p.set(src, 12);
    p.set(dst, 16);
    if (ra !== undefined) {
      // RFC 2113 s2.1: type 148, length 4, 2-byte value.
      p[20] = IPV4_OPT_ROUTER_ALERT;
      p[21] = 4;
      dv.setUint16(22, ra);
    }
    dv.setUint16(10, internetChecksum(p, 0, hl));
    p.set(segment, hl);
    return p;
  }
  const ext = ra !== undefined ? 8 : 0;
  const payloadLength = ext + segment.length;
  if (payloadLength > 0xffff) throw new UsageError('CAPTURE_TOO_LONG', `IPv6 payload of ${payloadLength} bytes exceeds 65535`);
  const p = new Uint8Array(40 + payloadLength);
  const dv = new DataView(p.buffer);
  p[0] = 0x60;
  dv.setUint16(4, payloadLength);
  p[6] = ra !== undefined ? IPPROTO_HOPOPTS : protocol;
  p[7] = ttl;
  p.set(src, 8);
  p.set(dst, 24);
  if (ra !== undefined) {
    // RFC 2711 s2.1: Hop-by-Hop header (next header, length 0 = 8 bytes), option 5 length 2 value, then PadN of 2.
    p[40] = protocol;
    p[41] = 0;
    p[42] = IPV6_OPT_ROUTER_ALERT;
    p[43] = 2;
    dv.setUint16(44, ra);
    p[46] = 1;
    p[47] = 0;
  }
  p.set(segment, 40 + ext);
  return p;
}

/** An IP packet carrying one UDP datagram with a correct checksum. */
export function synthesizeUdp(spec: UdpSpec): Uint8Array {
  const { src, dst } = addresses(spec);
  checkPort(spec.srcPort, 'source port');
  checkPort(spec.dstPort, 'destination port');
  const len = 8 + spec.payload.length;
  if (len > 0xffff) throw new UsageError('CAPTURE_TOO_LONG', `UDP datagram of ${len} bytes exceeds 65535`);
  const u = new Uint8Array(len);
  const dv = new DataView(u.buffer);
  dv.setUint16(0, spec.srcPort);
  dv.setUint16(2, spec.dstPort);
  dv.setUint16(4, len);
  u.set(spec.payload, 8);
  const c = transportChecksum(src, dst, IPPROTO_UDP, u);
  // RFC 768: a computed checksum of zero is sent as all ones (zero means "none").
  dv.setUint16(6, c === 0 ? 0xffff : c);
  return wrapIp(spec, src, dst, IPPROTO_UDP, u);
}

/** An IP packet carrying one TCP segment (20-byte header, no options) with a correct checksum. */
export function synthesizeTcpSegment(spec: TcpSegmentSpec): Uint8Array {
  const { src, dst } = addresses(spec);
  checkPort(spec.srcPort, 'source port');
  checkPort(spec.dstPort, 'destination port');
  const payload = spec.payload ?? new Uint8Array(0);
  const t = new Uint8Array(20 + payload.length);
  const dv = new DataView(t.buffer);
  dv.setUint16(0, spec.srcPort);
  dv.setUint16(2, spec.dstPort);
  dv.setUint32(4, spec.seq >>> 0);
  dv.setUint32(8, spec.ack >>> 0);
  t[12] = 5 << 4;
  const f = spec.flags;
  t[13] = (f.fin ? 0x01 : 0) | (f.syn ? 0x02 : 0) | (f.rst ? 0x04 : 0) | (f.psh ? 0x08 : 0) | (f.ack ? 0x10 : 0);
  dv.setUint16(14, spec.window ?? 65535);
  t.set(payload, 20);
  dv.setUint16(16, transportChecksum(src, dst, IPPROTO_TCP, t));
  return wrapIp(spec, src, dst, IPPROTO_TCP, t);
}

export interface TcpEndpoint {
  readonly address: string;
  readonly port: number;
}

export type TcpSide = 'client' | 'server';

/**
 * One synthesized TCP connection: tracks both sides' sequence and
 * acknowledgement numbers so that a capture shows a consistent stream
 * (handshake, data with seq advancing and ack following, close).
 * Every method returns the IP packets to write, in wire order.
 */
export class TcpConversation {
  private seq: Record<TcpSide, number>;
  private readonly mss: number;

  constructor(
    readonly client: TcpEndpoint,
    readonly server: TcpEndpoint,
    opts: { clientIsn?: number; serverIsn?: number; mss?: number; ttl?: number } = {},
  ) {
    this.seq = { client: (opts.clientIsn ?? 0x1000) >>> 0, server: (opts.serverIsn ?? 0x2000) >>> 0 };
    this.mss = opts.mss ?? 1460;
    if (!Number.isInteger(this.mss) || this.mss < 1) throw new UsageError('CAPTURE_BAD_MSS', `MSS ${this.mss} must be a positive integer`);
    this.ttl = opts.ttl;
  }

  private readonly ttl: number | undefined;

  private segment(from: TcpSide, flags: TcpSegmentSpec['flags'], payload?: Uint8Array): Uint8Array {
    const a = from === 'client' ? this.client : this.server;
    const b = from === 'client' ? this.server : this.client;
    const other: TcpSide = from === 'client' ? 'server' : 'client';
    const pkt = synthesizeTcpSegment({
      src: a.address,
      dst: b.address,
      srcPort: a.port,
      dstPort: b.port,
      seq: this.seq[from],
      ack: flags.ack ? this.seq[other] : 0,
      flags,
      payload,
      ttl: this.ttl,
    });
    this.seq[from] = (this.seq[from] + (payload?.length ?? 0) + (flags.syn ? 1 : 0) + (flags.fin ? 1 : 0)) >>> 0;
    return pkt;
  }

  /** SYN, SYN-ACK, ACK. */
  handshake(): Uint8Array[] {
    return [this.segment('client', { syn: true }), this.segment('server', { syn: true, ack: true }), this.segment('client', { ack: true })];
  }

  /** The bytes as segments of at most the MSS (PSH on the last), then the peer's ACK. */
  send(from: TcpSide, bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += this.mss) {
      const chunk = bytes.subarray(i, Math.min(bytes.length, i + this.mss));
      out.push(this.segment(from, { ack: true, psh: i + this.mss >= bytes.length }, chunk));
    }
    if (out.length > 0) out.push(this.segment(from === 'client' ? 'server' : 'client', { ack: true }));
    return out;
  }

  /** FIN from `from`, FIN-ACK from the peer, final ACK. */
  close(from: TcpSide = 'client'): Uint8Array[] {
    const other: TcpSide = from === 'client' ? 'server' : 'client';
    return [this.segment(from, { fin: true, ack: true }), this.segment(other, { fin: true, ack: true }), this.segment(from, { ack: true })];
  }
}
