/**
 * The simulator's network for the real GIST cores: the driver duties of
 * gist/core/driver-api.ts (feed inputs, drain `pollTransmit()` after every
 * call, arm `nextDeadline()` on the virtual clock) over the simulator's
 * `Topology`, with the semantics of sim/vnet (hop-by-hop IP forwarding,
 * Router Alert interception, TTL, loss, TCP-like C-mode streams) but at the
 * cost of one scheduled event per node that has something to do with a
 * datagram: the node that intercepts it (RFC 5971 s4.3.1) or receives it.
 *
 * A datagram's journey is walked through the routing table when it is sent,
 * hop by hop as a router would (the link's serialization time behind earlier
 * packets when it has a capacity, its propagation delay, its loss), up to the
 * first node that runs GIST and may take it (a Q-mode packet: s5.3.2.3) or
 * owns its destination. Plain routers cost no event. When the links change
 * (down, up, metric, loss, a node crash) every datagram in flight is walked
 * again from the first hop it has not reached yet, so a change in the middle
 * of a journey acts exactly where the packet is.
 */
import type { AcceptedStream, ConnId, GistDriverFacing, TransportAddress, Transmit } from '../../gist/core/driver-api';
import type { Prng } from '../prng';
import type { Topology } from '../topology';
import { ClockTask, type SimClock } from '../clock';
import { NO_ROUTE } from '../topology';
import { inPrefix } from '../scenario/values';
import { nodeAddresses } from '../scenario/types';

/** A datagram on the virtual wire. */
interface Datagram {
  readonly src: TransportAddress;
  readonly dst: TransportAddress;
  readonly payload: Uint8Array;
  /** IP TTL / hop limit as it leaves the sender. */
  readonly ttl: number;
  /** Router Alert Option value, when the IP header carries one. */
  readonly routerAlert?: number;
  /** IP + UDP header bytes (for the capacity model). */
  readonly overhead: number;
  /** The node that owns the destination address (addresses do not move during a run), or -1: looked up once per datagram. */
  readonly dstNode: number;
}

/** What happens when a journey reaches its last node. */
const RECEIVE = 0;
const OFFER = 1;
const DROP = 2;

/** No nodes between a journey's first and last. */
const NO_HOPS: readonly number[] = [];

/**
 * A datagram in flight to its next event: the nodes it reaches on the way, with the time and TTL of each
 * arrival, and what happens at the last one. It is its own clock event. Only the last node is needed when
 * nothing changes on the way; the ones in between are kept for a route change (`RealNetwork.linksChanged`).
 */
class Journey extends ClockTask {
  constructor(
    private readonly net: RealNetwork,
    readonly dg: Datagram,
    /** Nodes reached, the first being where the walk started. */
    readonly length: number,
    /** The last node reached, with the time and TTL of its arrival. */
    readonly node: number,
    readonly time: number,
    readonly ttl: number,
    /** (node, time, ttl) of the nodes reached between the first and the last, flat. */
    private readonly mid: readonly number[],
    readonly outcome: number,
    readonly reason: NetDropReason,
  ) {
    super();
  }

  /** Node, arrival time and TTL of hop `k` (1 <= k < length). */
  hopNode(k: number): number {
    return k === this.length - 1 ? this.node : this.mid[3 * (k - 1)];
  }

  hopTime(k: number): number {
    return k === this.length - 1 ? this.time : this.mid[3 * (k - 1) + 1];
  }

  hopTtl(k: number): number {
    return k === this.length - 1 ? this.ttl : this.mid[3 * (k - 1) + 2];
  }

  run(): void {
    this.net.journeyEnd(this);
  }
}

/** A node's GIST timer on the clock (one object per arming: no closure). */
class GistTimer extends ClockTask {
  constructor(
    private readonly net: RealNetwork,
    readonly node: number,
    readonly gist: GistDriverFacing,
    readonly gen: number,
  ) {
    super();
  }

  run(): void {
    this.net.gistTimer(this);
  }
}

export type NetDropReason = 'no-route' | 'ttl' | 'loss' | 'node-down' | 'port-unreachable';

export interface RealNetHooks {
  /** A datagram was lost on its way. */
  dropped(reason: NetDropReason): void;
  /** An input was fed to a node (the NATFW side has work to settle). */
  touched(node: number): void;
  /** Every action a node's GIST core asks for, before the network performs it (for counts and the capture). */
  transmit(node: number, t: Transmit): void;
  /** A node accepted a C-mode connection (its ends, for the capture's TCP headers). */
  accepted(node: number, connId: ConnId, info: AcceptedStream): void;
}

