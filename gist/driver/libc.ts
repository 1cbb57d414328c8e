/**
 * The few libc socket calls Node does not offer, through koffi (prebuilt FFI,
 * no build step). Node's dgram cannot set IP_OPTIONS / IPV6_HOPOPTS or send
 * one datagram with per-packet IP options, so the GIST UDP socket is created
 * here, bound here, handed to dgram for receiving, and written with sendto()
 * synchronously (see udp-socket.ts for why synchronously).
 *
 * Loaded lazily: importing this module costs nothing until a socket is made.
 */
import { DriverError, privilegeHint } from './errors';
import { writeIpv4, writeIpv6 } from '../codec/addresses';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
/** <linux/in.h> */
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_OPTIONS = 4;
export const IP_MTU_DISCOVER = 10;
export const IP_PMTUDISC_DONT = 0;
export const IP_PMTUDISC_DO = 2;
/** <linux/in6.h> */
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_V6ONLY = 26;
export const IPV6_MTU_DISCOVER = 23;
export const IPV6_HOPOPTS = 54;
export const IPV6_FLOWLABEL_MGR = 32;
export const IPV6_FLOWINFO_SEND = 33;
export const IPV6_TCLASS = 67;

interface LibcFns {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array | null, len: number): number;
  /** `len`: a 4-byte buffer holding the size of `val` (in) and the size written (out), host order. */
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, alen: number): number;
  /** sendmsg() with a struct msghdr that lives in `nativeArena()` memory (pass the arena's `ptr`). */
  sendmsg(fd: number, msg: unknown, flags: number): number;
  close(fd: number): number;
  errno(): number;
}

let cached: LibcFns | undefined;

export function libc(): LibcFns {
  if (cached !== undefined) return cached;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const bind = lib.func('int bind(int fd, const void *addr, uint32_t len)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)');
  const getsockopt = lib.func('int getsockopt(int fd, int level, int name, void *val, void *len)');
  const sendto = lib.func('intptr_t sendto(int fd, const void *buf, uintptr_t len, int flags, const void *addr, uint32_t alen)');
  const sendmsg = lib.func('intptr_t sendmsg(int fd, void *msg, int flags)');
  const close = lib.func('int close(int fd)');
  cached = {
    socket: (d, t, p) => Number(socket(d, t, p)),
    bind: (fd, a, l) => Number(bind(fd, a, l)),
    setsockopt: (fd, lv, n, v, l) => Number(setsockopt(fd, lv, n, v, l)),
    getsockopt: (fd, lv, n, v, l) => Number(getsockopt(fd, lv, n, v, l)),
    sendto: (fd, b, l, f, a, al) => Number(sendto(fd, b, l, f, a, al)),
    sendmsg: (fd, m, f) => Number(sendmsg(fd, m, f)),
    close: (fd) => Number(close(fd)),
    errno: () => koffi.errno(),
  };
  return cached;
}

/**
 * A block of C memory with a JS view of it: for structures that hold
 * pointers (struct msghdr, iovec), which JS memory cannot (it moves).
 * `base` is its address, for writing pointers into it.
 */
export interface NativeArena {
  readonly ptr: unknown;
  readonly base: bigint;
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

/** Allocates `size` bytes of C memory for the life of the process (never freed: one per process). */
export function nativeArena(size: number): NativeArena {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof import('koffi');
  const ptr = koffi.alloc('uint8_t', size);
  const ab = koffi.view(ptr, size);
  return { ptr, base: BigInt(koffi.address(ptr)), bytes: new Uint8Array(ab), view: new DataView(ab) };
}

/** struct sockaddr_in / sockaddr_in6 for an address literal and port; undefined for a bad literal. */
export function sockaddr(address: string, port: number): Uint8Array | undefined {
  const v4 = new Uint8Array(16);
  if (writeIpv4(address, v4, 4)) {
    const dv = new DataView(v4.buffer);
    dv.setUint16(0, AF_INET, true); // sa_family is host order (little-endian on the machines natfw targets)
    dv.setUint16(2, port);
    return v4;
  }
  const v6 = new Uint8Array(28);
  if (!writeIpv6(address, v6, 8)) return undefined;
  const dv = new DataView(v6.buffer);
  dv.setUint16(0, AF_INET6, true);
  dv.setUint16(2, port);
  return v6;
}

export function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** getsockopt of an int option; undefined when it fails. */
export function getIntOption(fd: number, level: number, name: number): number | undefined {
  const v = new Uint8Array(4);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, 4, true);
  if (libc().getsockopt(fd, level, name, v, len) !== 0) return undefined;
  return new DataView(v.buffer).getInt32(0, true);
}

/** setsockopt with an int value; throws DriverError on failure. */
export function setIntOption(fd: number, level: number, name: number, value: number, what: string): void {
  const c = libc();
  if (c.setsockopt(fd, level, name, int32(value), 4) !== 0) {
    const e = c.errno();
    throw new DriverError('DRIVER_SOCKET', `setsockopt(${what}) failed: errno ${e}${privilegeHint(e)}`, e);
  }
}
