/**
 * sendmsg() with per-packet IP options as ancillary data (cmsg), so that a
 * Query's Router Alert Option, TTL and DS field apply to that one packet
 * without changing the socket's options. Before, every switch between a
 * Query and a Confirm cost setsockopt() calls; with the core's s5.3.3 rate
 * control a Query follows each Confirm, so that was two to six syscalls per
 * handshake.
 *
 * IPv4 (ip_cmsg_send): IP_RETOPTS carries the IP options (the RAO, RFC 2113;
 * no capability needed, as with IP_OPTIONS), IP_TTL and IP_TOS an int each.
 * IPv6 (ip6_datagram_send_ctl): IPV6_HOPOPTS carries the Hop-by-Hop header
 * with the RAO (RFC 2711; needs CAP_NET_RAW, as the socket option does),
 * IPV6_HOPLIMIT and IPV6_TCLASS an int each. The flow label rides in the
 * destination's sin6_flowinfo (udp-socket.ts).
 *
 * The message header, the iovec, the address, the control data and a copy of
 * the payload are written into one block of C memory (pointers must not
 * move); sends are synchronous, so one block per process serves every socket.
 * Layout (x86-64 / arm64 Linux, LP64, little-endian, like libc.ts' sockaddr).
 */
import { IP_TOS, IP_TTL, IPPROTO_IP, IPPROTO_IPV6, IPV6_HOPOPTS, IPV6_TCLASS, libc, nativeArena, type NativeArena } from './libc';
import { ipv4RouterAlertOption, ipv6HopByHopRouterAlert } from './router-alert';

const IP_RETOPTS = 7;
const IPV6_HOPLIMIT = 52;

const MSGHDR = 0; // struct msghdr: name, namelen, iov, iovlen, control, controllen, flags (56 bytes)
const IOVEC = 64; // struct iovec: base, len
const NAME = 80; // sockaddr_in / sockaddr_in6 (<= 28 bytes)
const CONTROL = 112; // cmsgs: 3 x CMSG_SPACE(<= 8) = 72 bytes at most
const PAYLOAD = 256;
/** The largest UDP payload. */
export const MAX_ANCILLARY_PAYLOAD = 65535;

let arena: NativeArena | undefined;

/** The block, with the pointers that never change written once. */
function block(): NativeArena {
  if (arena !== undefined) return arena;
  const a = nativeArena(PAYLOAD + MAX_ANCILLARY_PAYLOAD);
  a.view.setBigUint64(IOVEC, a.base + BigInt(PAYLOAD), true); // iov_base
  a.view.setBigUint64(MSGHDR, a.base + BigInt(NAME), true); // msg_name
  a.view.setBigUint64(MSGHDR + 16, a.base + BigInt(IOVEC), true); // msg_iov
  a.view.setBigUint64(MSGHDR + 24, 1n, true); // msg_iovlen
  a.view.setBigUint64(MSGHDR + 32, a.base + BigInt(CONTROL), true); // msg_control
  a.view.setInt32(MSGHDR + 48, 0, true); // msg_flags
  arena = a;
  return a;
}

/** A size_t (< 2^32) as two little-endian words: no BigInt per packet. */
function setSize(v: DataView, off: number, n: number): void {
  v.setUint32(off, n, true);
  v.setUint32(off + 4, 0, true);
}

/** Per-packet IP-level attributes; -1 = not set (the socket's / kernel's own). */
export interface PacketOptions {
  readonly rao: number;
  readonly ttl: number;
  readonly tos: number;
}

/** Writes one cmsghdr + int (or bytes) at `off`; returns the offset after it (CMSG_SPACE). */
function cmsg(a: NativeArena, off: number, level: number, type: number, data: Uint8Array | number): number {
  const len = typeof data === 'number' ? 4 : data.length;
  setSize(a.view, off, 16 + len); // cmsg_len = CMSG_LEN(len)
  a.view.setInt32(off + 8, level, true);
  a.view.setInt32(off + 12, type, true);
  if (typeof data === 'number') a.view.setInt32(off + 16, data, true);
  else a.bytes.set(data, off + 16);
  return off + 16 + ((len + 7) & ~7);
}

/**
 * One datagram with its options as ancillary data. Returns sendmsg()'s result
 * (bytes sent, or -1 with errno set); -2 when the payload is too large for
 * the block (never for a UDP payload).
 */
export function sendWithOptions(fd: number, ipVersion: 4 | 6, to: Uint8Array, bytes: Uint8Array, o: PacketOptions): number {
  if (bytes.length > MAX_ANCILLARY_PAYLOAD) return -2;
  const a = block();
  const v4 = ipVersion === 4;
  let off = CONTROL;
  if (o.rao >= 0) off = v4 ? cmsg(a, off, IPPROTO_IP, IP_RETOPTS, ipv4RouterAlertOption(o.rao)) : cmsg(a, off, IPPROTO_IPV6, IPV6_HOPOPTS, ipv6HopByHopRouterAlert(o.rao));
  if (o.ttl >= 0) off = cmsg(a, off, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TTL : IPV6_HOPLIMIT, o.ttl);
  if (o.tos >= 0) off = cmsg(a, off, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TOS : IPV6_TCLASS, o.tos);
  a.bytes.set(to, NAME);
  a.bytes.set(bytes, PAYLOAD);
  const v = a.view;
  setSize(v, IOVEC + 8, bytes.length); // iov_len
  v.setUint32(MSGHDR + 8, to.length, true); // msg_namelen
  setSize(v, MSGHDR + 40, off - CONTROL); // msg_controllen (0: no cmsg; msg_control is then ignored)
  return libc().sendmsg(fd, a.ptr, 0);
}