interface StreamEnd {
  readonly node: number;
  readonly connId: ConnId;
}

interface Stream {
  readonly a: StreamEnd;
  b: StreamEnd | undefined;
  readonly delayMs: number;
  open: boolean;
  lastToA: number;
  lastToB: number;
}

interface Host {
  gist: GistDriverFacing | undefined;
  timerAt: number | undefined;
  timerGen: number;
  nextEphemeralPort: number;
  readonly addresses: readonly string[];
  /** A NAT's address facing each neighbour node asked about so far (a neighbour's side never changes; routes do). */
  readonly facing: Map<number, string>;
}

const DEFAULT_TTL = 64;
const IPV4_UDP = 28;
const IPV6_UDP = 48;
/** Router Alert: 4 more bytes of IPv4 options, or an 8-byte IPv6 Hop-by-Hop header. */
const RAO_V4 = 4;
const RAO_V6 = 8;
/** Connection attempts to an unreachable address fail after this long (as vnet). */
const CONNECT_FAIL_MS = 3000;

export class RealNetwork {
  private readonly hosts: Host[];
  /** The Q-mode port of each node's GIST, -1 while it has none (read at every hop of a Router Alert datagram). */
  private readonly qmodePort: Int32Array;
  private readonly streams = new Map<string, Stream>(); // `${node}/${connId}`
  readonly stats = { sent: 0, delivered: 0, intercepted: 0, lost: 0, streamBytes: 0 };

  constructor(
    private readonly topo: Topology,
    private readonly clock: SimClock,
    private readonly rng: Prng,
    private readonly hooks: RealNetHooks,
  ) {
    this.qmodePort = new Int32Array(topo.size).fill(-1);
    this.hosts = topo.nodes.map((n) => ({
      gist: undefined, timerAt: undefined, timerGen: 0, nextEphemeralPort: 40000, facing: new Map(),
      addresses: nodeAddresses(n),
    }));
  }

  /**
   * RFC 5971 s5.2.2 for node `u`'s GIST core (GistNodeConfig.interfaceAddressFor): the address of
   * u's side that faces the next hop towards `destination`, as the routing table has it now. Only a
   * NAT has two sides: its internal address towards a neighbour inside its `inside` prefixes, its
   * external address towards the rest. With no route (or `destination` is u's own) the destination
   * itself decides. Other nodes have one address: undefined (the core uses it).
   */
  interfaceAddress(u: number, destination: string): string | undefined {
    const spec = this.topo.nodes[u];
    const nat = spec.nat;
    if (nat === undefined || nat.externalAddress === spec.address) return undefined;
    const d = this.topo.nodeOfAddress(destination);
    const next = d === undefined ? undefined : this.topo.nextNode(u, d);
    if (next === undefined) return nat.inside.some((p) => inPrefix(destination, p)) ? spec.address : nat.externalAddress;
    const facing = this.hosts[u].facing;
    let a = facing.get(next);
    if (a === undefined) {
      a = nat.inside.some((p) => inPrefix(this.topo.nodes[next].address, p)) ? spec.address : nat.externalAddress;
      facing.set(next, a);
    }
    return a;
  }

  /** Makes `gist` the GIST instance of node `u`; the network becomes its driver. */
  attach(u: number, gist: GistDriverFacing): void {
    this.hosts[u].gist = gist;
    this.qmodePort[u] = gist.listen.qmodePort;
    this.pump(u);
  }

  /** A crash: the node's GIST instance is gone with its timer; datagrams to it are lost. */
  detach(u: number): void {
    const h = this.hosts[u];
    h.gist = undefined;
    this.qmodePort[u] = -1;
    h.timerGen++;
    h.timerAt = undefined;
  }

  /** Drains the node's actions and re-arms its timer (after any call into its GIST or NSLP side). */
  pump(u: number): void {
    const h = this.hosts[u];
    const g = h.gist;
    if (g === undefined) return;
    for (let i = 0; i < 1_000_000; i++) {
      const t = g.pollTransmit();
      if (t === undefined) break;
      this.hooks.transmit(u, t);
      switch (t.kind) {
        case 'udp': {
          const v6 = t.destination.address.includes(':');
          const overhead = (v6 ? IPV6_UDP : IPV4_UDP) + (t.qmode !== undefined ? (v6 ? RAO_V6 : RAO_V4) : 0);
          const dstNode = this.topo.nodeOfAddress(t.destination.address) ?? -1;
          this.sendDatagram(u, { src: t.source, dst: t.destination, payload: t.bytes, ttl: t.qmode?.ipTtl ?? DEFAULT_TTL, routerAlert: t.qmode?.routerAlert, overhead, dstNode });
          break;
        }
        case 'tcp-connect':
          this.connect(u, t.connId, t.remote, t.localAddress);
          break;
        case 'tcp-send':
          this.streamSend(u, t.connId, t.bytes);
          break;
        case 'tcp-close':
          this.streamClose(u, t.connId);
          break;
      }
    }
    this.armTimer(u, h);
  }

