/**
 * The real driver of a GIST node: binds the node's UDP ports (D-mode, and the
 * Q-mode port 270) and its C-mode TCP port, optionally intercepts Q-mode
 * packets on their way through this host, arms one timer for the core's
 * `nextDeadline()`, and performs what the core asks (gist/core/driver-api.ts).
 *
 * Drain rule (driver-api.ts): after every call into the core, poll
 * `pollTransmit()` until it is empty, perform each action in order, then re-arm
 * the timer. NSLP calls from outside a core event must go through `run()` (or
 * the `wrapService()` proxy), which drains afterwards.
 */
import { networkInterfaces } from 'node:os';
import type { GistService } from '../api';
import type { GistNode } from '../core';
import type { ConnId, DatagramDisposition, GistDriverFacing, InboundDatagram, Transmit, TransportAddress } from '../core/driver-api';
import { monotonicNow, type Clock } from './clock';
import { DriverError } from './errors';
import {
  NfqueueInterceptor,
  RouterAlertSocketInterceptor,
  type InterceptedPacket,
  type InterceptVerdict,
  type QueryInterceptor,
} from './interceptor';
import { canonicalAddress } from './ip-address';
import { GistTcpTransport } from './tcp-transport';
import { DeadlineTimer } from './timer';
import { GistUdpSocket } from './udp-socket';
import { DEFAULT_WARM_UP_HANDSHAKES, warmUpOnce, type RehearsalDriver, type WarmUpReport } from './warmup';

type UdpTransmit = Extract<Transmit, { kind: 'udp' }>;

export type InterceptionMode = 'nfqueue' | 'router-alert-socket' | 'none';

export interface RealGistDriverOptions {
  /**
   * Local addresses to bind the UDP and TCP sockets to. Default: every
   * address of this host's interfaces (IPv4 and non-link-local IPv6) at
   * start, so each datagram's local address and each send's source address
   * are exact. '0.0.0.0' / '::' also work (the kernel then picks sources).
   */
  readonly bindAddresses?: readonly string[];
  /** How Q-mode packets passing through this host reach the node. Default 'none' (end host). */
  readonly interception?: InterceptionMode;
  /** NFQUEUE number for 'nfqueue'. Default 270. */
  readonly nfqueueNum?: number;
  /** IP versions to intercept. Default: the versions of the bound addresses. */
  readonly interceptIpVersions?: readonly (4 | 6)[];
  /** Allow installing the interception rule outside a named netns (a real router). */
  readonly allowAnyNamespace?: boolean;
  /** Q-mode candidates per second handed to the core (RFC 5971 s5.3.2.3 rate limiter). Default 100,000. */
  readonly interceptMaxPerSecond?: number;
  readonly clock?: Clock;
  /**
   * Handshakes to rehearse in memory before the first driver of this process
   * starts (warmup.ts: no socket, no traffic, no state kept; it only moves
   * V8's warm-up out of the first real sessions). Default 2,000; 0 skips it.
   * Only the first start() in a process ever runs it.
   */
  readonly warmUp?: number;
  /** Errors that have no caller to go to (a failed send, a core exception). Default: ignored. */
  readonly onError?: (e: Error) => void;
}

export interface DriverStats {
  udpSent: number;
  qmodeSent: number;
  udpReceived: number;
  sendErrors: number;
  /** UDP sends whose requested source address had no socket of its own (the kernel chose the source). */
  sourceSubstituted: number;
  tcpConnects: number;
  tcpAccepted: number;
  intercepted: number;
  coreErrors: number;
}

/** Local interface addresses, canonical text; link-local IPv6 left out (it needs a scope). */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80')) continue;
      const c = canonicalAddress(a.address);
      if (c !== undefined && !out.includes(c)) out.push(c);
    }
  }
  return out;
}

