/**
 * A deterministic in-process network for GIST nodes: hosts with addresses,
 * point-to-point links with delay and loss, hop-by-hop datagram forwarding
 * with Router Alert interception (RFC 5971 s4.3.1, s5.3.2), and TCP-like
 * reliable in-order streams for C-mode. It is the simulated driver of
 * `gist/core/driver-api.ts`: it feeds attached nodes their inputs, drains
 * `pollTransmit()` after every call and arms their `nextDeadline()` on the
 * virtual clock.
 *
 * Routing is pluggable (`Routing.nextHop(host, dstAddress)`); the default is
 * hop-count shortest paths over the links that are up, with per-host
 * overrides, so tests and the simulator can move routes under running
 * sessions. Loss is drawn from a seeded PRNG; nothing reads the wall clock.
 */
import type { AcceptedStream, ConnId, GistDriverFacing, TransportAddress } from '../../gist/core/driver-api';
import { ClockEvent, VirtualClock } from './clock';
import { SeededRandom } from './prng';

export interface Routing {
  /** The neighbour host that `host` forwards a packet for `dstAddress` to; undefined = no route (drop). */
  nextHop(host: string, dstAddress: string): string | undefined;
}

export interface LinkOptions {
  /** One-way delay in ms (default 1). */
  readonly delayMs?: number;
  /** Probability in [0, 1] that a datagram crossing the link is lost (default 0). Streams are not affected. */
  readonly loss?: number;
  readonly up?: boolean;
}

interface Link {
  delayMs: number;
  loss: number;
  up: boolean;
}

/** A datagram in flight. */
export interface VirtualDatagram {
  readonly src: TransportAddress;
  readonly dst: TransportAddress;
  readonly payload: Uint8Array;
  readonly ttl: number;
  /** Router Alert Option value, when the IP header carries one. */
  readonly routerAlert?: number;
}

export type TraceEntry =
  | { readonly t: number; readonly kind: 'send'; readonly host: string; readonly dg: VirtualDatagram }
  | { readonly t: number; readonly kind: 'deliver'; readonly host: string; readonly dg: VirtualDatagram; readonly intercepted: boolean }
  | { readonly t: number; readonly kind: 'forward'; readonly host: string; readonly dg: VirtualDatagram; readonly modified: boolean }
  | { readonly t: number; readonly kind: 'drop'; readonly host: string; readonly dg: VirtualDatagram; readonly reason: string }
  | { readonly t: number; readonly kind: 'stream'; readonly host: string; readonly event: 'connect' | 'accept' | 'open' | 'data' | 'close' | 'fail'; readonly bytes?: number };

/**
 * Decides whether a datagram crossing from `from` to `to` is dropped (return
 * false). Lets tests lose one particular message, e.g. the first Response.
 */
export type DatagramFilter = (dg: VirtualDatagram, from: string, to: string) => boolean;

export class VirtualHost {
  node: GistDriverFacing | undefined;
  timerAt: number | undefined;
  timerGen = 0;
  nextEphemeralPort = 40000;

  constructor(
    readonly name: string,
    readonly addresses: string[],
  ) {}

  owns(address: string): boolean {
    return this.addresses.includes(address);
  }

  addressFor(version: 4 | 6): string | undefined {
    return this.addresses.find((a) => (version === 6) === a.includes(':'));
  }
}

interface StreamEnd {
  readonly host: string;
  readonly connId: ConnId;
}

interface VirtualStream {
  a: StreamEnd; // initiator
  b: StreamEnd | undefined; // acceptor (known once accepted)
  delayMs: number;
  open: boolean;
  /** Delivery time of the last segment in each direction, so delivery stays FIFO. */
  lastToA: number;
  lastToB: number;
}

/** A datagram arriving at a host: the clock event itself (no closure per datagram). */
class Arrival extends ClockEvent {
  constructor(
    private readonly net: VirtualNetwork,
    private readonly host: string,
    private readonly dg: VirtualDatagram,
    private readonly local: boolean,
  ) {
    super();
  }