  private armTimer(u: number, h: Host): void {
    const g = h.gist;
    if (g === undefined) return;
    const d = g.nextDeadline();
    if (d === undefined) return;
    if (h.timerAt !== undefined && h.timerAt <= d) return;
    h.timerAt = d;
    // An earlier deadline leaves the older event in the queue: it finds a newer generation and does nothing.
    this.clock.scheduleTask(d, new GistTimer(this, u, g, ++h.timerGen));
  }

  /** A node's GIST timer event (a GistTimer on the clock). */
  gistTimer(tm: GistTimer): void {
    const h = this.hosts[tm.node];
    if (tm.gen !== h.timerGen) return;
    h.timerAt = undefined;
    tm.gist.handleTimeout(this.clock.now);
    this.hooks.touched(tm.node);
    this.pump(tm.node);
  }

  /** The links changed: every datagram in flight goes on from the first hop it has not reached yet, over the new routes. */
  linksChanged(): void {
    const now = this.clock.now;
    for (const j of this.inFlight()) {
      // Hop 0 was handled already (it sent or forwarded the datagram); decisions at later nodes are still to come.
      const n = j.length;
      let k = 1;
      while (k < n - 1 && j.hopTime(k) < now) k++;
      if (k >= n) continue;
      j.cancel();
      this.walk(j.dg, j.hopNode(k), j.hopTime(k), j.hopTtl(k), true, true);
    }
  }

  /** Datagrams in flight now, in the order they were sent on their way. */
  private inFlight(): Journey[] {
    return this.clock.pendingTasks((t): t is Journey => t instanceof Journey);
  }

  /** Datagrams in flight now (for tests). */
  get pending(): number {
    return this.inFlight().length;
  }

  private sendDatagram(u: number, dg: Datagram): void {
    this.stats.sent++;
    if (dg.dstNode === u) {
      this.end(dg, u, this.clock.now, dg.ttl, 0, RECEIVE, 'no-route');
      return;
    }
    // The sender neither offers its own packet to itself nor decrements its TTL.
    this.walk(dg, u, this.clock.now, dg.ttl, false, false);
  }

  /**
   * Follows the datagram from node `u`, where it is at time `t` with IP TTL `ttl`, hop by hop to the next
   * node that takes an event: the owner of its destination, or a node whose GIST may intercept it.
   * `arrived`: the datagram has just arrived at `u` (offer it there); `decrement`: `u` forwards it as a
   * router (RFC 5971 s4.3.4: TTL decremented) rather than sending it.
   */
  private walk(dg: Datagram, u: number, t: number, ttl: number, arrived: boolean, decrement: boolean): void {
    const d = dg.dstNode;
    // The nodes reached after `u`, as (node, time, ttl) triples in a reused buffer: a journey keeps a copy of
    // the ones between its first and last node only (most journeys have none).
    const hops = this.hopBuffer;
    let m = 0;
    const t0 = t;
    const ttl0 = ttl;
    const links = this.topo.links;
    const rao = dg.routerAlert !== undefined;
    let cur = u;
    for (let hop = 0; ; hop++) {
      if (hop > 0 || arrived) {
        if (cur === d) return this.end(dg, u, t0, ttl0, m, RECEIVE, 'no-route');
        if (rao && this.mayIntercept(cur, dg)) return this.end(dg, u, t0, ttl0, m, OFFER, 'no-route');
      }
      if (hop > 0 || decrement) {
        ttl--;
        if (ttl <= 0) return this.end(dg, u, t0, ttl0, m, DROP, 'ttl');
      }
      if (d < 0 || hop > this.topo.size) return this.end(dg, u, t0, ttl0, m, DROP, 'no-route');
      const li = this.topo.linkIndexTowards(cur, d);
      if (li === NO_ROUTE) return this.end(dg, u, t0, ttl0, m, DROP, 'no-route');
      const link = links[li];
      if (!link.up) return this.end(dg, u, t0, ttl0, m, DROP, 'no-route');
      if (link.loss > 0 && this.rng.next() < link.loss) return this.end(dg, u, t0, ttl0, m, DROP, 'loss');
      const dir = link.a === cur ? 0 : 1;
      const cap = link.spec.capacityBps;
      if (cap > 0) {
        // Serialization behind the packets already queued on this direction of the link.
        const tx = ((dg.payload.length + dg.overhead) * 8 * 1000) / cap;
        const start = Math.max(t, link.busyUntil[dir]);
        link.busyUntil[dir] = start + tx;
        t = start + tx;
      }
      t += link.spec.delayMs;
      cur = dir === 0 ? link.b : link.a;
      hops[m] = cur;
      hops[m + 1] = t;
      hops[m + 2] = ttl;
      m += 3;
    }
  }

