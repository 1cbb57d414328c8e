/**
 * One UDP socket per address family for everything GIST sends and receives
 * over UDP: Q-mode (RFC 5971 s5.3.2: Router Alert Option, DF set, optionally
 * TTL 255 and the flow's DS field) and normal D-mode encapsulation (s5.3.1).
 *
 * Why one socket and synchronous sends: Q-mode needs IP options per packet
 * and Node's dgram has no per-packet options and sends asynchronously (after a
 * lookup tick). Here every send is a synchronous call through koffi: sendto()
 * for a packet without options of its own, sendmsg() with the RAO, TTL and
 * DS field as ancillary data for one with (ancillary.ts), so the socket's
 * options never change between packets and no packet can leave with another
 * packet's options. Node's dgram wraps the same fd only to receive. The
 * Query's source port is therefore the port on which the node receives
 * replies (s5.3.2.3).
 *
 * Sending IPv4 RAO needs no capability (the kernel checks CAP_NET_RAW only
 * for unknown options); IPv6 IPV6_HOPOPTS needs CAP_NET_RAW
 * (../../../shared notes router-alert.md s1, s4).
 */
import dgram from 'node:dgram';
import { err, ok, type Result } from '../../common/result';
import { DriverError, EAGAIN, EINVAL, EMSGSIZE, EPERM, privilegeHint } from './errors';
import { canonicalAddress, ipVersionOf } from './ip-address';
import {
  AF_INET,
  AF_INET6,
  IP_MTU_DISCOVER,
  IP_PMTUDISC_DO,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_FLOWINFO_SEND,
  IPV6_FLOWLABEL_MGR,
  IPV6_MTU_DISCOVER,
  IPV6_V6ONLY,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_SNDBUF,
  int32,
  libc,
  setIntOption,
  sockaddr,
} from './libc';
import { sendWithOptions } from './ancillary';

/** Per-packet IP-level attributes. */
export interface UdpSendOptions {
  /** Router Alert value: when present the packet is Q-mode (RAO in the IP header, DF set). */
  readonly rao?: number;
  /** IP TTL / IPv6 Hop Limit; undefined = the system default (s5.8.1.3: 255 for upstream Queries). */
  readonly ttl?: number;
  /** The whole IPv4 TOS / IPv6 Traffic Class byte (DS field << 2); undefined = 0. */
  readonly tos?: number;
  /**
   * Don't Fragment (IPv4 DF / IPv6: no local fragmentation, EMSGSIZE instead). Default: set, for
   * every packet. Q-mode MUST have it (RFC 5971 s5.3.2.1); a D-mode message may not exceed the path
   * MTU either (s5.3.1: larger ones go over C-mode), so it never needs fragments, and Linux sets
   * DF on such packets anyway (IP_PMTUDISC_WANT). One setting for all: no setsockopt between a
   * Query and a Confirm.
   */
  readonly dontFragment?: boolean;
  /**
   * IPv6 flow label (20 bits) to put in the header; ignored on IPv4. RFC 5971 s5.8.1.2: a Q-mode
   * Query SHOULD carry the flow label of the MRI so that it takes the flow's path. Undefined = the
   * kernel's choice (automatic flow labels), as for every other packet.
   */
  readonly flowLabel?: number;
}

export interface UdpEndpoint {
  readonly address: string;
  readonly port: number;
}

export interface ReceivedDatagram {
  readonly from: UdpEndpoint;
  readonly bytes: Uint8Array;
}

export interface GistUdpSocketOptions {
  /** Local address to bind: '0.0.0.0', '::' or a literal of this host. */
  readonly address: string;
  /** 0 = ephemeral (tests); GIST's is 270 (needs root or CAP_NET_BIND_SERVICE). */
  readonly port: number;
  /** Kernel receive (and send) buffer; SO_RCVBUFFORCE when privileged, else capped at net.core.rmem_max. Default 16 MiB: a burst of thousands of Queries or Confirms must not overflow it (the kernel counts ~1-2 KiB per small datagram). */
  readonly receiveBufferBytes?: number;
  /** Packets kept while the kernel says EAGAIN; beyond this, sends fail. Default 16384. */
  readonly maxQueuedPackets?: number;
}