  run(): void {
    this.net.arrive(this.host, this.dg, this.local);
  }
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

/** Hop-count shortest paths over links that are up, recomputed when the topology changes; per-host overrides win. */
export class ShortestPathRouting implements Routing {
  private cache = new Map<string, Map<string, string>>(); // host -> (dst host -> next hop)
  private overrides = new Map<string, Map<string, string | null>>(); // host -> (dst address -> next hop | null = blackhole)

  constructor(private readonly net: VirtualNetwork) {}

  invalidate(): void {
    this.cache.clear();
  }

  /** Force `host` to send packets for `dstAddress` to `nextHop` (null: no route). */
  setNextHop(host: string, dstAddress: string, nextHop: string | null): void {
    let m = this.overrides.get(host);
    if (m === undefined) this.overrides.set(host, (m = new Map()));
    m.set(dstAddress, nextHop);
  }

  clearNextHop(host: string, dstAddress: string): void {
    this.overrides.get(host)?.delete(dstAddress);
  }

  nextHop(host: string, dstAddress: string): string | undefined {
    const o = this.overrides.get(host)?.get(dstAddress);
    if (o !== undefined) return o ?? undefined;
    const dstHost = this.net.hostOf(dstAddress);
    if (dstHost === undefined) return undefined;
    let table = this.cache.get(host);
    if (table === undefined) {
      table = this.bfs(host);
      this.cache.set(host, table);
    }
    return table.get(dstHost);
  }

  /** First hop from `src` to every reachable host, by BFS in host insertion order (deterministic ties). */
  private bfs(src: string): Map<string, string> {
    const first = new Map<string, string>();
    const seen = new Set<string>([src]);
    const queue: string[] = [];
    for (const n of this.net.neighbours(src)) {
      if (seen.has(n)) continue;
      seen.add(n);
      first.set(n, n);
      queue.push(n);
    }
    for (let i = 0; i < queue.length; i++) {
      const cur = queue[i];
      for (const n of this.net.neighbours(cur)) {
        if (seen.has(n)) continue;
        seen.add(n);
        first.set(n, first.get(cur) as string);
        queue.push(n);
      }
    }
    return first;
  }
}

export interface VirtualNetworkOptions {
  readonly clock?: VirtualClock;
  readonly seed?: number;
  /** Default IP TTL for datagrams whose sender does not set one. */
  readonly defaultTtl?: number;
  /** Keep a trace of datagram and stream events (bounded by traceLimit). */
  readonly trace?: boolean;
  readonly traceLimit?: number;
}

export class VirtualNetwork {
  readonly clock: VirtualClock;
  readonly random: SeededRandom;
  readonly trace: TraceEntry[] = [];
  readonly shortestPath: ShortestPathRouting;
  private routing: Routing;
  private readonly hosts = new Map<string, VirtualHost>();
  private readonly byAddress = new Map<string, string>();
  private readonly links = new Map<string, Link>();
  /** The same links by host, then neighbour (both ways): looked up per datagram without building a key. */
  private readonly linkTo = new Map<string, Map<string, Link>>();
  private readonly adjacency = new Map<string, string[]>();
  private readonly streams = new Map<string, VirtualStream>(); // `${host}/${connId}` -> stream
  private readonly filters: DatagramFilter[] = [];
  private readonly defaultTtl: number;
  private readonly tracing: boolean;
  private readonly traceLimit: number;
  /** Counters for tests and benches. */
  readonly stats = { datagramsSent: 0, datagramsDelivered: 0, datagramsLost: 0, datagramsIntercepted: 0, streamBytes: 0 };

  constructor(opts: VirtualNetworkOptions = {}) {
    this.clock = opts.clock ?? new VirtualClock();
    this.random = new SeededRandom(opts.seed ?? 1);
    this.defaultTtl = opts.defaultTtl ?? 64;
    this.tracing = opts.trace ?? false;
    this.traceLimit = opts.traceLimit ?? 100_000;
    this.shortestPath = new ShortestPathRouting(this);
    this.routing = this.shortestPath;
  }