export class RealGistDriver {
  readonly stats: DriverStats = {
    udpSent: 0,
    qmodeSent: 0,
    udpReceived: 0,
    sendErrors: 0,
    sourceSubstituted: 0,
    tcpConnects: 0,
    tcpAccepted: 0,
    intercepted: 0,
    coreErrors: 0,
  };
  private readonly clock: Clock;
  private lastNow = -Infinity;
  private readonly timer: DeadlineTimer;
  private readonly sockets: GistUdpSocket[] = [];
  /** address -> port -> socket (nested maps: no key string per send). */
  private readonly byEndpoint = new Map<string, Map<number, GistUdpSocket>>();
  private tcp: GistTcpTransport | undefined;
  private interceptor: QueryInterceptor | undefined;
  private closed = false;
  private readonly onError: (e: Error) => void;
  /** Rehearsal mode only (warmup.ts): where UDP transmits go instead of a socket. */
  private rehearsalSink: ((from: RealGistDriver, t: UdpTransmit) => void) | undefined;
  /** Local endpoint objects handed to the core with each datagram, one per (address, port): no allocation per datagram. */
  private readonly localEndpoints = new Map<string, Map<number, TransportAddress>>();
  /** The warm-up this start() ran, if it was the process's first. */
  warmUpReport: WarmUpReport | undefined;
  /** Called after every drain (every core call the driver made or ran): e.g. to check a condition on the node without polling. */
  onDrained: (() => void) | undefined;

  private constructor(
    readonly core: GistDriverFacing,
    private readonly opts: RealGistDriverOptions,
  ) {
    this.clock = opts.clock ?? monotonicNow;
    this.onError = opts.onError ?? (() => undefined);
    this.timer = new DeadlineTimer(this.clock, () => this.run((now) => this.core.handleTimeout(now)));
  }

  /** Binds the sockets the core's `listen` names, starts interception if asked, and arms the timer. */
  static async start(core: GistDriverFacing, opts: RealGistDriverOptions = {}): Promise<RealGistDriver> {
    const warm = await RealGistDriver.warmUp({
      handshakes: opts.warmUp,
      ipVersions: (opts.bindAddresses ?? localAddresses()).map((a) => (a.includes(':') ? 6 : 4)),
    });
    const d = new RealGistDriver(core, opts);
    d.warmUpReport = warm;
    try {
      await d.open();
    } catch (e) {
      await d.close();
      throw e;
    }
    d.drain();
    return d;
  }

  /**
   * The start-up rehearsal of warmup.ts, once per process (later calls resolve
   * to undefined at once). start() runs it too, but a program that calls it
   * BEFORE creating its GIST node gets more out of it: objects created before
   * the rehearsal keep V8 maps that the rehearsal then outgrows, which costs a
   * deoptimization at their first real use. `handshakes` default 2,000, 0 = none.
   */
  static warmUp(o: { handshakes?: number; ipVersions?: readonly (4 | 6)[] } = {}): Promise<WarmUpReport | undefined> {
    return warmUpOnce(o.handshakes ?? DEFAULT_WARM_UP_HANDSHAKES, o.ipVersions ?? [4], (c, sink) => RealGistDriver.rehearsal(c, sink));
  }

  private async open(): Promise<void> {
    const addrs = (this.opts.bindAddresses ?? localAddresses()).map((a) => {
      const c = canonicalAddress(a);
      if (c === undefined) throw new DriverError('DRIVER_BAD_ADDRESS', `not an IP address literal: '${a}'`);
      return c;
    });
    const { udpPort, qmodePort, tcpPort } = this.core.listen;
    const ports = [...new Set([udpPort, qmodePort])];
    for (const address of addrs) {
      for (const port of ports) {
        const s = await GistUdpSocket.open({ address, port });
        const local = this.localEndpoint(s.address, s.port);
        s.onPacket = (fromAddress, fromPort, bytes) => this.onUdp(local, fromAddress, fromPort, bytes);
        s.onError = (e) => this.fail(e);
        this.sockets.push(s);
        let byPort = this.byEndpoint.get(s.address);
        if (byPort === undefined) this.byEndpoint.set(s.address, (byPort = new Map()));
        byPort.set(s.port, s);
      }
    }
    this.tcp = await GistTcpTransport.open(
      {
        accepted: (local, remote) => {
          this.stats.tcpAccepted++;
          let id: ConnId = -1;
          this.run((now) => {
            id = this.core.handleStreamAccepted(now, { local, remote });
          });
          return id;
        },
        opened: (id) => this.run((now) => this.core.handleStreamOpened(now, id)),
        data: (id, bytes) => this.run((now) => this.core.handleStreamData(now, id, bytes)),
        closed: (id, e) => this.run((now) => this.core.handleStreamClosed(now, id, e?.message)),
      },
      { listenAddresses: addrs, port: tcpPort },
    );
    const mode = this.opts.interception ?? 'none';
    const common = { gistPort: qmodePort, clock: this.clock, maxPerSecond: this.opts.interceptMaxPerSecond };
    const handler = (p: InterceptedPacket): InterceptVerdict => this.onIntercepted(p);
    if (mode === 'nfqueue') {
      this.interceptor = NfqueueInterceptor.open(handler, {
        ...common,
        queueNum: this.opts.nfqueueNum,
        ipVersions: this.opts.interceptIpVersions ?? [...new Set(this.sockets.map((s) => s.ipVersion))],
        allowAnyNamespace: this.opts.allowAnyNamespace,
      });
    } else if (mode === 'router-alert-socket') {
      this.interceptor = RouterAlertSocketInterceptor.open(handler, common);
    }
  }

