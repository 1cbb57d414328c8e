/**
 * A minimal nf_tables netlink client for set elements: the fast path into the
 * kernel. nft's text parser fills a hash set at ~66k elements/s here; encoding
 * NFT_MSG_NEWSETELEM / NFT_MSG_DELSETELEM ourselves and sending one nfnetlink
 * batch per commit removes the parser from the path (the kernel does the rest).
 *
 * Wire format taken from the kernel UAPI (linux/netfilter/nf_tables.h,
 * nfnetlink.h) and checked byte for byte against `strace nft add element`.
 * libc is reached through koffi (socket/sendto/recv/setns); the socket is
 * opened in the target network namespace (setns on this thread, then back),
 * so one process can drive a namespace's netfilter as `ip netns exec` would.
 *
 * Batches are processed synchronously inside sendmsg (nfnetlink_rcv_batch runs
 * in the sender's context), so after `send` returns every error and the ack of
 * the last message are already queued: read them non-blocking.
 */
import { closeSync, openSync } from 'node:fs';
import { EnforcementError } from '../errors';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_NETFILTER = 12;
const SOL_SOCKET = 1;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const MSG_DONTWAIT = 0x40;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const EAGAIN = 11;
const CLONE_NEWNET = 0x40000000;

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_CREATE = 0x400;
const NLM_F_EXCL = 0x200;
const NLMSG_ERROR = 2;
const NFNL_MSG_BATCH_BEGIN = 16;
const NFNL_MSG_BATCH_END = 17;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_DELSETELEM = 14;
const NFPROTO_INET = 1;

// enum nft_set_elem_list_attributes
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
// enum nft_set_elem_attributes
const NFTA_SET_ELEM_KEY = 1;
const NFTA_SET_ELEM_DATA = 2;
const NFTA_SET_ELEM_TIMEOUT = 4;
const NFTA_SET_ELEM_EXPIRATION = 5;
const NFTA_SET_ELEM_USERDATA = 6;
const NFTA_SET_ELEM_KEY_END = 10;
const NFTA_DATA_VALUE = 1;
const NLA_F_NESTED = 0x8000;
const NFTNL_UDATA_SET_ELEM_COMMENT = 0;

/** One element as the kernel sees it: raw key bytes (fields padded to 4), optional range end, data, timeout, comment. */
export interface RawElement {
  /** Key bytes; a string is taken as latin1 (one byte per char), which the backend's index keeps anyway. */
  readonly key: Buffer | string;
  readonly keyEnd?: Buffer | string;
  readonly data?: Buffer | string;
  /** ms; adds only. */
  readonly timeoutMs?: number;
  readonly comment?: string;
}

export interface ElementOp {
  readonly op: 'add' | 'create' | 'delete';
  readonly table: string;
  readonly set: string;
  readonly elements: readonly RawElement[];
}

interface Libc {
  socket: (d: number, t: number, p: number) => number;
  setsockopt: (fd: number, level: number, name: number, val: Buffer, len: number) => number;
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number) => number;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
  setns: (fd: number, nstype: number) => number;
  strerror: (e: number) => string;
  errno: () => number;
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc !== undefined) return libc;
  let koffi: typeof import('koffi');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    koffi = require('koffi') as typeof import('koffi');
  } catch (e) {
    throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', `the nftables netlink path needs the 'koffi' package: ${(e as Error).message}`);
  }
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int, int, int)') as Libc['socket'],
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)') as Libc['setsockopt'],
    sendto: lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)') as Libc['sendto'],
    recv: lib.func('intptr_t recv(int, _Out_ void *, size_t, int)') as Libc['recv'],
    close: lib.func('int close(int)') as Libc['close'],
    setns: lib.func('int setns(int, int)') as Libc['setns'],
    strerror: lib.func('const char *strerror(int)') as Libc['strerror'],
    errno: () => koffi.errno(),
  };
  return libc;
}