  get now(): number {
    return this.clock.now;
  }

  setRouting(r: Routing): void {
    this.routing = r;
  }

  addHost(name: string, addresses: string[]): VirtualHost {
    if (this.hosts.has(name)) throw new Error(`vnet: host '${name}' exists`);
    for (const a of addresses) {
      if (this.byAddress.has(a)) throw new Error(`vnet: address ${a} already on host '${this.byAddress.get(a)}'`);
    }
    const h = new VirtualHost(name, [...addresses]);
    this.hosts.set(name, h);
    for (const a of addresses) this.byAddress.set(a, name);
    this.adjacency.set(name, []);
    this.shortestPath.invalidate();
    return h;
  }

  host(name: string): VirtualHost {
    const h = this.hosts.get(name);
    if (h === undefined) throw new Error(`vnet: no host '${name}'`);
    return h;
  }

  hostOf(address: string): string | undefined {
    return this.byAddress.get(address);
  }

  /** Creates or updates the link between two hosts. */
  link(a: string, b: string, opts: LinkOptions = {}): void {
    this.host(a);
    this.host(b);
    const key = linkKey(a, b);
    const existing = this.links.get(key);
    const l: Link = {
      delayMs: opts.delayMs ?? existing?.delayMs ?? 1,
      loss: opts.loss ?? existing?.loss ?? 0,
      up: opts.up ?? existing?.up ?? true,
    };
    this.links.set(key, l);
    this.linkMap(a).set(b, l);
    this.linkMap(b).set(a, l);
    if (existing === undefined) {
      (this.adjacency.get(a) as string[]).push(b);
      (this.adjacency.get(b) as string[]).push(a);
    }
    this.shortestPath.invalidate();
  }

  private linkMap(host: string): Map<string, Link> {
    let m = this.linkTo.get(host);
    if (m === undefined) this.linkTo.set(host, (m = new Map()));
    return m;
  }

  setLinkUp(a: string, b: string, up: boolean): void {
    this.link(a, b, { up });
  }

  /** Neighbours over links that are up. */
  neighbours(host: string): string[] {
    return (this.adjacency.get(host) ?? []).filter((n) => this.links.get(linkKey(host, n))?.up === true);
  }

  addFilter(f: DatagramFilter): () => void {
    this.filters.push(f);
    return () => {
      const i = this.filters.indexOf(f);
      if (i >= 0) this.filters.splice(i, 1);
    };
  }

  /** Makes `node` the GIST instance of `hostName`; the network becomes its driver. */
  attach(hostName: string, node: GistDriverFacing): void {
    const h = this.host(hostName);
    h.node = node;
    this.pump(hostName);
  }

  /**
   * Drains the node's actions and re-arms its timer. Call after invoking the
   * node's NSLP API directly (sendMessage, ...); the network calls it itself
   * after every input it delivers. Without an argument, pumps every host.
   */
  pump(hostName?: string): void {
    if (hostName === undefined) {
      for (const name of this.hosts.keys()) this.pump(name);
      return;
    }
    const h = this.host(hostName);
    const node = h.node;
    if (node === undefined) return;
    for (let i = 0; i < 1_000_000; i++) {
      const t = node.pollTransmit();
      if (t === undefined) break;
      switch (t.kind) {
        case 'udp':
          this.sendDatagram(hostName, {
            src: t.source,
            dst: t.destination,
            payload: t.bytes,
            ttl: t.qmode?.ipTtl ?? this.defaultTtl,
            routerAlert: t.qmode?.routerAlert,
          });
          break;
        case 'tcp-connect':
          this.connect(hostName, t.connId, t.remote, t.localAddress);
          break;
        case 'tcp-send':
          this.streamSend(hostName, t.connId, t.bytes);
          break;
        case 'tcp-close':
          this.streamClose(hostName, t.connId);
          break;
      }
    }
    this.armTimer(h);
  }

