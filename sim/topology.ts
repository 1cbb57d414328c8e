/**
 * The simulated network's graph and IP forwarding: per-node routing tables
 * computed by shortest path over the links that are up (metric = cost),
 * recomputed whenever a link goes down or up or a metric changes.
 *
 * The table is one Int32Array of N x N entries (the link to take from node u
 * towards node d), filled by one Dijkstra per destination; at 1,000 nodes that
 * is 4 MB and a few tens of milliseconds per recomputation. It is stored by
 * destination (row d holds every node's link towards d): a packet's walk reads
 * one 4 KB row, not one row per hop, which keeps the lookups in cache. Ties are
 * broken by the lower neighbour index, so tables do not depend on heap order.
 */
import type { LinkSpec, NodeSpec } from './scenario/types';

export interface TopoLink {
  readonly index: number;
  readonly spec: LinkSpec;
  readonly a: number;
  readonly b: number;
  up: boolean;
  metric: number;
  /** Loss probability now (the spec's, or a loss burst's). */
  loss: number;
  /** When each direction's transmitter is free again (capacity model), a->b and b->a. */
  busyUntil: [number, number];
  capacityBps(): number;
}

/** The `Routing` the virtual network asks for the next hop of a packet. */
export interface Routing {
  /** The next node from `node` towards `dstAddress`, or undefined when there is no route. */
  nextHop(node: number, dstAddress: string): number | undefined;
}

export const NO_ROUTE = -1;

export class Topology implements Routing {
  readonly nodes: readonly NodeSpec[];
  readonly links: TopoLink[];
  readonly index = new Map<string, number>();
  private readonly linkIndex = new Map<string, number>();
  private readonly addressOwner = new Map<string, number>();
  /** adjacency: for node u, the link indices touching it. */
  private readonly adj: number[][];
  /** nextLink[d * N + u]: link index from u towards d; NO_ROUTE when unreachable; u === d unused. */
  private nextLink: Int32Array;
  /** Bumped at every recomputation: paths cached by callers are valid while it is unchanged. */
  version = 0;

  constructor(nodes: readonly NodeSpec[], links: readonly LinkSpec[]) {
    this.nodes = nodes;
    nodes.forEach((n, i) => {
      this.index.set(n.id, i);
      this.addressOwner.set(n.address, i);
      if (n.nat !== undefined) this.addressOwner.set(n.nat.externalAddress, i);
    });
    this.adj = nodes.map(() => []);
    this.links = links.map((spec, i) => {
      const a = this.index.get(spec.a) as number;
      const b = this.index.get(spec.b) as number;
      this.adj[a].push(i);
      this.adj[b].push(i);
      this.linkIndex.set(spec.id, i);
      return { index: i, spec, a, b, up: true, metric: spec.metric, loss: spec.loss, busyUntil: [0, 0], capacityBps: () => spec.capacityBps };
    });
    this.nextLink = new Int32Array(nodes.length * nodes.length);
    this.recompute();
  }

  get size(): number {
    return this.nodes.length;
  }

  link(id: string): TopoLink {
    const i = this.linkIndex.get(id);
    if (i === undefined) throw new Error(`unknown link ${id}`);
    return this.links[i];
  }

  nodeOfAddress(address: string): number | undefined {
    return this.addressOwner.get(address);
  }

  setLinkUp(id: string, up: boolean): void {
    const l = this.link(id);
    if (l.up === up) return;
    l.up = up;
    this.recompute();
  }

  setMetric(id: string, metric: number): void {
    const l = this.link(id);
    if (l.metric === metric) return;
    l.metric = metric;
    this.recompute();
  }

