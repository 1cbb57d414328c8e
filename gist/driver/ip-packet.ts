/**
 * Just enough IPv4/IPv6 + UDP parsing for an intercepting node: NFQUEUE and
 * IP_ROUTER_ALERT sockets hand over whole IP packets, and the driver must find
 * the addresses, TTL / Hop Limit, the Router Alert value and the UDP payload
 * (RFC 5971 s5.3.2). Never throws: anything malformed gives undefined, and the
 * caller passes such packets on untouched (s5.3.2.3: packets that are not GIST
 * are forwarded as normal IP datagrams).
 */
import { formatIpv4, formatIpv6 } from '../codec/addresses';
import { IPV4_RAO_TYPE, IPV6_RAO_TYPE } from './router-alert';

export interface UdpInIp {
  readonly ipVersion: 4 | 6;
  readonly source: string;
  readonly destination: string;
  /** IPv4 TTL or IPv6 Hop Limit as received (before this node decrements it). */
  readonly ttl: number;
  /** The Router Alert value, undefined when the packet carries no RAO. */
  readonly rao?: number;
  /** Offset of the UDP header in the packet. */
  readonly udpOffset: number;
  readonly sourcePort: number;
  readonly destinationPort: number;
  /** The UDP payload (a view into the packet). */
  readonly payload: Uint8Array;
}

const UDP = 17;

export function parseUdpPacket(p: Uint8Array): UdpInIp | undefined {
  if (p.length < 1) return undefined;
  const version = p[0] >> 4;
  if (version === 4) return parseIpv4(p);
  if (version === 6) return parseIpv6(p);
  return undefined;
}

function parseIpv4(p: Uint8Array): UdpInIp | undefined {
  if (p.length < 20) return undefined;
  const ihl = (p[0] & 0x0f) * 4;
  const totalLength = (p[2] << 8) | p[3];
  if (ihl < 20 || totalLength < ihl + 8 || totalLength > p.length) return undefined;
  // Fragments cannot be judged by their UDP header (s5.3.2.1): only whole datagrams.
  const fragField = ((p[6] << 8) | p[7]) & 0x3fff;
  if (fragField !== 0 || p[9] !== UDP) return undefined;
  let rao: number | undefined;
  for (let i = 20; i < ihl; ) {
    const type = p[i];
    if (type === 0) break; // End of Option List
    if (type === 1) {
      i++; // NOP
      continue;
    }
    if (i + 1 >= ihl) return undefined;
    const len = p[i + 1];
    if (len < 2 || i + len > ihl) return undefined;
    if (type === IPV4_RAO_TYPE && len === 4) rao = (p[i + 2] << 8) | p[i + 3];
    i += len;
  }
  return udpAt(p, ihl, totalLength, 4, formatIpv4(p, 12), formatIpv4(p, 16), p[8], rao);
}

function parseIpv6(p: Uint8Array): UdpInIp | undefined {
  if (p.length < 40) return undefined;
  const end = 40 + ((p[4] << 8) | p[5]);
  if (end > p.length) return undefined;
  let next = p[6];
  let off = 40;
  let rao: number | undefined;
  // RFC 5971 s5.3.2.2: hop-by-hop first, then only routing or destination options, then UDP.
  for (let hops = 0; next !== UDP; hops++) {
    if (hops > 8 || off + 8 > end) return undefined;
    const len = (p[off + 1] + 1) * 8;
    if (off + len > end) return undefined;
    if (next === 0) {
      if (off !== 40) return undefined; // Hop-by-Hop must come first
      for (let i = off + 2; i < off + len; ) {
        const type = p[i];
        if (type === 0) {
          i++; // Pad1
          continue;
        }
        if (i + 1 >= off + len) return undefined;
        const olen = p[i + 1];
        if (i + 2 + olen > off + len) return undefined;
        if (type === IPV6_RAO_TYPE && olen === 2) rao = (p[i + 2] << 8) | p[i + 3];
        i += 2 + olen;
      }
    } else if (next !== 43 && next !== 60) {
      return undefined;
    }
    next = p[off];
    off += len;
  }
  return udpAt(p, off, end, 6, formatIpv6(p, 8), formatIpv6(p, 24), p[7], rao);
}