/** Grows a byte buffer; netlink attributes are written in host order except where the UAPI says big endian. */
class Writer {
  buf = Buffer.allocUnsafe(1 << 16);
  len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.len);
    this.len += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }

  be32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  /** One udata TLV holding a NUL-terminated string (at most 254 bytes with the NUL). */
  udataString(type: number, s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 253) throw new EnforcementError('ENF_INVALID_SPEC', 'comment too long');
    this.ensure(n + 3);
    this.buf[this.len] = type;
    this.buf[this.len + 1] = n + 1;
    this.buf.write(s, this.len + 2, 'utf8');
    this.buf[this.len + 2 + n] = 0;
    this.len += n + 3;
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }

  pad(): void {
    const p = (4 - (this.len & 3)) & 3;
    this.ensure(p);
    this.buf.fill(0, this.len, this.len + p);
    this.len += p;
  }

  /** Starts an attribute; returns its offset for `end`. */
  begin(type: number): number {
    const at = this.len;
    this.u16(0);
    this.u16(type);
    return at;
  }

  end(at: number): void {
    const l = this.len - at;
    if (l > 0xffff) throw new EnforcementError('ENF_KERNEL_REFUSED', 'netlink attribute too long (internal chunking error)');
    this.buf.writeUInt16LE(l, at);
    this.pad();
  }

  attr(type: number, value: Buffer): void {
    const at = this.begin(type);
    this.bytes(value);
    this.end(at);
  }

  /**
   * A nested attribute holding one NFTA_DATA_VALUE (key, key end, data) of at most 0xffff - 8 bytes,
   * written without intermediate buffers; the caller has ensured the room (`ensure`).
   */
  nestedValue(type: number, v: Buffer | string): void {
    const buf = this.buf;
    const at = this.len;
    const n = typeof v === 'string' ? buf.write(v, at + 8, 'latin1') : v.copy(buf, at + 8);
    const p = (4 - (n & 3)) & 3;
    buf.writeUInt16LE(8 + n + p, at); // the outer length includes the inner attribute's padding
    buf.writeUInt16LE(NLA_F_NESTED | type, at + 2);
    buf.writeUInt16LE(4 + n, at + 4);
    buf.writeUInt16LE(NFTA_DATA_VALUE, at + 6);
    if (p > 0) buf.fill(0, at + 8 + n, at + 8 + n + p);
    this.len = at + 8 + n + p;
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    this.ensure(n);
  }

  reset(): void {
    this.len = 0;
    // Keep a buffer grown by a big batch (reconcile) only up to 4 MiB.
    if (this.buf.length > 1 << 22) this.buf = Buffer.allocUnsafe(1 << 16);
  }

  strz(type: number, s: string): void {
    this.attr(type, Buffer.from(s + '\0', 'utf8'));
  }

  msgBegin(type: number, flags: number, seq: number, family: number, resId: number): number {
    const at = this.len;
    this.u32(0);
    this.u16(type);
    this.u16(flags);
    this.u32(seq);
    this.u32(0);
    // struct nfgenmsg: family, version, res_id (big endian)
    this.ensure(4);
    this.buf[this.len] = family;
    this.buf[this.len + 1] = 0;
    this.buf.writeUInt16BE(resId, this.len + 2);
    this.len += 4;
    return at;
  }

  msgEnd(at: number): void {
    this.buf.writeUInt32LE(this.len - at, at);
  }
}

function encodeElement(w: Writer, e: RawElement, withExtras: boolean): void {
  const el = w.begin(NLA_F_NESTED | NFTA_LIST_ELEM);
  if (withExtras && e.timeoutMs !== undefined) {
    // be64 milliseconds, written as two be32 halves (no BigInt on the hot path).
    const t = Math.max(1, Math.round(e.timeoutMs));
    const at = w.begin(NFTA_SET_ELEM_TIMEOUT);
    w.be32(Math.floor(t / 0x100000000));
    w.be32(t % 0x100000000);
    w.end(at);
    // The expiration too: re-adding an element with the timeout it already has
    // changes nothing in the kernel (nft_add_set_elem updates the expiration only
    // when the timeout differs or an expiration is given), so a refresh at an
    // unchanged lifetime would leave the old deadline and the pinhole would close
    // under a live session.
    const ex = w.begin(NFTA_SET_ELEM_EXPIRATION);
    w.be32(Math.floor(t / 0x100000000));
    w.be32(t % 0x100000000);
    w.end(ex);
  }
  // Room for the three values with their two attribute headers and padding each.
  w.reserve(3 * 12 + e.key.length + (e.keyEnd?.length ?? 0) + (e.data?.length ?? 0));
  w.nestedValue(NFTA_SET_ELEM_KEY, e.key);
  if (e.keyEnd !== undefined) w.nestedValue(NFTA_SET_ELEM_KEY_END, e.keyEnd);
  if (withExtras && e.data !== undefined) w.nestedValue(NFTA_SET_ELEM_DATA, e.data);
  if (withExtras && e.comment !== undefined) {
    // libnftnl udata TLV: type (1 byte), length (1 byte), value (NUL-terminated comment).
    const at = w.begin(NFTA_SET_ELEM_USERDATA);
    w.udataString(NFTNL_UDATA_SET_ELEM_COMMENT, e.comment);
    w.end(at);
  }
  w.end(el);
}

/** Room left for elements in one NEWSETELEM's element list (its nla_len is 16 bits). */
const LIST_BUDGET = 60_000;

export interface NetlinkError {
  readonly errno: number;
  readonly message: string;
  /** Index in the ops array of the op whose message failed, when known. */
  readonly opIndex?: number;
}

export class NftNetlink {
  private fd: number;
  private seq = 1;
  private readonly rx = Buffer.alloc(1 << 20);
  /** One encoder reused by every batch (run is synchronous). */
  private readonly w = new Writer();
  private readonly c: Libc;