  private armTimer(h: VirtualHost): void {
    const node = h.node;
    if (node === undefined) return;
    const d = node.nextDeadline();
    if (d === undefined) return;
    if (h.timerAt !== undefined && h.timerAt <= d) return;
    h.timerAt = d;
    const gen = ++h.timerGen;
    this.clock.schedule(d, () => {
      if (gen !== h.timerGen) return;
      h.timerAt = undefined;
      node.handleTimeout(this.clock.now);
      this.pump(h.name);
    });
  }

  // ---- datagrams ----

  /** Sends a datagram originated at `fromHost` (the source address may be spoofed, e.g. Q-mode with S=0). */
  sendDatagram(fromHost: string, dg: VirtualDatagram): void {
    this.stats.datagramsSent++;
    if (this.tracing) this.record({ t: this.now, kind: 'send', host: fromHost, dg });
    const h = this.host(fromHost);
    if (h.owns(dg.dst.address)) {
      this.clock.scheduleEvent(this.now, new Arrival(this, fromHost, dg, true));
      return;
    }
    this.forwardFrom(fromHost, dg, false);
  }

  private forwardFrom(hostName: string, dg: VirtualDatagram, decrementTtl: boolean): void {
    const ttl = decrementTtl ? dg.ttl - 1 : dg.ttl;
    if (ttl <= 0) {
      if (this.tracing) this.record({ t: this.now, kind: 'drop', host: hostName, dg, reason: 'ttl' });
      return;
    }
    const next = this.routing.nextHop(hostName, dg.dst.address);
    if (next === undefined) {
      if (this.tracing) this.record({ t: this.now, kind: 'drop', host: hostName, dg, reason: 'no-route' });
      return;
    }
    const link = this.linkTo.get(hostName)?.get(next);
    if (link === undefined || !link.up) {
      if (this.tracing) this.record({ t: this.now, kind: 'drop', host: hostName, dg, reason: 'link-down' });
      return;
    }
    const out: VirtualDatagram = ttl === dg.ttl ? dg : { src: dg.src, dst: dg.dst, payload: dg.payload, ttl, routerAlert: dg.routerAlert };
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      if (!filters[i](out, hostName, next)) {
        this.stats.datagramsLost++;
        if (this.tracing) this.record({ t: this.now, kind: 'drop', host: hostName, dg: out, reason: 'filter' });
        return;
      }
    }
    if (link.loss > 0 && this.random.next() < link.loss) {
      this.stats.datagramsLost++;
      if (this.tracing) this.record({ t: this.now, kind: 'drop', host: hostName, dg: out, reason: 'loss' });
      return;
    }
    this.clock.scheduleEvent(this.now + Math.max(0, link.delayMs), new Arrival(this, next, out, false));
  }