  /** Recomputes every node's table: one Dijkstra from each destination over the reversed (here: symmetric) graph. */
  recompute(): void {
    const n = this.nodes.length;
    const dist = new Float64Array(n);
    const heap = new MinHeap(n);
    const table = this.nextLink;
    for (let d = 0; d < n; d++) {
      dist.fill(Infinity);
      dist[d] = 0;
      heap.clear();
      heap.push(d, 0);
      while (heap.size > 0) {
        const u = heap.pop();
        const du = dist[u];
        for (const li of this.adj[u]) {
          const l = this.links[li];
          if (!l.up) continue;
          const v = l.a === u ? l.b : l.a;
          const nd = du + l.metric;
          if (nd < dist[v]) {
            dist[v] = nd;
            heap.push(v, nd);
          }
        }
      }
      const row = d * n;
      for (let u = 0; u < n; u++) {
        let best = NO_ROUTE;
        let bestNode = n;
        if (u !== d && dist[u] !== Infinity) {
          for (const li of this.adj[u]) {
            const l = this.links[li];
            if (!l.up) continue;
            const v = l.a === u ? l.b : l.a;
            if (dist[v] + l.metric === dist[u] && v < bestNode) {
              best = li;
              bestNode = v;
            }
          }
        }
        table[row + u] = best;
      }
    }
    this.version++;
  }

  /** The index of the link from u towards node d, or NO_ROUTE (also for u === d). */
  linkIndexTowards(u: number, d: number): number {
    return u === d ? NO_ROUTE : this.nextLink[d * this.nodes.length + u];
  }

  /** The link from u towards node d, or undefined. */
  linkTowards(u: number, d: number): TopoLink | undefined {
    if (u === d) return undefined;
    const li = this.nextLink[d * this.nodes.length + u];
    return li === NO_ROUTE ? undefined : this.links[li];
  }

  nextHop(node: number, dstAddress: string): number | undefined {
    const d = this.addressOwner.get(dstAddress);
    if (d === undefined) return undefined;
    return this.nextNode(node, d);
  }

  nextNode(u: number, d: number): number | undefined {
    const l = this.linkTowards(u, d);
    if (l === undefined) return undefined;
    return l.a === u ? l.b : l.a;
  }

  /** The nodes from `src` to `dst` inclusive, or undefined when unreachable. */
  path(src: number, dst: number): number[] | undefined {
    const out = [src];
    let u = src;
    for (let steps = 0; u !== dst; steps++) {
      if (steps > this.nodes.length) return undefined;
      const v = this.nextNode(u, dst);
      if (v === undefined) return undefined;
      out.push(v);
      u = v;
    }
    return out;
  }
}

/** A binary min-heap of (node, key) with lazy deletion (a node may appear more than once). */
class MinHeap {
  private nodes: Int32Array;
  private keys: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.nodes = new Int32Array(Math.max(16, capacity * 2));
    this.keys = new Float64Array(Math.max(16, capacity * 2));
  }

  clear(): void {
    this.size = 0;
  }

  push(node: number, key: number): void {
    if (this.size === this.nodes.length) {
      const n = new Int32Array(this.size * 2);
      n.set(this.nodes);
      const k = new Float64Array(this.size * 2);
      k.set(this.keys);
      this.nodes = n;
      this.keys = k;
    }
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.keys[p] < key || (this.keys[p] === key && this.nodes[p] <= node)) break;
      this.nodes[i] = this.nodes[p];
      this.keys[i] = this.keys[p];
      i = p;
    }
    this.nodes[i] = node;
    this.keys[i] = key;
  }

  /** Pops the smallest; stale duplicates are harmless for Dijkstra (their relaxations do nothing). */
  pop(): number {
    const top = this.nodes[0];
    const n = --this.size;
    const node = this.nodes[n];
    const key = this.keys[n];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && (this.keys[r] < this.keys[l] || (this.keys[r] === this.keys[l] && this.nodes[r] < this.nodes[l]))) m = r;
      if (this.keys[m] > key || (this.keys[m] === key && this.nodes[m] >= node)) break;
      this.nodes[i] = this.nodes[m];
      this.keys[i] = this.keys[m];
      i = m;
    }
    this.nodes[i] = node;
    this.keys[i] = key;
    return top;
  }
}
