/**
 * IPv4 (RFC 791, with options) and IPv6 (RFC 8200, with extension headers)
 * header decoding, reporting the Router Alert option: IPv4 option 148
 * (RFC 2113) and the IPv6 Hop-by-Hop option 5 (RFC 2711), which GIST Q-mode
 * uses for interception (RFC 5971 s5.3.2). Fragments are recognised and not
 * reassembled. Never throws; offsets in errors count from the frame start.
 */
import { err, ok, type Result } from '../../common/result';
import { formatIpv4, formatIpv6 } from '../codec/addresses';
import { CaptureError } from './errors';

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;

/** RFC 2113: IPv4 option type 148 (copied flag, class 0, number 20), length 4. */
export const IPV4_OPT_ROUTER_ALERT = 148;
/** RFC 2711: IPv6 Hop-by-Hop option type 5, length 2. */
export const IPV6_OPT_ROUTER_ALERT = 5;
/** More extension headers than this is not a real packet. */
const MAX_EXTENSION_HEADERS = 16;

/** Big-endian reads; callers have checked the bounds. A DataView per packet costs more than the reads. */
const be16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const be32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export interface IpPacket {
  readonly version: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** Views into the frame (not copies). */
  readonly srcBytes: Uint8Array;
  readonly dstBytes: Uint8Array;
  /** TTL (IPv4) or Hop Limit (IPv6). */
  readonly ttl: number;
  /** The upper-layer protocol after any extension headers. */
  readonly protocol: number;
  /** The Router Alert option's 16-bit value, when the packet carries one. */
  readonly routerAlert?: number;
  /** Set for a fragment (IPv4 MF or offset, or an IPv6 Fragment header): the upper layer is not decoded. */
  readonly fragment?: { readonly id: number; readonly offset: number; readonly moreFragments: boolean };
  /** IPv4 option types or IPv6 extension header numbers present, in order (for display). */
  readonly options: readonly number[];
  /** Where the upper-layer header starts and the packet ends, in frame offsets. */
  readonly payloadOffset: number;
  readonly payloadEnd: number;
  /** The capture cut the packet short of its IP length (snap length). */
  readonly truncated: boolean;
}

export function decodeIp(data: Uint8Array, offset: number, versionHint?: 4 | 6): Result<IpPacket, CaptureError> {
  if (offset >= data.length) return err(new CaptureError('IP_TRUNCATED', data.length, 'no IP header in the frame'));
  const version = data[offset] >> 4;
  if (version !== 4 && version !== 6) {
    return err(new CaptureError('IP_BAD_VERSION', offset, `IP version ${version} at offset ${offset}`));
  }
  if (versionHint !== undefined && version !== versionHint) {
    return err(new CaptureError('IP_BAD_VERSION', offset, `link layer says IPv${versionHint}, header says IPv${version}`));
  }
  return version === 4 ? decodeIpv4(data, offset) : decodeIpv6(data, offset);
}

function decodeIpv4(data: Uint8Array, o: number): Result<IpPacket, CaptureError> {
  if (o + 20 > data.length) return err(new CaptureError('IP_TRUNCATED', data.length, `IPv4 header at offset ${o} needs 20 bytes`));
  const ihl = (data[o] & 0x0f) * 4;
  if (ihl < 20) return err(new CaptureError('IP_BAD_HEADER_LENGTH', o, `IPv4 header length ${ihl} is below 20`));
  if (o + ihl > data.length) return err(new CaptureError('IP_TRUNCATED', data.length, `IPv4 header with options needs ${ihl} bytes`));
  const totalLength = be16(data, o + 2);
  if (totalLength < ihl) {
    return err(new CaptureError('IP_BAD_TOTAL_LENGTH', o + 2, `IPv4 total length ${totalLength} is below the header length ${ihl}`));
  }
  const id = be16(data, o + 4);
  const flagsFrag = be16(data, o + 6);
  const moreFragments = (flagsFrag & 0x2000) !== 0;
  const fragOffset = (flagsFrag & 0x1fff) * 8;
  const ttl = data[o + 8];
  const protocol = data[o + 9];
  const srcBytes = data.subarray(o + 12, o + 16);
  const dstBytes = data.subarray(o + 16, o + 20);
  // RFC 791 options: EOL(0) ends the list, NOP(1) is one byte, every other option is type, length, data.
  const options: number[] = [];
  let routerAlert: number | undefined;
  let p = o + 20;
  const end = o + ihl;
  while (p < end) {
    const t = data[p];
    if (t === 0) break;
    if (t === 1) {
      p++;
      continue;
    }
    if (p + 2 > end) return err(new CaptureError('IP_BAD_OPTION', p, `IPv4 option ${t} at offset ${p} has no length byte`));
    const len = data[p + 1];
    if (len < 2 || p + len > end) return err(new CaptureError('IP_BAD_OPTION', p + 1, `IPv4 option ${t} at offset ${p} has a bad length ${len}`));
    options.push(t);
    if (t === IPV4_OPT_ROUTER_ALERT) {
      if (len !== 4) return err(new CaptureError('IP_BAD_OPTION', p + 1, `Router Alert option length ${len}, RFC 2113 says 4`));
      routerAlert = be16(data, p + 2);
    }
    p += len;
  }
  const wireEnd = o + totalLength;
  return ok({
    version: 4,
    src: formatIpv4(srcBytes, 0),
    dst: formatIpv4(dstBytes, 0),
    srcBytes,
    dstBytes,
    ttl,
    protocol,
    routerAlert,
    fragment: moreFragments || fragOffset !== 0 ? { id, offset: fragOffset, moreFragments } : undefined,
    options,
    payloadOffset: o + ihl,
    payloadEnd: Math.min(wireEnd, data.length),
    truncated: wireEnd > data.length,
  });
}

