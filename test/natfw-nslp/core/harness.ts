/**
 * In-process NATFW harness over the real GIST core and sim/vnet, with memory
 * pinhole sets: NATFW nodes on a virtual network driven by the virtual clock.
 * Reusable by other tests and by bench/natfw.bench.ts (no jest globals here).
 *
 *   const lab = lineLab3();                 // NI - NF1 - NF2 - NR
 *   const key = lab.ni.node.create(lab.now, { mri: lab.flow(), lifetime: 30 });
 *   await lab.runFor(200);
 *   lab.get('nf1').pinholes.list();
 *
 * After calling into a node directly (create, teardown, terminate), the
 * harness is pumped by the next runFor/runUntil.
 */
import { createGistNode, type GistNode, type GistNodeConfig } from '../../../gist/core';
import { udpFlowMri, type PathCoupledMri } from '../../../gist/types';
import { MemoryPinholeSet } from '../../../enforcement/memory';
import type { PinholeSet } from '../../../enforcement/types';
import { NatfwNode, type MiddleboxConfig, type NatfwNodeConfig } from '../../../natfw-nslp/core/node';
import { runEnforcementJob, type EnforcementResult } from '../../../natfw-nslp/core/enforcement-job';
import { wireCodec } from '../../../natfw-nslp/core/codec-adapter';
import { seededRandom } from '../../../natfw-nslp/core/random';
import { SeededRandom, VirtualNetwork, type LinkOptions } from '../../../sim/vnet';
import { NatfwClient } from '../../../natfw-nslp';
import EventEmitter from 'eventemitter3';
import type { GistService, GistServiceEvents } from '../../../gist/api';

export interface SimNatfwNode {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly gist: GistNode;
  /** Replaced only by `releaseNatfw` (benchmarks). */
  node: NatfwNode;
  /** Replaced only by `releasePinholes` (benchmarks). */
  pinholes: MemoryPinholeSet;
  /** The set the jobs run against (pinholes, unless a test wraps it). */
  enforcement: PinholeSet;
  /** Test hook: make this node's next enforcement jobs fail. */
  failJobs?: EnforcementResult;
}

export interface AddNodeOptions {
  readonly middlebox?: MiddleboxConfig;
  readonly natfw?: Partial<NatfwNodeConfig>;
  readonly gist?: Partial<GistNodeConfig>;
}

export class NatfwVnetLab {
  readonly net: VirtualNetwork;
  readonly rnd: SeededRandom;
  readonly nodes = new Map<string, SimNatfwNode>();
  /** The nodes in insertion order, iterated per clock step without an iterator object. */
  private readonly nodeList: SimNatfwNode[] = [];
  private readonly timers = new Map<string, { at: number; gen: number }>();
  private seed: number;

  constructor(opts: { seed?: number } = {}) {
    this.seed = opts.seed ?? 1;
    this.net = new VirtualNetwork({ seed: this.seed, trace: false });
    this.rnd = new SeededRandom(this.seed);
  }

  get now(): number {
    return this.net.now;
  }

  /** A host with a GIST node and a NATFW node (an end host without `middlebox`). */
  add(name: string, addresses: string[], opts: AddNodeOptions = {}): SimNatfwNode {
    this.net.addHost(name, addresses);
    const r = this.rnd.fork();
    const gist = createGistNode({ addresses, randomBytes: (n) => r.bytes(n), t1Ms: 100, ...opts.gist });
    const node = new NatfwNode(gist, {
      addresses,
      middlebox: opts.middlebox,
      random: seededRandom(this.seed * 1000 + this.nodes.size + 1),
      codec: wireCodec,
      ...opts.natfw,
    });
    const pinholes = new MemoryPinholeSet();
    const n: SimNatfwNode = { name, addresses, gist, node, pinholes, enforcement: pinholes };
    this.nodes.set(name, n);
    this.nodeList.push(n);
    this.net.attach(name, gist);
    return n;
  }

  /**
   * Benchmark hook: lets go of a node's NATFW node (its GIST listeners and the
   * lab's references), leaving an idle one on a detached stub in its place, so
   * that what the heap gives back is what the NSLP held alone (what it shares
   * with GIST or the pinhole set stays with them).
   */
  releaseNatfw(name: string): void {
    const n = this.get(name);
    for (const e of ['recvMessage', 'messageStatus', 'networkNotification'] as const) n.gist.events.removeAllListeners(e);
    const stub: GistService = { events: new EventEmitter<GistServiceEvents>(), sendMessage: () => undefined, setStateLifetime: () => undefined, invalidateRoutingState: () => undefined, registerNslp: () => undefined };
    n.node = new NatfwNode(stub, { addresses: n.addresses, random: seededRandom(1), codec: wireCodec });
    this.timers.delete(name);
  }

  /** Benchmark hook: lets go of a node's pinhole set (an empty one takes its place). */
  releasePinholes(name: string): void {
    const n = this.get(name);
    n.pinholes = new MemoryPinholeSet();
    n.enforcement = n.pinholes;
  }

  link(a: string, b: string, opts: LinkOptions = { delayMs: 1 }): void {
    this.net.link(a, b, opts);
  }