/** The one success value (no object per packet). */
const SENT: Result<void, DriverError> = ok(undefined);

const SO_RCVBUFFORCE = 33;
const SO_SNDBUFFORCE = 32;
const PMTUDISC_WANT = 1;

interface Queued {
  to: Uint8Array;
  bytes: Uint8Array;
  opts: UdpSendOptions | undefined;
}

export class GistUdpSocket {
  private readonly sock: dgram.Socket;
  private closed = false;
  private readonly queue: Queued[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  /** address -> port -> struct sockaddr, so a send builds no key string. */
  private readonly addrCache = new Map<string, Map<number, Uint8Array>>();
  private addrCacheSize = 0;
  /** DF as set on the socket now (set at open; changed only for a packet that asks for no DF). */
  private curDf = true;
  /** IPV6_FLOWINFO_SEND is on (set at the first packet with a flow label; sin6_flowinfo 0 keeps the kernel's label). */
  private flowInfoSend = false;
  /** Flow labels leased with IPV6_FLOWLABEL_MGR (needed only while some socket holds a label exclusively). */
  private readonly leasedLabels = new Set<number>();
  private readonly maxQueued: number;
  /** Datagrams dropped because the EAGAIN queue was full. */
  droppedSends = 0;
  /** setsockopt() calls made between sends (only for a packet that asks for no DF). */
  optionCalls = 0;
  /** Packets sent with sendmsg() and their RAO / TTL / DS field as ancillary data (ancillary.ts). */
  ancillarySends = 0;
  onDatagram: (d: ReceivedDatagram) => void = () => undefined;
  /**
   * Every received datagram, source address in canonical text; the default
   * builds a ReceivedDatagram for `onDatagram`. The driver sets this one (no
   * object per datagram).
   */
  onPacket: (fromAddress: string, fromPort: number, bytes: Uint8Array) => void = (address, port, bytes) =>
    this.onDatagram({ from: { address, port }, bytes });
  onError: (e: Error) => void = () => undefined;
  /** rinfo.address text -> canonical text (peers are few; bounded). */
  private readonly canonical = new Map<string, string>();

  private constructor(
    private readonly fd: number,
    readonly ipVersion: 4 | 6,
    sock: dgram.Socket,
    readonly address: string,
    readonly port: number,
    maxQueued: number,
  ) {
    this.sock = sock;
    this.maxQueued = maxQueued;
    sock.on('message', (msg, rinfo) => {
      this.onPacket(this.canonicalText(rinfo.address), rinfo.port, new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
    });
    sock.on('error', (e) => this.onError(e));
  }

  private canonicalText(text: string): string {
    let c = this.canonical.get(text);
    if (c === undefined) {
      c = canonicalAddress(text) ?? text;
      if (this.canonical.size >= 1024) this.canonical.clear();
      this.canonical.set(text, c);
    }
    return c;
  }

  static async open(o: GistUdpSocketOptions): Promise<GistUdpSocket> {
    const v = ipVersionOf(o.address);
    if (v === undefined) throw new DriverError('DRIVER_BAD_ADDRESS', `not an IP address literal: '${o.address}'`);
    const sa = sockaddr(o.address, o.port);
    if (sa === undefined) throw new DriverError('DRIVER_BAD_ADDRESS', `not an IP address literal: '${o.address}'`);
    const c = libc();
    const fd = c.socket(v === 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      const e = c.errno();
      throw new DriverError('DRIVER_SOCKET', `socket() failed: errno ${e}`, e);
    }
    try {
      if (v === 6) setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, 'IPV6_V6ONLY');
      const rcv = o.receiveBufferBytes ?? 16 * 1024 * 1024;
      if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, int32(rcv), 4) !== 0) c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, int32(rcv), 4);
      if (c.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, int32(rcv), 4) !== 0) c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, int32(rcv), 4);
      // DF for every packet (UdpSendOptions.dontFragment), set once.
      setIntOption(fd, v === 4 ? IPPROTO_IP : IPPROTO_IPV6, v === 4 ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER, IP_PMTUDISC_DO, 'MTU_DISCOVER');
      if (c.bind(fd, sa, sa.length) !== 0) {
        const e = c.errno();
        const code = e === EPERM || e === 13 ? 'DRIVER_NEEDS_PRIVILEGE' : 'DRIVER_SOCKET';
        throw new DriverError(code, `bind(${o.address} port ${o.port}) failed: errno ${e}${privilegeHint(e)}`, e);
      }
    } catch (e) {
      c.close(fd);
      throw e;
    }
    const sock = dgram.createSocket({ type: v === 4 ? 'udp4' : 'udp6' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      // dgram takes ownership of the fd (it closes it on close()).
      sock.bind({ fd }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    const bound = sock.address();
    return new GistUdpSocket(fd, v, sock, canonicalAddress(bound.address) ?? bound.address, bound.port, o.maxQueuedPackets ?? 16384);
  }

  /**
   * Sends one datagram now (or, if the kernel's buffer is full, as soon as it
   * drains; order is kept). Errors are returned, never thrown.
   */
  send(toAddress: string, toPort: number, bytes: Uint8Array, opts?: UdpSendOptions): Result<void, DriverError> {
    if (this.closed) return err(new DriverError('DRIVER_CLOSED', 'UDP socket closed'));
    let to = this.addrCache.get(toAddress)?.get(toPort);
    if (to === undefined) {
      to = sockaddr(toAddress, toPort);
      if (to === undefined || ipVersionOf(toAddress) !== this.ipVersion)
        return err(new DriverError('DRIVER_BAD_ADDRESS', `cannot send to '${toAddress}' from an IPv${this.ipVersion} socket`));
      if (this.addrCacheSize >= 4096) {
        this.addrCache.clear();
        this.addrCacheSize = 0;
      }
      let byPort = this.addrCache.get(toAddress);
      if (byPort === undefined) this.addrCache.set(toAddress, (byPort = new Map()));
      byPort.set(toPort, to);
      this.addrCacheSize++;
    }
    if (this.ipVersion === 6 && opts?.flowLabel !== undefined) {
      const label = opts.flowLabel;
      if (!Number.isInteger(label) || label < 0 || label > 0xfffff) return err(new DriverError('DRIVER_BAD_ADDRESS', `not a 20-bit IPv6 flow label: ${label}`));
      if (!this.flowInfoSend) {
        if (libc().setsockopt(this.fd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, int32(1), 4) !== 0) {
          const e = libc().errno();
          return err(new DriverError('DRIVER_SOCKET', `setsockopt(IPV6_FLOWINFO_SEND) failed: errno ${e}${privilegeHint(e)}`, e));
        }
        this.flowInfoSend = true;
      }
      // sin6_flowinfo (bytes 4..7, network order) carries the label; a copy, the cached sockaddr keeps 0.
      const labelled = to.slice();
      new DataView(labelled.buffer).setUint32(4, label);
      to = labelled;
    }
    if (this.queue.length > 0) return this.enqueue({ to, bytes, opts });
    const r = this.trySend(to, bytes, opts);
    if (r === 'again') return this.enqueue({ to, bytes, opts });
    return r;
  }

  /** Packets waiting for buffer space. */
  get queuedPackets(): number {
    return this.queue.length;
  }

  private enqueue(q: Queued): Result<void, DriverError> {
    if (this.queue.length >= this.maxQueued) {
      this.droppedSends++;
      return err(new DriverError('DRIVER_SEND', 'UDP send queue full', EAGAIN));
    }
    this.queue.push(q);
    this.scheduleRetry();
    return ok(undefined);
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, 1);
  }

  private flush(): void {
    let i = 0;
    for (; i < this.queue.length && !this.closed; i++) {
      const q = this.queue[i];
      const r = this.trySend(q.to, q.bytes, q.opts);
      if (r === 'again') break;
      if (!r.ok) this.onError(r.error);
    }
    this.queue.splice(0, i);
    if (this.queue.length > 0 && !this.closed) this.scheduleRetry();
  }

  private trySend(to: Uint8Array, bytes: Uint8Array, opts: UdpSendOptions | undefined): Result<void, DriverError> | 'again' {
    const o = this.applyDf(opts?.dontFragment ?? true);
    if (o !== undefined) return o;
    const n = this.sendOnce(to, bytes, opts);
    if (n >= 0) return SENT;
    if (n === -2) return err(new DriverError('DRIVER_SEND', `a UDP payload of ${bytes.length} bytes cannot be sent`, EMSGSIZE));
    const c = libc();
    const e = c.errno();
    if (e === EAGAIN) return 'again';
    if (e === EINVAL && this.ipVersion === 6 && opts?.flowLabel !== undefined && opts.flowLabel !== 0 && this.leaseLabel(opts.flowLabel, to)) {
      // Linux refuses an unleased label only while some socket holds a label exclusively: lease it, once.
      if (this.sendOnce(to, bytes, opts) >= 0) return SENT;
      const e2 = c.errno();
      if (e2 === EAGAIN) return 'again';
      return err(new DriverError('DRIVER_SEND', `sendmsg failed: errno ${e2}${privilegeHint(e2)}`, e2));
    }
    const code = e === EPERM ? 'DRIVER_NEEDS_PRIVILEGE' : 'DRIVER_SEND';
    return err(new DriverError(code, `send failed: errno ${e}${privilegeHint(e)}`, e));
  }

  /**
   * sendto(), or for a packet with its own RAO / TTL / DS field sendmsg() with them as ancillary
   * data (ancillary.ts): the socket's options stay as they are, whatever the packets in between.
   */
  private sendOnce(to: Uint8Array, bytes: Uint8Array, opts: UdpSendOptions | undefined): number {
    if (opts === undefined || (opts.rao === undefined && opts.ttl === undefined && opts.tos === undefined))
      return libc().sendto(this.fd, bytes, bytes.length, 0, to, to.length);
    this.ancillarySends++;
    return sendWithOptions(this.fd, this.ipVersion, to, bytes, { rao: opts.rao ?? -1, ttl: opts.ttl ?? -1, tos: opts.tos ?? -1 });
  }

  /**
   * IPV6_FLOWLABEL_MGR, action GET with CREATE, shared with anyone (struct in6_flowlabel_req,
   * <linux/in6.h>): lets this socket send `label` to the address in `to`. false when refused.
   */
  private leaseLabel(label: number, to: Uint8Array): boolean {
    if (this.leasedLabels.has(label)) return false; // leased already: the EINVAL is something else
    if (this.leasedLabels.size >= 1024) return false;
    const req = new Uint8Array(32);
    req.set(to.subarray(8, 24), 0); // flr_dst
    const v = new DataView(req.buffer);
    v.setUint32(16, label); // flr_label, network order
    req[20] = 0; // flr_action IPV6_FL_A_GET
    req[21] = 255; // flr_share IPV6_FL_S_ANY
    v.setUint16(22, 1, true); // flr_flags IPV6_FL_F_CREATE
    if (libc().setsockopt(this.fd, IPPROTO_IPV6, IPV6_FLOWLABEL_MGR, req, req.length) !== 0) return false;
    this.leasedLabels.add(label);
    return true;
  }

  /** DF: set on the socket at open; only a packet that asks for no DF changes it (and the next one back). */
  private applyDf(df: boolean): Result<void, DriverError> | undefined {
    if (df === this.curDf) return undefined;
    this.optionCalls++;
    const v4 = this.ipVersion === 4;
    // RFC 5971 s5.3.2.1: Q-mode packets are sent with DF, since fragments cannot be intercepted.
    const val = df ? IP_PMTUDISC_DO : PMTUDISC_WANT;
    if (libc().setsockopt(this.fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER, int32(val), 4) !== 0) return this.optionFailure('MTU_DISCOVER');
    this.curDf = df;
    return undefined;
  }

  private optionFailure(what: string): Result<void, DriverError> {
    const e = libc().errno();
    const code = e === EPERM ? 'DRIVER_NEEDS_PRIVILEGE' : 'DRIVER_SOCKET';
    return err(new DriverError(code, `setsockopt(${what}) failed: errno ${e}${privilegeHint(e)}`, e));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.queue.length = 0;
    return new Promise((resolve) => {
      try {
        this.sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