  /** The bound ports (useful when the core asked for port 0). */
  get ports(): { udp: number; qmode: number; tcp: number } {
    const { udpPort, qmodePort } = this.core.listen;
    const find = (p: number): number => (p !== 0 ? p : (this.sockets[0]?.port ?? 0));
    return { udp: find(udpPort), qmode: find(qmodePort), tcp: this.tcp?.port ?? 0 };
  }

  /** setsockopt() calls made between sends to change per-packet options, over all UDP sockets. */
  get optionCalls(): number {
    let n = 0;
    for (const s of this.sockets) n += s.optionCalls;
    return n;
  }

  get interceptorStats(): QueryInterceptor['stats'] | undefined {
    return this.interceptor?.stats;
  }

  /** Monotonic, never-decreasing driver time in ms. */
  now(): number {
    const t = this.clock();
    if (t > this.lastNow) this.lastNow = t;
    return this.lastNow;
  }

  /** Calls into the core with the current time, then drains its actions. */
  run<T>(fn: (now: number) => T): T | undefined {
    if (this.closed) return undefined;
    let out: T | undefined;
    try {
      out = fn(this.now());
    } catch (e) {
      this.stats.coreErrors++;
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
    this.drain();
    return out;
  }

  /**
   * A GistService whose calls take the driver's clock as `now` (the `now`
   * argument is ignored, so it can never go backwards) and drain afterwards.
   */
  wrapService(svc: GistService): GistService {
    return {
      events: svc.events,
      sendMessage: (_now, req) => void this.run((now) => svc.sendMessage(now, req)),
      setStateLifetime: (_now, nslpId, mri, sid, ms) => void this.run((now) => svc.setStateLifetime(now, nslpId, mri, sid, ms)),
      invalidateRoutingState: (_now, req) => void this.run((now) => svc.invalidateRoutingState(now, req)),
      registerNslp: (nslpId) => void this.run(() => svc.registerNslp(nslpId)),
    };
  }

  /** Performs every pending action of the core, then re-arms the timer. */
  drain(): void {
    if (this.closed) return;
    for (let i = 0; i < 1_000_000; i++) {
      let t: Transmit | undefined;
      try {
        t = this.core.pollTransmit();
      } catch (e) {
        this.stats.coreErrors++;
        this.fail(e instanceof Error ? e : new Error(String(e)));
        break;
      }
      if (t === undefined) break;
      this.perform(t);
    }
    this.timer.set(this.core.nextDeadline());
    if (this.onDrained !== undefined) {
      try {
        this.onDrained();
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  private perform(t: Transmit): void {
    switch (t.kind) {
      case 'udp': {
        if (this.rehearsalSink !== undefined) {
          this.rehearsalSink(this, t);
          return;
        }
        const s = this.socketFor(t.source.address, t.source.port, t.ipVersion);
        if (s === undefined) {
          this.stats.sendErrors++;
          this.fail(new DriverError('DRIVER_SEND', `no IPv${t.ipVersion} UDP socket to send from ${t.source.address} port ${t.source.port}`));
          return;
        }
        const q = t.qmode;
        const r = s.send(
          t.destination.address,
          t.destination.port,
          t.bytes,
          q === undefined
            ? undefined
            : // RFC 5971 s5.8.1.2: the Query mimics the flow: its DS field and (IPv6) flow label from the MRI.
              { rao: q.routerAlert, ttl: q.ipTtl, tos: q.dscp === undefined ? undefined : (q.dscp & 0x3f) << 2, dontFragment: q.dontFragment, flowLabel: q.flowLabel },
        );
        if (!r.ok) {
          this.stats.sendErrors++;
          this.fail(r.error);
          return;
        }
        this.stats.udpSent++;
        if (q !== undefined) this.stats.qmodeSent++;
        return;
      }
      case 'tcp-connect':
        this.stats.tcpConnects++;
        this.tcp?.connect(t.connId, t.remote.address, t.remote.port, t.localAddress);
        return;
      case 'tcp-send': {
        const r = this.tcp?.send(t.connId, t.bytes);
        if (r !== undefined && !r.ok) {
          this.stats.sendErrors++;
          this.fail(r.error);
        }
        return;
      }
      case 'tcp-close':
        this.tcp?.closeConnection(t.connId, t.abort === true);
        return;
    }
  }

  private socketFor(address: string, port: number, v: 4 | 6): GistUdpSocket | undefined {
    const exact = this.byEndpoint.get(address)?.get(port);
    if (exact !== undefined) return exact;
    this.stats.sourceSubstituted++;
    const wildcard = v === 4 ? '0.0.0.0' : '::';
    return (
      this.byEndpoint.get(wildcard)?.get(port) ??
      this.sockets.find((s) => s.ipVersion === v && s.port === port) ??
      this.sockets.find((s) => s.ipVersion === v)
    );
  }

  private localEndpoint(address: string, port: number): TransportAddress {
    let byPort = this.localEndpoints.get(address);
    if (byPort === undefined) this.localEndpoints.set(address, (byPort = new Map()));
    let e = byPort.get(port);
    if (e === undefined) byPort.set(port, (e = { address, port }));
    return e;
  }

  private onUdp(local: TransportAddress, fromAddress: string, fromPort: number, bytes: Uint8Array): void {
    this.stats.udpReceived++;
    const dg: InboundDatagram = { local, remote: { address: fromAddress, port: fromPort }, bytes };
    this.run((now) => this.core.handleDatagram(now, dg));
  }

  /**
   * A driver with no sockets whose UDP transmits go to `sink` (warmup.ts).
   * Everything else (run, drain, the timer, the datagram objects given to
   * the core) is the real driver's code, which is the point of rehearsing.
   */
  private static rehearsal(core: GistNode, sink: (from: RehearsalDriver, t: UdpTransmit) => void): RehearsalDriver {
    const d = new RealGistDriver(core, {});
    d.rehearsalSink = sink;
    d.drain();
    return d;
  }

  /** Rehearsal mode: `t` (sent by the peer driver) arrives as the socket would hand it over. */
  deliverRehearsal(t: UdpTransmit): void {
    if (this.rehearsalSink === undefined || this.closed) return;
    // As received: a view into a Node Buffer, like the bytes of a dgram 'message'.
    const buf = Buffer.allocUnsafe(t.bytes.length);
    buf.set(t.bytes);
    this.onUdp(this.localEndpoint(t.destination.address, t.destination.port), t.source.address, t.source.port, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
  }

  private onIntercepted(p: InterceptedPacket): InterceptVerdict {
    this.stats.intercepted++;
    const k = p.packet;
    const dg: InboundDatagram = {
      local: { address: k.destination, port: k.destinationPort },
      remote: { address: k.source, port: k.sourcePort },
      // A copy: the addon's buffer is reused after the verdict.
      bytes: k.payload.slice(),
      qmode: { routerAlert: k.rao, ipTtl: k.ttl, interface: p.inboundInterface },
    };
    const d: DatagramDisposition | undefined = this.run((now) => this.core.handleDatagram(now, dg));
    if (d === undefined) return { kind: 'forward' }; // the core failed: never black-hole the packet
    return d.kind === 'consume' ? { kind: 'consume' } : { kind: 'forward', payload: d.payload };
  }

  private fail(e: Error): void {
    try {
      this.onError(e);
    } catch {
      /* the error sink must not break the driver */
    }
  }

  /** Stops interception (removes the firewall rule), closes every socket and the timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer.close();
    await this.interceptor?.close();
    await this.tcp?.close();
    await Promise.all(this.sockets.map((s) => s.close()));
  }
}