  /** A datagram reaches `hostName` (the clock event of an Arrival; not for callers outside this file). */
  arrive(hostName: string, dg: VirtualDatagram, local: boolean): void {
    const h = this.host(hostName);
    const node = h.node;
    if (h.owns(dg.dst.address)) {
      this.stats.datagramsDelivered++;
      if (this.tracing) this.record({ t: this.now, kind: 'deliver', host: hostName, dg, intercepted: false });
      if (node === undefined) return;
      if (dg.dst.port !== node.listen.udpPort && dg.dst.port !== node.listen.qmodePort) {
        if (this.tracing) this.record({ t: this.now, kind: 'drop', host: hostName, dg, reason: 'port-unreachable' });
        return;
      }
      node.handleDatagram(this.now, {
        local: dg.dst,
        remote: dg.src,
        bytes: dg.payload,
        ipTtl: dg.ttl,
        qmode: dg.routerAlert !== undefined ? { routerAlert: dg.routerAlert, ipTtl: dg.ttl } : undefined,
      });
      this.pump(hostName);
      return;
    }
    // Not ours: a Router Alert datagram to the GIST port is offered to the node on the path (s5.3.2.3).
    if (!local && node !== undefined && dg.routerAlert !== undefined && dg.dst.port === node.listen.qmodePort) {
      const disp = node.handleDatagram(this.now, {
        local: dg.dst,
        remote: dg.src,
        bytes: dg.payload,
        qmode: { routerAlert: dg.routerAlert, ipTtl: dg.ttl },
      });
      this.pump(hostName);
      if (disp.kind === 'consume') {
        this.stats.datagramsIntercepted++;
        if (this.tracing) this.record({ t: this.now, kind: 'deliver', host: hostName, dg, intercepted: true });
        return;
      }
      const fwd = disp.payload !== undefined ? { ...dg, payload: disp.payload } : dg;
      if (this.tracing) this.record({ t: this.now, kind: 'forward', host: hostName, dg: fwd, modified: disp.payload !== undefined });
      this.forwardFrom(hostName, fwd, true);
      return;
    }
    this.forwardFrom(hostName, dg, true);
  }

  // ---- streams (TCP-like: reliable, in order, no loss; delay = sum of link delays on the path at connect time) ----

  private pathDelay(from: string, dstAddress: string): number | undefined {
    let cur = from;
    let delay = 0;
    for (let hops = 0; hops < 256; hops++) {
      if (this.host(cur).owns(dstAddress)) return delay;
      const next = this.routing.nextHop(cur, dstAddress);
      if (next === undefined) return undefined;
      const l = this.links.get(linkKey(cur, next));
      if (l === undefined || !l.up) return undefined;
      delay += l.delayMs;
      cur = next;
    }
    return undefined;
  }

  private connect(fromHost: string, connId: ConnId, remote: TransportAddress, localAddress?: string): void {
    const h = this.host(fromHost);
    const version = remote.address.includes(':') ? 6 : 4;
    const srcAddr = localAddress ?? h.addressFor(version) ?? h.addresses[0];
    const local: TransportAddress = { address: srcAddr, port: h.nextEphemeralPort++ };
    if (this.tracing) this.record({ t: this.now, kind: 'stream', host: fromHost, event: 'connect' });
    const delay = this.pathDelay(fromHost, remote.address);
    const dstName = this.hostOf(remote.address);
    const fail = (reason: string, after: number): void => {
      this.clock.after(after, () => {
        if (this.tracing) this.record({ t: this.now, kind: 'stream', host: fromHost, event: 'fail' });
        h.node?.handleStreamClosed(this.now, connId, reason);
        this.pump(fromHost);
      });
    };
    if (delay === undefined || dstName === undefined) {
      fail('unreachable', 3000);
      return;
    }
    const stream: VirtualStream = { a: { host: fromHost, connId }, b: undefined, delayMs: delay, open: false, lastToA: 0, lastToB: 0 };
    this.streams.set(`${fromHost}/${connId}`, stream);
    this.clock.after(delay, () => {
      const dst = this.host(dstName);
      const node = dst.node;
      if (node === undefined || node.listen.tcpPort !== remote.port) {
        this.streams.delete(`${fromHost}/${connId}`);
        fail('refused', delay);
        return;
      }
      const info: AcceptedStream = { local: remote, remote: local };
      const peerId = node.handleStreamAccepted(this.now, info);
      stream.b = { host: dstName, connId: peerId };
      stream.open = true;
      stream.lastToB = this.now;
      this.streams.set(`${dstName}/${peerId}`, stream);
      if (this.tracing) this.record({ t: this.now, kind: 'stream', host: dstName, event: 'accept' });
      this.pump(dstName);
      this.clock.after(delay, () => {
        if (!stream.open) return;
        stream.lastToA = this.now;
        if (this.tracing) this.record({ t: this.now, kind: 'stream', host: fromHost, event: 'open' });
        h.node?.handleStreamOpened(this.now, connId);
        this.pump(fromHost);
      });
    });
  }