  /** Reused by `walk` (one journey is walked at a time). */
  private readonly hopBuffer: number[] = [];

  /**
   * The walk from `u` (at t0 with ttl0) reached the `m / 3` nodes in the hop buffer: the last one receives the
   * datagram (RECEIVE), is offered it (OFFER) or it is lost on the way (DROP, counted when the datagram gets to
   * where it is lost: a route change before then may save it).
   */
  private end(dg: Datagram, u: number, t0: number, ttl0: number, m: number, outcome: number, reason: NetDropReason): void {
    const h = this.hopBuffer;
    const at = m === 0 ? t0 : h[m - 2];
    if (outcome === DROP && at <= this.clock.now) return this.drop(reason);
    const mid = m > 3 ? h.slice(0, m - 3) : NO_HOPS;
    const node = m === 0 ? u : h[m - 3];
    const ttl = m === 0 ? ttl0 : h[m - 1];
    this.clock.scheduleTask(at, new Journey(this, dg, 1 + m / 3, node, at, ttl, mid, outcome, reason));
  }

  /** A journey's clock event. */
  journeyEnd(j: Journey): void {
    if (j.outcome === DROP) return this.drop(j.reason);
    this.arrive(j.node, j.dg, j.ttl, j.outcome === RECEIVE);
  }

  private mayIntercept(u: number, dg: Datagram): boolean {
    return dg.dst.port === this.qmodePort[u];
  }

  private drop(reason: NetDropReason): void {
    this.stats.lost++;
    this.hooks.dropped(reason);
  }

  private arrive(u: number, dg: Datagram, ttl: number, final: boolean): void {
    const g = this.hosts[u].gist;
    const now = this.clock.now;
    if (final) {
      if (g === undefined) return this.drop('node-down');
      if (dg.dst.port !== g.listen.udpPort && dg.dst.port !== g.listen.qmodePort) return this.drop('port-unreachable');
      this.stats.delivered++;
      g.handleDatagram(now, {
        local: dg.dst, remote: dg.src, bytes: dg.payload, ipTtl: ttl,
        qmode: dg.routerAlert !== undefined ? { routerAlert: dg.routerAlert, ipTtl: ttl } : undefined,
      });
      this.hooks.touched(u);
      this.pump(u);
      return;
    }
    // The node crashed since the packet was sent: it forwards like a plain router would (or finds no route).
    if (g === undefined) return this.walk(dg, u, now, ttl, false, true);
    // RFC 5971 s5.3.2.3: an intercepted Q-mode packet is offered to GIST, which consumes it or lets it go on.
    const disp = g.handleDatagram(now, { local: dg.dst, remote: dg.src, bytes: dg.payload, qmode: { routerAlert: dg.routerAlert, ipTtl: ttl } });
    this.hooks.touched(u);
    this.pump(u);
    if (disp.kind === 'consume') {
      this.stats.intercepted++;
      return;
    }
    // Forwarded as a normal IP datagram (s4.3.4), possibly with a new payload (GIST hop count decremented).
    this.walk(disp.payload !== undefined ? { ...dg, payload: disp.payload } : dg, u, now, ttl, false, true);
  }

  // ---- C-mode streams (as sim/vnet: reliable, in order, no loss; delay = sum of link delays on the path at connect time)

  private pathDelay(from: number, dstAddress: string): number | undefined {
    const d = this.topo.nodeOfAddress(dstAddress);
    if (d === undefined) return undefined;
    let cur = from;
    let delay = 0;
    for (let hops = 0; cur !== d; hops++) {
      if (hops > this.topo.size) return undefined;
      const l = this.topo.linkTowards(cur, d);
      if (l === undefined || !l.up) return undefined;
      delay += l.spec.delayMs;
      cur = l.a === cur ? l.b : l.a;
    }
    return delay;
  }