function udpAt(
  p: Uint8Array,
  off: number,
  end: number,
  ipVersion: 4 | 6,
  source: string,
  destination: string,
  ttl: number,
  rao: number | undefined,
): UdpInIp | undefined {
  if (off + 8 > end) return undefined;
  const udpLen = (p[off + 4] << 8) | p[off + 5];
  if (udpLen < 8 || off + udpLen > end) return undefined;
  return {
    ipVersion,
    source,
    destination,
    ttl,
    rao,
    udpOffset: off,
    sourcePort: (p[off] << 8) | p[off + 1],
    destinationPort: (p[off + 2] << 8) | p[off + 3],
    payload: p.subarray(off + 8, off + udpLen),
  };
}

/** RFC 1071 one's-complement sum, folded, not inverted. */
function sum16(p: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  let i = start;
  for (; i + 1 < end; i += 2) s += (p[i] << 8) | p[i + 1];
  if (i < end) s += p[i] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** True when the IPv4 header checksum and the UDP checksum of a packet are right (tests use it). */
export function ipv4UdpChecksumsValid(p: Uint8Array): boolean {
  const pkt = parseUdpPacket(p);
  if (pkt === undefined || pkt.ipVersion !== 4) return false;
  const ihl = (p[0] & 0x0f) * 4;
  if (sum16(p, 0, ihl) !== 0xffff) return false;
  const u = pkt.udpOffset;
  const udpLen = (p[u + 4] << 8) | p[u + 5];
  if (p[u + 6] === 0 && p[u + 7] === 0) return true; // no checksum
  return sum16(p, u, u + udpLen, sum16(p, 12, 20) + UDP + udpLen) === 0xffff;
}

/**
 * A copy of a parsed UDP packet with a new UDP payload (RFC 5971 s4.3.4: the
 * GIST hop count decremented, or an NSLP-updated payload): lengths, the IPv4
 * header checksum and the UDP checksum recomputed, IP options / extension
 * headers kept. `decrementTtl` for packets re-sent by hand (raw fallback);
 * NFQUEUE-accepted packets are decremented by the kernel's forwarding.
 * Undefined when the result would not fit in an IP packet or the TTL is spent.
 */
export function withUdpPayload(packet: Uint8Array, pkt: UdpInIp, payload: Uint8Array, decrementTtl: boolean): Uint8Array | undefined {
  const u = pkt.udpOffset;
  const udpLen = 8 + payload.length;
  const total = u + udpLen;
  if (total > 0xffff || (decrementTtl && pkt.ttl <= 1)) return undefined;
  const p = new Uint8Array(total);
  p.set(packet.subarray(0, u + 8), 0);
  p.set(payload, u + 8);
  p[u + 4] = udpLen >> 8;
  p[u + 5] = udpLen & 0xff;
  p[u + 6] = 0;
  p[u + 7] = 0;
  let acc: number;
  if (pkt.ipVersion === 4) {
    p[2] = total >> 8;
    p[3] = total & 0xff;
    if (decrementTtl) p[8] = pkt.ttl - 1;
    p[10] = 0;
    p[11] = 0;
    const ihl = (p[0] & 0x0f) * 4;
    const ipSum = ~sum16(p, 0, ihl) & 0xffff;
    p[10] = ipSum >> 8;
    p[11] = ipSum & 0xff;
    acc = sum16(p, 12, 20) + UDP + udpLen;
  } else {
    const plen = total - 40;
    p[4] = plen >> 8;
    p[5] = plen & 0xff;
    if (decrementTtl) p[7] = pkt.ttl - 1;
    // RFC 8200 s8.1 pseudo header: src, dst, upper-layer length, next header.
    acc = sum16(p, 8, 40) + (udpLen >>> 16) + (udpLen & 0xffff) + UDP;
  }
  const s = ~sum16(p, u, total, acc) & 0xffff;
  const csum = s === 0 ? 0xffff : s;
  p[u + 6] = csum >> 8;
  p[u + 7] = csum & 0xff;
  return p;
}

/** True when the UDP checksum of an IPv6 packet is right (tests use it). */
export function ipv6UdpChecksumValid(p: Uint8Array): boolean {
  const pkt = parseUdpPacket(p);
  if (pkt === undefined || pkt.ipVersion !== 6) return false;
  const u = pkt.udpOffset;
  const udpLen = (p[u + 4] << 8) | p[u + 5];
  return sum16(p, u, u + udpLen, sum16(p, 8, 40) + udpLen + UDP) === 0xffff;
}