  private other(stream: VirtualStream, fromHost: string, connId: ConnId): { end: StreamEnd | undefined; toA: boolean } {
    const fromA = stream.a.host === fromHost && stream.a.connId === connId;
    return fromA ? { end: stream.b, toA: false } : { end: stream.a, toA: true };
  }

  private streamSend(fromHost: string, connId: ConnId, bytes: Uint8Array): void {
    const stream = this.streams.get(`${fromHost}/${connId}`);
    if (stream === undefined || !stream.open) return;
    const { end, toA } = this.other(stream, fromHost, connId);
    if (end === undefined) return;
    this.stats.streamBytes += bytes.length;
    const at = Math.max(this.now + stream.delayMs, toA ? stream.lastToA : stream.lastToB);
    if (toA) stream.lastToA = at;
    else stream.lastToB = at;
    const copy = bytes.slice();
    this.clock.schedule(at, () => {
      if (!this.streams.has(`${end.host}/${end.connId}`)) return;
      if (this.tracing) this.record({ t: this.now, kind: 'stream', host: end.host, event: 'data', bytes: copy.length });
      this.host(end.host).node?.handleStreamData(this.now, end.connId, copy);
      this.pump(end.host);
    });
  }

  private streamClose(fromHost: string, connId: ConnId): void {
    const key = `${fromHost}/${connId}`;
    const stream = this.streams.get(key);
    if (stream === undefined) return;
    this.streams.delete(key);
    const { end, toA } = this.other(stream, fromHost, connId);
    stream.open = false;
    if (end === undefined) return;
    // The close is delivered after data already in flight (FIN is ordered).
    const at = Math.max(this.now + stream.delayMs, toA ? stream.lastToA : stream.lastToB);
    this.clock.schedule(at, () => {
      const k = `${end.host}/${end.connId}`;
      if (!this.streams.has(k)) return;
      this.streams.delete(k);
      if (this.tracing) this.record({ t: this.now, kind: 'stream', host: end.host, event: 'close' });
      this.host(end.host).node?.handleStreamClosed(this.now, end.connId);
      this.pump(end.host);
    });
  }

  /** Resets every stream between two hosts (both ends see handleStreamClosed with `reason`), e.g. a peer crash. */
  resetStreams(hostA: string, hostB: string, reason = 'reset'): number {
    const hit = new Set<VirtualStream>();
    for (const st of this.streams.values()) {
      const hosts = [st.a.host, st.b?.host];
      if (hosts.includes(hostA) && hosts.includes(hostB)) hit.add(st);
    }
    for (const st of hit) {
      st.open = false;
      for (const end of [st.a, st.b]) {
        if (end === undefined) continue;
        this.streams.delete(`${end.host}/${end.connId}`);
        if (this.tracing) this.record({ t: this.now, kind: 'stream', host: end.host, event: 'close' });
        this.host(end.host).node?.handleStreamClosed(this.now, end.connId, reason);
        this.pump(end.host);
      }
    }
    return hit.size;
  }

  /** Number of open stream ends (both sides counted). */
  get openStreams(): number {
    return this.streams.size;
  }

  // ---- running ----

  /** Runs the network until virtual time `t` (bounded by maxSteps). */
  runUntil(t: number, maxSteps = 1_000_000): number {
    this.pump();
    return this.clock.runUntil(t, maxSteps);
  }

  runFor(ms: number, maxSteps = 1_000_000): number {
    return this.runUntil(this.now + ms, maxSteps);
  }

  /** Runs until nothing is pending; nodes with periodic timers never go idle (use runUntil). Throws StepCapExceeded. */
  runUntilIdle(maxSteps = 100_000): number {
    this.pump();
    return this.clock.runUntilIdle(maxSteps);
  }

  private record(e: TraceEntry): void {
    if (this.tracing && this.trace.length < this.traceLimit) this.trace.push(e);
  }
}