  /** Opens a NETLINK_NETFILTER socket, in network namespace `netns` (a name under /run/netns) if given. */
  constructor(netns?: string) {
    this.c = loadLibc();
    let orig = -1;
    let target = -1;
    try {
      if (netns !== undefined) {
        orig = openSync('/proc/thread-self/ns/net', 'r');
        target = openSync(netns.includes('/') ? netns : `/run/netns/${netns}`, 'r');
        if (this.c.setns(target, CLONE_NEWNET) !== 0)
          throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', `setns(${netns}): ${this.c.strerror(this.c.errno())}`);
      }
      this.fd = this.c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
      if (this.fd < 0) throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', `netlink socket: ${this.c.strerror(this.c.errno())}`);
    } finally {
      if (orig >= 0) {
        if (this.c.setns(orig, CLONE_NEWNET) !== 0) throw new Error(`setns back to the original namespace failed: ${this.c.strerror(this.c.errno())}`);
        closeSync(orig);
      }
      if (target >= 0) closeSync(target);
    }
    const size = Buffer.alloc(4);
    size.writeInt32LE(64 << 20);
    this.c.setsockopt(this.fd, SOL_SOCKET, SO_SNDBUFFORCE, size, 4);
    size.writeInt32LE(8 << 20);
    this.c.setsockopt(this.fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4);
    // Errors carry only the failed message's header, not its (up to 64 KiB) payload.
    size.writeInt32LE(1);
    this.c.setsockopt(this.fd, SOL_NETLINK, NETLINK_CAP_ACK, size, 4);
  }

  close(): void {
    if (this.fd >= 0) this.c.close(this.fd);
    this.fd = -1;
  }

  /**
   * Sends `ops` as ONE nfnetlink batch (one netfilter transaction: all or
   * nothing). Returns undefined on success, or the kernel's errors.
   */
  run(ops: readonly ElementOp[]): NetlinkError[] | undefined {
    if (this.fd < 0) throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', 'netlink socket closed');
    const w = this.w;
    w.reset();
    const seqToOp = new Map<number, number>();
    const first = this.seq;
    const b = w.msgBegin(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, this.seq++, 0, NFNL_SUBSYS_NFTABLES);
    w.msgEnd(b);
    let lastSeq = -1;
    ops.forEach((op, idx) => {
      const isDel = op.op === 'delete';
      const type = (NFNL_SUBSYS_NFTABLES << 8) | (isDel ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM);
      const flags = NLM_F_REQUEST | NLM_F_ACK | (isDel ? 0 : NLM_F_CREATE) | (op.op === 'create' ? NLM_F_EXCL : 0);
      let i = 0;
      while (i < op.elements.length) {
        const seq = this.seq++;
        seqToOp.set(seq, idx);
        lastSeq = seq;
        const m = w.msgBegin(type, flags, seq, NFPROTO_INET, 0);
        w.strz(NFTA_SET_ELEM_LIST_TABLE, op.table);
        w.strz(NFTA_SET_ELEM_LIST_SET, op.set);
        const list = w.begin(NLA_F_NESTED | NFTA_SET_ELEM_LIST_ELEMENTS);
        const start = w.len;
        while (i < op.elements.length && w.len - start < LIST_BUDGET) encodeElement(w, op.elements[i++], !isDel);
        w.end(list);
        w.msgEnd(m);
      }
    });
    const e = w.msgBegin(NFNL_MSG_BATCH_END, NLM_F_REQUEST, this.seq++, 0, NFNL_SUBSYS_NFTABLES);
    w.msgEnd(e);
    if (lastSeq < 0) return undefined;
    const addr = Buffer.alloc(12);
    addr.writeUInt16LE(AF_NETLINK, 0);
    const sent = this.c.sendto(this.fd, w.buf, w.len, 0, addr, 12);
    if (sent !== w.len) {
      const en = this.c.errno();
      return [{ errno: en, message: `netlink send: ${this.c.strerror(en)}` }];
    }
    // Drain everything the kernel queued for this batch.
    const errors: NetlinkError[] = [];
    let acked = false;
    for (;;) {
      const n = Number(this.c.recv(this.fd, this.rx, this.rx.length, MSG_DONTWAIT));
      if (n < 0) {
        const en = this.c.errno();
        if (en === EAGAIN) break;
        errors.push({ errno: en, message: `netlink receive: ${this.c.strerror(en)}` });
        break;
      }
      let off = 0;
      while (off + 16 <= n) {
        const len = this.rx.readUInt32LE(off);
        const type = this.rx.readUInt16LE(off + 4);
        if (len < 16 || off + len > n) break;
        if (type === NLMSG_ERROR && len >= 20) {
          const code = -this.rx.readInt32LE(off + 16);
          const seq = len >= 36 ? this.rx.readUInt32LE(off + 20 + 8) : -1;
          if (seq >= first && seq < this.seq) {
            if (code === 0) {
              if (seq === lastSeq) acked = true;
            } else errors.push({ errno: code, message: this.c.strerror(code), opIndex: seqToOp.get(seq) });
          }
        }
        off += (len + 3) & ~3;
      }
    }
    if (errors.length > 0) return errors;
    if (!acked) return [{ errno: 0, message: 'no acknowledgement from the kernel for the batch' }];
    return undefined;
  }
}
