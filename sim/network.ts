/**
 * The virtual IP network: packets move hop by hop along the routing tables of
 * `Topology`, each link adding its serialization time (capacity), queueing
 * behind earlier packets, propagation delay and loss. A packet with the Router
 * Alert option is offered to every node on its way that runs the NATFW NSLP;
 * the first that takes it ends its journey (RFC 5971 s4.3.1), the others
 * forward it. Delivery is one scheduled event per NSLP-capable node reached, so
 * the cost of a message does not grow with the number of plain routers it crosses.
 */
import type { Prng } from './prng';
import type { SimClock } from './clock';
import type { SimPacket } from './stack';
import type { Topology } from './topology';

export type DropReason = 'no-route' | 'loss' | 'node-down' | 'ttl';

export interface NetworkHooks {
  /** true when node runs the NSLP (hosts, firewalls, NATs) and is up. */
  nslpCapable(node: number): boolean;
  up(node: number): boolean;
  intercept(node: number, now: number, pkt: SimPacket): boolean;
  deliver(node: number, now: number, pkt: SimPacket): void;
  dropped(now: number, pkt: SimPacket, reason: DropReason): void;
}

const IP_UDP_OVERHEAD = 28;
const IP_TCP_OVERHEAD = 40;
/** Router Alert option (RFC 2113): 4 more bytes of IP header. */
const RAO_OVERHEAD = 4;

export class VirtualNetwork {
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly topo: Topology,
    private readonly sched: SimClock,
    private readonly rng: Prng,
    private readonly hooks: NetworkHooks,
  ) {}

  /** Sends from `from` at `now`. */
  send(from: number, now: number, pkt: SimPacket): void {
    this.forward(from, now, pkt, true);
  }

  private forward(from: number, now: number, pkt: SimPacket, origin: boolean): void {
    const dst = this.topo.nodeOfAddress(pkt.dst);
    if (dst === undefined) return this.drop(now, pkt, 'no-route');
    const size = pkt.payload.length + (pkt.transport === 'udp' ? IP_UDP_OVERHEAD : IP_TCP_OVERHEAD) + (pkt.rao ? RAO_OVERHEAD : 0);
    let u = from;
    let t = now;
    if (u === dst && origin) {
      this.sched.schedule(t, () => this.arrive(dst, this.sched.now, pkt, true));
      return;
    }
    for (let hops = 0; u !== dst; hops++) {
      if (hops > this.topo.size) return this.drop(now, pkt, 'ttl');
      const link = this.topo.linkTowards(u, dst);
      if (link === undefined) return this.drop(now, pkt, 'no-route');
      const dir = link.a === u ? 0 : 1;
      const v = dir === 0 ? link.b : link.a;
      if (link.capacityBps() > 0) {
        const tx = (size * 8 * 1000) / link.capacityBps();
        const start = Math.max(t, link.busyUntil[dir]);
        link.busyUntil[dir] = start + tx;
        t = start + tx;
      }
      t += link.spec.delayMs;
      if (link.loss > 0 && this.rng.next() < link.loss) return this.drop(t, pkt, 'loss');
      u = v;
      if (!this.hooks.up(u)) {
        const at = t;
        this.sched.schedule(at, () => this.drop(at, pkt, 'node-down'));
        return;
      }
      if (u !== dst && pkt.rao && this.hooks.nslpCapable(u)) {
        const node = u;
        this.sched.schedule(t, () => this.arrive(node, this.sched.now, pkt, false));
        return;
      }
    }
    this.sched.schedule(t, () => this.arrive(dst, this.sched.now, pkt, true));
  }

  private arrive(node: number, now: number, pkt: SimPacket, final: boolean): void {
    if (!this.hooks.up(node)) return this.drop(now, pkt, 'node-down');
    if (final) {
      this.delivered++;
      this.hooks.deliver(node, now, pkt);
      return;
    }
    if (this.hooks.intercept(node, now, pkt)) {
      this.delivered++;
      return;
    }
    this.forward(node, now, pkt, false);
  }

  private drop(now: number, pkt: SimPacket, reason: DropReason): void {
    this.dropped++;
    this.hooks.dropped(now, pkt, reason);
  }
}