  private connect(u: number, connId: ConnId, remote: TransportAddress, localAddress?: string): void {
    const h = this.hosts[u];
    const v6 = remote.address.includes(':');
    const srcAddr = localAddress ?? h.addresses.find((a) => a.includes(':') === v6) ?? h.addresses[0];
    const local: TransportAddress = { address: srcAddr, port: h.nextEphemeralPort++ };
    const delay = this.pathDelay(u, remote.address);
    const dst = this.topo.nodeOfAddress(remote.address);
    const fail = (reason: string, after: number): void => {
      this.clock.schedule(this.clock.now + after, () => {
        const g = this.hosts[u].gist;
        if (g === undefined) return;
        g.handleStreamClosed(this.clock.now, connId, reason);
        this.hooks.touched(u);
        this.pump(u);
      });
    };
    if (delay === undefined || dst === undefined) {
      fail('unreachable', CONNECT_FAIL_MS);
      return;
    }
    const stream: Stream = { a: { node: u, connId }, b: undefined, delayMs: delay, open: false, lastToA: 0, lastToB: 0 };
    this.streams.set(`${u}/${connId}`, stream);
    this.clock.schedule(this.clock.now + delay, () => {
      const g = this.hosts[dst].gist;
      if (g === undefined || g.listen.tcpPort !== remote.port) {
        this.streams.delete(`${u}/${connId}`);
        fail('refused', delay);
        return;
      }
      const info: AcceptedStream = { local: remote, remote: local };
      const peerId = g.handleStreamAccepted(this.clock.now, info);
      this.hooks.accepted(dst, peerId, info);
      this.hooks.touched(dst);
      stream.b = { node: dst, connId: peerId };
      stream.open = true;
      stream.lastToB = this.clock.now;
      this.streams.set(`${dst}/${peerId}`, stream);
      this.pump(dst);
      this.clock.schedule(this.clock.now + delay, () => {
        if (!stream.open) return;
        stream.lastToA = this.clock.now;
        const ga = this.hosts[u].gist;
        if (ga === undefined) return;
        ga.handleStreamOpened(this.clock.now, connId);
        this.hooks.touched(u);
        this.pump(u);
      });
    });
  }

  /** The other end of a C-mode connection, seen from node `u`, and whether that is the initiator. */
  private other(stream: Stream, u: number, connId: ConnId): { end: StreamEnd | undefined; toA: boolean } {
    const fromA = stream.a.node === u && stream.a.connId === connId;
    return fromA ? { end: stream.b, toA: false } : { end: stream.a, toA: true };
  }

  private streamSend(u: number, connId: ConnId, bytes: Uint8Array): void {
    const stream = this.streams.get(`${u}/${connId}`);
    if (stream === undefined || !stream.open) return;
    const { end, toA } = this.other(stream, u, connId);
    if (end === undefined) return;
    this.stats.streamBytes += bytes.length;
    const at = Math.max(this.clock.now + stream.delayMs, toA ? stream.lastToA : stream.lastToB);
    if (toA) stream.lastToA = at;
    else stream.lastToB = at;
    const copy = bytes.slice();
    this.clock.schedule(at, () => {
      if (!this.streams.has(`${end.node}/${end.connId}`)) return;
      const g = this.hosts[end.node].gist;
      if (g === undefined) return;
      g.handleStreamData(this.clock.now, end.connId, copy);
      this.hooks.touched(end.node);
      this.pump(end.node);
    });
  }

  private streamClose(u: number, connId: ConnId): void {
    const key = `${u}/${connId}`;
    const stream = this.streams.get(key);
    if (stream === undefined) return;
    this.streams.delete(key);
    const { end, toA } = this.other(stream, u, connId);
    stream.open = false;
    if (end === undefined) return;
    // The close is delivered after data already in flight (FIN is ordered).
    const at = Math.max(this.clock.now + stream.delayMs, toA ? stream.lastToA : stream.lastToB);
    this.clock.schedule(at, () => {
      const k = `${end.node}/${end.connId}`;
      if (!this.streams.has(k)) return;
      this.streams.delete(k);
      const g = this.hosts[end.node].gist;
      if (g === undefined) return;
      g.handleStreamClosed(this.clock.now, end.connId);
      this.hooks.touched(end.node);
      this.pump(end.node);
    });
  }
}