function decodeIpv6(data: Uint8Array, o: number): Result<IpPacket, CaptureError> {
  if (o + 40 > data.length) return err(new CaptureError('IP_TRUNCATED', data.length, `IPv6 header at offset ${o} needs 40 bytes`));
  const payloadLength = be16(data, o + 4);
  let next = data[o + 6];
  const ttl = data[o + 7];
  const srcBytes = data.subarray(o + 8, o + 24);
  const dstBytes = data.subarray(o + 24, o + 40);
  // A payload length of 0 means a jumbogram (RFC 2675): take what was captured.
  const wireEnd = payloadLength === 0 ? data.length : o + 40 + payloadLength;
  const end = Math.min(wireEnd, data.length);
  const options: number[] = [];
  let routerAlert: number | undefined;
  let fragment: IpPacket['fragment'];
  let p = o + 40;
  for (let count = 0; ; count++) {
    if (next !== IPPROTO_HOPOPTS && next !== IPPROTO_ROUTING && next !== IPPROTO_FRAGMENT && next !== IPPROTO_DSTOPTS && next !== IPPROTO_AH) {
      break;
    }
    if (count >= MAX_EXTENSION_HEADERS) {
      return err(new CaptureError('IP_TOO_MANY_EXTENSION_HEADERS', p, `more than ${MAX_EXTENSION_HEADERS} IPv6 extension headers`));
    }
    // RFC 8200 s4.3: Hop-by-Hop Options must come first.
    if (next === IPPROTO_HOPOPTS && count > 0) {
      return err(new CaptureError('IP_BAD_OPTION', p, `IPv6 Hop-by-Hop header at offset ${p} is not the first extension header`));
    }
    if (p + 8 > end) return err(new CaptureError('IP_TRUNCATED', end, `IPv6 extension header ${next} at offset ${p} needs 8 bytes`));
    const hdr = next;
    options.push(hdr);
    const nh = data[p];
    let len: number;
    if (hdr === IPPROTO_FRAGMENT) {
      len = 8;
      const fo = be16(data, p + 2);
      fragment = { id: be32(data, p + 4), offset: fo & 0xfff8, moreFragments: (fo & 1) !== 0 };
    } else if (hdr === IPPROTO_AH) {
      len = (data[p + 1] + 2) * 4; // RFC 4302 s2.2: in 32-bit words, minus 2
    } else {
      len = (data[p + 1] + 1) * 8;
    }
    if (p + len > end) return err(new CaptureError('IP_TRUNCATED', end, `IPv6 extension header ${hdr} at offset ${p} declares ${len} bytes`));
    if (hdr === IPPROTO_HOPOPTS) {
      const ra = hopByHopRouterAlert(data, p + 2, p + len);
      if (!ra.ok) return ra;
      routerAlert = ra.value;
    }
    p += len;
    next = nh;
    // A non-first fragment has no upper-layer header; RFC 8200 s4.5 puts the Fragment header before it.
    if (fragment) break;
  }
  if (fragment && fragment.offset === 0 && !fragment.moreFragments) fragment = undefined; // an atomic fragment (RFC 6946) is a whole packet
  return ok({
    version: 6,
    src: formatIpv6(srcBytes, 0),
    dst: formatIpv6(dstBytes, 0),
    srcBytes,
    dstBytes,
    ttl,
    protocol: next,
    routerAlert,
    fragment,
    options,
    payloadOffset: p,
    payloadEnd: end,
    truncated: wireEnd > data.length,
  });
}

/** RFC 8200 s4.2 option TLVs: Pad1 is a lone zero byte, every other option is type, length, data. */
function hopByHopRouterAlert(data: Uint8Array, start: number, end: number): Result<number | undefined, CaptureError> {
  let ra: number | undefined;
  let p = start;
  while (p < end) {
    const t = data[p];
    if (t === 0) {
      p++;
      continue;
    }
    if (p + 2 > end) return err(new CaptureError('IP_BAD_OPTION', p, `Hop-by-Hop option ${t} at offset ${p} has no length byte`));
    const len = data[p + 1];
    if (p + 2 + len > end) return err(new CaptureError('IP_BAD_OPTION', p + 1, `Hop-by-Hop option ${t} at offset ${p} overruns the header`));
    if (t === IPV6_OPT_ROUTER_ALERT) {
      if (len !== 2) return err(new CaptureError('IP_BAD_OPTION', p + 1, `Router Alert option length ${len}, RFC 2711 says 2`));
      ra = be16(data, p + 2);
    }
    p += 2 + len;
  }
  return ok(ra);
}