  get(name: string): SimNatfwNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node '${name}'`);
    return n;
  }

  /** Drains GIST transmits and (re)arms every NATFW timer on the virtual clock. */
  pump(): void {
    this.net.pump();
    for (const n of this.nodes.values()) this.armNatfw(n);
  }

  private armNatfw(n: SimNatfwNode): void {
    const d = n.node.nextDeadline();
    if (d === undefined) return;
    const cur = this.timers.get(n.name);
    if (cur !== undefined && cur.at <= d && cur.at >= this.net.now) return;
    const gen = (cur?.gen ?? 0) + 1;
    this.timers.set(n.name, { at: d, gen });
    this.net.clock.schedule(d, () => {
      const t = this.timers.get(n.name);
      if (t === undefined || t.gen !== gen) return;
      this.timers.delete(n.name);
      n.node.handleTimeout(this.net.now);
      this.net.pump(n.name);
      this.armNatfw(n);
    });
  }

  /** Runs every enforcement job queued at any node (each one transaction), answering the core. */
  async drainJobs(): Promise<boolean> {
    let any = false;
    const list = this.nodeList;
    for (let k = 0; k < list.length; k++) {
      const n = list[k];
      for (let i = 0; i < 1_000_000; i++) {
        const job = n.node.pollEnforcement();
        if (job === undefined) break;
        any = true;
        const res = n.failJobs ?? (await runEnforcementJob(n.enforcement, job, this.net.now));
        n.node.enforcementDone(this.net.now, job.jobId, res);
        this.net.pump(n.name);
        this.armNatfw(n);
      }
    }
    return any;
  }

  /** Whether any node has an enforcement job queued (checked without awaiting anything). */
  private jobsQueued(): boolean {
    const list = this.nodeList;
    for (let i = 0; i < list.length; i++) if (list[i].node.queuedEnforcement > 0) return true;
    return false;
  }

  /**
   * Advances the virtual clock to `t`, running deliveries, timers and enforcement jobs in order.
   * Jobs are awaited only when some are queued, once the events of their virtual time are done:
   * an await per clock step was the harness's own largest cost in the benchmarks
   * (bench/natfw.bench.ts), and nothing else here is asynchronous.
   */
  async runUntil(t: number, maxSteps = 5_000_000): Promise<void> {
    this.pump();
    const clock = this.net.clock;
    const list = this.nodeList;
    for (let i = 0; i < maxSteps; i++) {
      let next = clock.peek();
      if (next !== clock.now) {
        // Enforcement jobs take no virtual time: those queued by this time's events run once the
        // time's events are done (one await per time, not one per event), then whatever they sent.
        if (this.jobsQueued() && (await this.drainJobs())) continue;
        // Before the clock moves on (or stops): deliveries at this time may have made NATFW nodes
        // act, so re-arm their timers once per time, not after every event (a deadline at this
        // very time lands among this time's events).
        for (let j = 0; j < list.length; j++) this.armNatfw(list[j]);
        next = clock.peek();
      }
      if (next === undefined || next > t) break;
      clock.step();
    }
    this.net.clock.runUntil(t);
    await this.drainJobs();
  }

  async runFor(ms: number): Promise<void> {
    await this.runUntil(this.net.now + ms);
  }
}

export const ADDR = {
  ni: '198.18.0.1',
  nf1: ['198.18.0.2', '198.18.1.1'],
  nf2: ['198.18.1.2', '198.18.2.1'],
  nr: '198.18.2.2',
} as const;

/** NI - NF1 - NF2 - NR (firewalls), 1 ms links. */
export function lineLab3(opts: { seed?: number; nf?: Partial<MiddleboxConfig>; natfw?: Partial<NatfwNodeConfig>; gist?: Partial<GistNodeConfig> } = {}): NatfwVnetLab & {
  flow: (over?: Partial<PathCoupledMri>) => PathCoupledMri;
} {
  const lab = new NatfwVnetLab({ seed: opts.seed });
  const common = { natfw: opts.natfw, gist: opts.gist };
  lab.add('ni', [ADDR.ni], common);
  lab.add('nf1', [...ADDR.nf1], { ...common, middlebox: { kind: 'firewall', ...opts.nf } });
  lab.add('nf2', [...ADDR.nf2], { ...common, middlebox: { kind: 'firewall', ...opts.nf } });
  lab.add('nr', [ADDR.nr], common);
  lab.link('ni', 'nf1');
  lab.link('nf1', 'nf2');
  lab.link('nf2', 'nr');
  return Object.assign(lab, { flow: (over: Partial<PathCoupledMri> = {}) => flowMri(ADDR.ni, ADDR.nr, over) });
}

export function flowMri(src: string, dst: string, over: Partial<PathCoupledMri> = {}): PathCoupledMri {
  return udpFlowMri(src, dst, { sourcePort: 40000, destinationPort: 5004, ...over });
}

/** The promise API of an end host in the lab (wake is a no-op: runFor/runUntil pump). */
export function clientOf(lab: NatfwVnetLab, name: string): NatfwClient {
  const n = lab.get(name);
  return new NatfwClient(n.node, { now: () => lab.now, wake: () => undefined }, { localAddresses: n.addresses });
}
