/**
 * The simulator: one scenario, one seed, one run. It builds the topology and
 * a protocol stack per NSIS node, plays the flows, generators and events on the
 * virtual clock, checks the assertions while it runs, and collects the figures
 * of the report. Deterministic: no wall clock and no Math.random reach the run.
 */
import type { PacketKey, Pinhole } from '../enforcement/types';
import { Counter, distribution } from './metrics';
import { AsyncTracker, ObservedPinholeSet, type PinholeObserver } from './observed-set';
import { Prng } from './prng';
import type { AssertionSpec, EventSpec, FlowSpec, GeneratorSpec, NodeSpec, Scenario } from './scenario/types';
import { SimClock, type ScheduledHandle } from './clock';
import type { FlowRequest, NodeStack, SimPacket, SimWorld, StackEnv, StackEvents, WorldFactory } from './stack';
import { Topology } from './topology';

export interface RunOptions {
  readonly seed?: number;
  readonly world: WorldFactory;
  /** Name of the stack for the report ('real' or 'model'). */
  readonly stackName: string;
  /** Called with every signalling packet sent (for --pcap). */
  readonly onPacket?: (now: number, pkt: SimPacket) => void;
  /** Called now and then with the virtual time reached. */
  readonly onProgress?: (simNow: number, durationMs: number) => void;
}

type FlowStatus = 'scheduled' | 'signalling' | 'established' | 'rejected' | 'terminated' | 'stopped';

interface FlowRun {
  readonly id: string;
  readonly req: FlowRequest;
  readonly fromNode: number;
  /** Where the data goes after a NAT translated it (for `to_external` flows). */
  status: FlowStatus;
  startedAt: number;
  establishedAt?: number;
  rejected?: { at: number; cls: number; code: number };
  endedAt?: number;
  /** Nodes holding a pinhole of this flow, with when it became stale (undefined = on path). */
  holders: Map<number, number | undefined>;
  /** Topology version and path-firewall list when last computed. */
  pathVersion: number;
  pathFws: number[];
  pathChangedAt: number;
  readonly generated: boolean;
  /** Its keys in flowByKey (the 5-tuple, and after a NAT the translated one). */
  readonly keys: string[];
  /** In the flow table (and so in the sampled counts). */
  inTable: boolean;
}

export interface RouteChangeRecord {
  at: number;
  event: string;
  line: number;
  affectedFlows: number;
  repairedFlows: number;
  repairMs: number | null;
  flowRepairMs: number[];
  pending: Set<FlowRun>;
}

export interface AssertionResult {
  id: string;
  kind: string;
  line: number;
  ok: boolean;
  checks: number;
  message: string;
  firstFailureAt?: number;
}

export interface Sample {
  t: number;
  sessions: number;
  pinholes: number;
  messages: number;
  activeFlows: number;
  established: number;
  perNode: Record<string, { sessions: number; pinholes: number }>;
}

export interface RunResult {
  scenario: Scenario;
  seed: number;
  stack: string;
  events: number;
  messages: Counter;
  bytes: Counter;
  drops: Counter;
  handshakes: number;
  latencies: number[];
  flows: { total: number; established: number; rejected: number; terminated: number; rejectedByCode: Counter };
  samples: Sample[];
  routeChanges: RouteChangeRecord[];
  staleLifetimes: number[];
  staleOpen: number;
  timeline: Array<{ at: number; kind: string; what: string }>;
  assertions: AssertionResult[];
  peakPinholes: number;
  peakSessions: number;
}

const FIREWALL_ROLES = new Set(['firewall', 'nat']);
/** Nodes charted one by one in the report; the rest are only in the totals. */
const MAX_NODE_SERIES = 40;

export class Simulation implements PinholeObserver {
  readonly sched = new SimClock();
  private executed = 0;
  private handshakesOfGone = 0;
  readonly topo: Topology;
  private readonly rng: Prng;
  private readonly checkRng: Prng;
  private readonly world: SimWorld;
  private readonly tracker = new AsyncTracker();
  private readonly stacks: Array<NodeStack | undefined>;
  private readonly sets: ObservedPinholeSet[];
  private readonly up: boolean[];
  private readonly nslp: boolean[];
  private readonly nodeRng: Prng[];
  private readonly keys: Map<string, Uint8Array>;
  private readonly flows = new Map<string, FlowRun>();
  private readonly flowByKey = new Map<string, FlowRun>();
  private readonly externals = new Map<string, { address: string; port: number; internal: string; internalPort: number }>();
  private readonly waitingForExternal = new Map<string, FlowSpec[]>();
  private readonly chartNodes: number[];
  private readonly hosts: number[];
  private readonly r: RunResult;
  private pinholesNow = 0;
  private messagesAtLastSample = 0;
  private genSeq = 0;

  constructor(
    readonly scenario: Scenario,
    private readonly opts: RunOptions,
  ) {
    const seed = opts.seed ?? scenario.seed;
    this.rng = new Prng(seed);
    this.topo = new Topology(scenario.nodes, scenario.links);
    const netRng = this.rng.fork(1);
    this.checkRng = this.rng.fork(2);
    this.keys = new Map(scenario.keys.map((k) => [k.id, k.secret]));
    const n = scenario.nodes.length;
    this.up = new Array<boolean>(n).fill(true);
    this.nslp = scenario.nodes.map((s) => s.role !== 'router');
    this.nodeRng = scenario.nodes.map((_, i) => this.rng.fork(100 + i));
    this.sets = scenario.nodes.map((_, i) => new ObservedPinholeSet(i, this, this.tracker));
    this.hosts = scenario.nodes.flatMap((s, i) => (s.role === 'host' ? [i] : []));
    this.chartNodes = scenario.nodes.flatMap((s, i) => (FIREWALL_ROLES.has(s.role) ? [i] : [])).slice(0, MAX_NODE_SERIES);
    this.world = opts.world({
      clock: this.sched,
      topo: this.topo,
      rng: netRng,
      up: (u) => this.up[u],
      sent: (u, now, pkt) => this.sent(u, now, pkt),
      capturing: opts.onPacket !== undefined,
      counted: (label, bytes) => {
        this.r.messages.add(label);
        this.r.bytes.add(label, bytes);
      },
      dropped: (reason) => this.r.drops.add(reason),
      gist: scenario.gist,
    });
    this.r = {
      scenario, seed, stack: opts.stackName, events: 0, messages: new Counter(), bytes: new Counter(), drops: new Counter(), handshakes: 0,
      latencies: [], flows: { total: 0, established: 0, rejected: 0, terminated: 0, rejectedByCode: new Counter() }, samples: [], routeChanges: [],
      staleLifetimes: [], staleOpen: 0, timeline: [], assertions: [], peakPinholes: 0, peakSessions: 0,
    };
    this.stacks = scenario.nodes.map((_, i) => (this.nslp[i] ? this.makeStack(i) : undefined));
  }

  /** Schedules `fn` on the virtual clock; it receives the time it runs at. */
  private at(at: number, fn: (now: number) => void): ScheduledHandle {
    return this.sched.schedule(at, () => fn(this.sched.now));
  }

  private makeStack(i: number): NodeStack {
    const spec: NodeSpec = this.scenario.nodes[i];
    const events: StackEvents = {
      established: (flowId, now) => this.onEstablished(flowId, now),
      rejected: (flowId, now, cls, code) => this.onRejected(flowId, now, cls, code),
      terminated: (flowId, now, why) => this.onTerminated(flowId, now, why),
      externalReserved: (id, now, address, port) => this.onExternalReserved(id, now, address, port),
      externalRejected: (id, now, cls, code) => this.note(now, 'external-rejected', `${id}: class ${cls} code ${code}`),
      handshake: () => {
        this.r.handshakes++;
      },
    };
    const env: StackEnv = {
      node: i, spec, rng: this.nodeRng[i], pinholes: this.sets[i], events, keys: this.keys,
      now: () => this.sched.now,
      schedule: (at, fn) => this.at(at, fn),
    };
    return this.world.attach(env);
  }

  private sent(_from: number, now: number, pkt: SimPacket): void {
    this.r.messages.add(pkt.label);
    this.r.bytes.add(pkt.label, pkt.payload.length);
    this.opts.onPacket?.(now, pkt);
  }

  private note(at: number, kind: string, what: string): void {
    this.r.timeline.push({ at, kind, what });
  }

  // ---- flows

  private flowKey(protocol: number, src: string, srcPort: number, dst: string, dstPort: number): string {
    return `${protocol}|${src}|${srcPort}|${dst}|${dstPort}`;
  }

  private startFlow(now: number, spec: { id: string; from: string; protocol: number; srcPort: number; dstPort: number; subPorts: 0 | 1; lifetimeMs: number; action: 'allow' | 'deny'; stopMs?: number; key?: string }, dst: string, dstPort: number, generated: boolean, internal?: { address: string; port: number }): void {
    const fromNode = this.topo.index.get(spec.from) as number;
    const req: FlowRequest = {
      flowId: spec.id, src: this.scenario.nodes[fromNode].address, dst, protocol: spec.protocol, srcPort: spec.srcPort, dstPort,
      subPorts: spec.subPorts, action: spec.action, lifetimeMs: spec.lifetimeMs, key: spec.key,
    };
    const f: FlowRun = {
      id: spec.id, req, fromNode, status: 'signalling', startedAt: now, holders: new Map(), pathVersion: -1, pathFws: [], pathChangedAt: now, generated, keys: [], inTable: false,
    };
    this.untable(f.id);
    this.flows.set(f.id, f);
    f.inTable = true;
    this.countStatus(f.status, 1);
    this.r.flows.total++;
    f.keys.push(this.flowKey(req.protocol, req.src, req.srcPort, req.dst, req.dstPort));
    if (internal !== undefined) f.keys.push(this.flowKey(req.protocol, req.src, req.srcPort, internal.address, internal.port));
    for (const k of f.keys) this.flowByKey.set(k, f);
    if (!generated) this.note(now, 'flow-start', f.id);
    if (!this.up[fromNode]) {
      this.setStatus(f, 'rejected');
      return;
    }
    this.stacks[fromNode]?.create(now, req);
    if (spec.stopMs !== undefined) this.at(spec.stopMs, (t) => this.stopFlow(t, f));
  }

  private stopFlow(now: number, f: FlowRun): void {
    if (f.status === 'established' || f.status === 'signalling') {
      if (this.up[f.fromNode]) this.stacks[f.fromNode]?.teardown(now, f.id);
      this.setStatus(f, 'stopped');
      f.endedAt = now;
      if (!f.generated) this.note(now, 'flow-stop', f.id);
    }
    if (f.generated && f.holders.size === 0) this.forget(f);
  }

  /**
   * Flows in the table that are signalling or established, and established: counters for the samples,
   * updated when a flow changes status or enters or leaves the table (no scan of 100,000 flows per sample).
   */
  private activeFlows = 0;
  private establishedFlows = 0;

  private countStatus(s: FlowStatus, d: number): void {
    if (s === 'signalling' || s === 'established') this.activeFlows += d;
    if (s === 'established') this.establishedFlows += d;
  }

  private setStatus(f: FlowRun, s: FlowStatus): void {
    if (f.inTable) this.countStatus(f.status, -1);
    f.status = s;
    if (f.inTable) this.countStatus(s, 1);
  }

  /** The flow under this id leaves the flow table (and the counts). */
  private untable(id: string): void {
    const cur = this.flows.get(id);
    if (cur === undefined) return;
    this.countStatus(cur.status, -1);
    cur.inTable = false;
  }

  /** Generated flows are dropped from the tables once over and without pinholes, to bound memory. */
  private forget(f: FlowRun): void {
    this.untable(f.id);
    this.flows.delete(f.id);
    for (const k of f.keys) if (this.flowByKey.get(k) === f) this.flowByKey.delete(k);
  }

  private onEstablished(flowId: string, now: number): void {
    const f = this.flows.get(flowId);
    if (f === undefined || f.establishedAt !== undefined) return;
    f.establishedAt = now;
    if (f.status === 'signalling') this.setStatus(f, 'established');
    this.r.flows.established++;
    this.r.latencies.push(now - f.startedAt);
    if (!f.generated) this.note(now, 'established', flowId);
  }

  private onRejected(flowId: string, now: number, cls: number, code: number): void {
    const f = this.flows.get(flowId);
    if (f === undefined) return;
    this.setStatus(f, 'rejected');
    f.rejected = { at: now, cls, code };
    this.r.flows.rejected++;
    this.r.flows.rejectedByCode.add(`${cls}/0x${code.toString(16).padStart(2, '0')}`);
    if (!f.generated) this.note(now, 'rejected', `${flowId} (class ${cls} code ${code})`);
  }

  private onTerminated(flowId: string, now: number, why: string): void {
    const f = this.flows.get(flowId);
    if (f === undefined) return;
    this.setStatus(f, 'terminated');
    f.endedAt = now;
    this.r.flows.terminated++;
    if (!f.generated) this.note(now, 'terminated', `${flowId}: ${why}`);
  }

  private onExternalReserved(id: string, now: number, address: string, port: number): void {
    const spec = this.scenario.externals.find((x) => x.id === id);
    if (spec === undefined) return;
    const node = this.scenario.nodes[this.topo.index.get(spec.node) as number];
    this.externals.set(id, { address, port, internal: node.address, internalPort: spec.port });
    this.note(now, 'external', `${id} reserved ${address}:${port}`);
    for (const fs of this.waitingForExternal.get(id) ?? []) this.startFlow(now, fs, address, port, false, { address: node.address, port: spec.port });
    this.waitingForExternal.delete(id);
  }

  // ---- pinhole observation (PinholeObserver)

  private flowOf(ph: Pinhole): FlowRun | undefined {
    return this.flowByKey.get(this.flowKey(ph.protocol, ph.src.address, ph.srcPorts?.from ?? 0, ph.dst.address, ph.dstPorts?.from ?? 0));
  }

  added(node: number, now: number, ph: Pinhole): void {
    this.pinholesNow++;
    if (this.pinholesNow > this.r.peakPinholes) this.r.peakPinholes = this.pinholesNow;
    const f = this.flowOf(ph);
    if (f === undefined) return;
    this.refreshPath(f);
    f.holders.set(node, f.pathFws.includes(node) ? undefined : now);
  }

  removed(node: number, now: number, ph: Pinhole): void {
    this.pinholesNow--;
    const f = this.flowOf(ph);
    if (f === undefined) return;
    const since = f.holders.get(node);
    if (since !== undefined) this.r.staleLifetimes.push(now - since);
    f.holders.delete(node);
    if (f.generated && f.holders.size === 0 && (f.status === 'stopped' || f.status === 'terminated' || f.status === 'rejected')) this.forget(f);
  }

  // ---- the data plane, as the assertions see it

  /** The firewalls and NATs the flow's packets cross now, following NAT bindings. */
  private dataPath(f: FlowRun): { fws: number[]; delivered: boolean; verdicts: Array<'allow' | 'deny' | 'none'>; denied: boolean } {
    const fws: number[] = [];
    const verdicts: Array<'allow' | 'deny' | 'none'> = [];
    let dst = f.req.dst;
    let dstPort = f.req.dstPort;
    let u = f.fromNode;
    let delivered = true;
    let denied = false;
    for (let steps = 0; steps <= this.topo.size + 2; steps++) {
      const spec = this.scenario.nodes[u];
      if (steps > 0 && FIREWALL_ROLES.has(spec.role)) {
        if (spec.nat !== undefined && dst === spec.nat.externalAddress) {
          const b = this.sets[u].listBindings().find((x) => x.protocol === f.req.protocol && x.external.port === dstPort);
          if (b === undefined) {
            fws.push(u);
            verdicts.push('none');
            delivered = false;
            break;
          }
          dst = b.internal.address;
          dstPort = b.internal.port;
        }
        fws.push(u);
        const v = this.verdict(u, f, dst, dstPort);
        verdicts.push(v);
        if (v === 'deny') denied = true;
        if (!this.up[u] || v === 'deny' || (v === 'none' && spec.policy.defaultAction === 'drop')) delivered = false;
      }
      const d = this.topo.nodeOfAddress(dst);
      if (d === undefined) return { fws, delivered: false, verdicts, denied };
      if (d === u) return { fws, delivered, verdicts, denied };
      const next = this.topo.nextNode(u, d);
      if (next === undefined) return { fws, delivered: false, verdicts, denied };
      u = next;
    }
    return { fws, delivered: false, verdicts, denied };
  }

  /** A firewall's verdict for the flow's packets (both ports with sub_ports=1: RTP and RTCP). */
  private verdict(u: number, f: FlowRun, dst: string, dstPort: number): 'allow' | 'deny' | 'none' {
    const base: PacketKey = { protocol: f.req.protocol, src: f.req.src, srcPort: f.req.srcPort === 0 ? 40000 : f.req.srcPort, dst, dstPort };
    const v1 = this.sets[u].verdict(base);
    if (f.req.subPorts === 0 || v1 !== 'allow') return v1;
    return this.sets[u].verdict({ ...base, dstPort: dstPort + 1 });
  }

  private refreshPath(f: FlowRun): void {
    if (f.pathVersion === this.topo.version) return;
    const p = this.dataPathNodes(f);
    f.pathVersion = this.topo.version;
    // With the destination unreachable (a node down on the only way) the flow has no path to be on or off: keep the last one.
    if (!p.complete && f.pathFws.length > 0) return;
    const fws = p.fws;
    if (f.pathVersion !== -1 && (fws.length !== f.pathFws.length || fws.some((x, i) => x !== f.pathFws[i]))) f.pathChangedAt = this.sched.now;
    f.pathFws = fws;
  }

  /** The firewall nodes on the path, without looking at pinholes (NAT translation by the flow's known binding). */
  private dataPathNodes(f: FlowRun): { fws: number[]; complete: boolean } {
    const out: number[] = [];
    let dst = f.req.dst;
    let u = f.fromNode;
    for (let steps = 0; steps <= this.topo.size + 2; steps++) {
      const spec = this.scenario.nodes[u];
      if (steps > 0 && FIREWALL_ROLES.has(spec.role)) {
        out.push(u);
        if (spec.nat !== undefined && dst === spec.nat.externalAddress) {
          const x = [...this.externals.values()].find((e) => e.address === dst && e.port === f.req.dstPort);
          if (x === undefined) return { fws: out, complete: false };
          dst = x.internal;
        }
      }
      const d = this.topo.nodeOfAddress(dst);
      if (d === undefined) return { fws: out, complete: false };
      if (d === u) return { fws: out, complete: true };
      const next = this.topo.nextNode(u, d);
      if (next === undefined) return { fws: out, complete: false };
      u = next;
    }
    return { fws: out, complete: false };
  }

  private allowedOnPath(f: FlowRun): boolean {
    const p = this.dataPath(f);
    return p.verdicts.every((v) => v === 'allow');
  }

  // ---- events

  private applyEvent(now: number, e: EventSpec): void {
    const before = this.topo.version;
    let what = '';
    switch (e.kind) {
      case 'link_down':
      case 'link_up':
        this.topo.setLinkUp(e.link, e.kind === 'link_up');
        what = e.link;
        break;
      case 'metric':
        this.topo.setMetric(e.link, e.metric);
        what = `${e.link} metric ${e.metric}`;
        break;
      case 'crash': {
        const i = this.topo.index.get(e.node) as number;
        what = e.node;
        if (!this.up[i]) break;
        this.up[i] = false;
        this.handshakesOfGone += this.stacks[i]?.handshakes?.() ?? 0;
        this.stacks[i]?.stop();
        this.stacks[i] = undefined;
        this.world.detach(i);
        this.sets[i].wipe(now);
        this.setNodeLinks(i, false);
        break;
      }
      case 'restart': {
        const i = this.topo.index.get(e.node) as number;
        what = e.node;
        if (this.up[i]) break;
        this.up[i] = true;
        if (this.nslp[i]) this.stacks[i] = this.makeStack(i);
        this.setNodeLinks(i, true);
        break;
      }
      case 'loss_burst': {
        const l = this.topo.link(e.link);
        l.loss = e.loss;
        what = `${e.link} loss ${e.loss} for ${e.durationMs / 1000}s`;
        this.world.linksChanged();
        this.at(now + e.durationMs, () => {
          l.loss = l.spec.loss;
          this.world.linksChanged();
        });
        break;
      }
      case 'teardown': {
        const f = this.flows.get(e.flow);
        what = e.flow;
        if (f === undefined) break;
        const nodes = e.node !== undefined ? [this.topo.index.get(e.node) as number] : this.dataPathNodes(f).fws;
        for (const u of nodes) this.stacks[u]?.operatorTeardown(now, f.req);
        what = `${e.flow} at ${nodes.map((u) => this.scenario.nodes[u].id).join(', ')}`;
        break;
      }
    }
    this.note(now, e.kind, what);
    if (this.topo.version !== before) this.world.linksChanged();
    // A restarted node lost its state: the flows across it need repair as after a route change.
    const lost = e.kind === 'restart' ? this.topo.index.get(e.node) : undefined;
    if (this.topo.version !== before || lost !== undefined) this.routeChanged(now, `${e.kind} ${what}`, e.line, lost);
  }

  private setNodeLinks(i: number, up: boolean): void {
    const id = this.scenario.nodes[i].id;
    let changed = false;
    for (const l of this.topo.links) if ((l.spec.a === id || l.spec.b === id) && l.up !== up) {
      l.up = up;
      changed = true;
    }
    if (changed) this.topo.recompute();
  }

  /** Records a route change: which established flows now cross other firewalls, and which pinholes went stale. */
  private routeChanged(now: number, event: string, line: number, lostState?: number): void {
    const rec: RouteChangeRecord = { at: now, event, line, affectedFlows: 0, repairedFlows: 0, repairMs: null, flowRepairMs: [], pending: new Set() };
    for (const f of this.flows.values()) {
      const old = f.pathFws;
      this.refreshPath(f);
      for (const [node, since] of f.holders) {
        const onPath = f.pathFws.includes(node);
        if (!onPath && since === undefined) f.holders.set(node, now);
        else if (onPath && since !== undefined) {
          this.r.staleLifetimes.push(now - since);
          f.holders.set(node, undefined);
        }
      }
      if (f.status !== 'established') continue;
      const same = old.length === f.pathFws.length && old.every((x, i) => x === f.pathFws[i]);
      if (same && (lostState === undefined || !f.pathFws.includes(lostState))) continue;
      rec.affectedFlows++;
      rec.pending.add(f);
    }
    this.r.routeChanges.push(rec);
    if (rec.affectedFlows === 0) rec.repairMs = 0;
  }

  private checkRepairs(now: number): void {
    for (const rec of this.r.routeChanges) {
      if (rec.pending.size === 0) continue;
      for (const f of rec.pending) {
        if (f.status !== 'established') {
          rec.pending.delete(f);
          continue;
        }
        if (this.allowedOnPath(f)) {
          rec.pending.delete(f);
          rec.repairedFlows++;
          rec.flowRepairMs.push(now - rec.at);
        }
      }
      if (rec.pending.size === 0) rec.repairMs = now - rec.at;
    }
  }

  // ---- generators

  private startGenerator(g: GeneratorSpec): void {
    const rng = this.rng.fork(1000 + this.genSeq++);
    const pick = (ids: readonly string[] | undefined): number => {
      if (ids === undefined) return this.hosts[rng.int(this.hosts.length)];
      return this.topo.index.get(ids[rng.int(ids.length)]) as number;
    };
    const pair = (from: readonly string[] | undefined, to: readonly string[] | undefined): [number, number] | undefined => {
      for (let i = 0; i < 16; i++) {
        const a = pick(from);
        const b = pick(to);
        if (a !== b) return [a, b];
      }
      return undefined;
    };
    const id = (n: number): string => this.scenario.nodes[n].id;
    if (g.kind === 'calls') {
      let callNo = 0;
      const arrive = (now: number): void => {
        const p = pair(g.from, g.to);
        if (p !== undefined) {
          const call = `${g.id}-${callNo++}`;
          // Exponential holding time, capped at three times the mean so that a run ends with its calls.
          const hold = Math.min(3 * g.meanHoldMs, rng.exp(g.meanHoldMs));
          const stopMs = now + Math.max(1000, hold);
          // Per media stream and direction one session with sub_ports=1: RTP on an even port, RTCP on the next (RFC 5973 s4.2.3).
          for (let m = 0; m < g.mediaStreams; m++) {
            const port = 16384 + ((callNo * 2 * g.mediaStreams + 2 * m) % 16000) * 2;
            for (const [a, b, dir] of [[p[0], p[1], 'fwd'], [p[1], p[0], 'rev']] as const) {
              const spec = { id: `${call}-m${m}-${dir}`, from: id(a), protocol: 17, srcPort: port, dstPort: port, subPorts: 1 as const, lifetimeMs: g.lifetimeMs, action: 'allow' as const, stopMs, key: g.key };
              this.startFlow(now, spec, this.scenario.nodes[b].address, port, true);
            }
          }
        }
        const next = now + rng.exp(1000 / g.ratePerS);
        if (next < g.stopMs) this.at(next, arrive);
      };
      this.at(g.startMs + rng.exp(1000 / g.ratePerS), arrive);
      return;
    }
    let k = 0;
    const step = g.count > 1 ? g.spreadMs / g.count : 0;
    const arrive = (now: number): void => {
      // Start the sessions due at this instant (several per event when many share a millisecond).
      const until = g.startMs + step * (k + 1);
      do {
        const p = pair(g.from, g.to);
        if (p !== undefined) {
          const port = 1024 + rng.int(60000);
          const spec = {
            id: `${g.id}-${k}`, from: id(p[0]), protocol: g.protocol, srcPort: 1024 + rng.int(60000), dstPort: port, subPorts: 0 as const, lifetimeMs: g.lifetimeMs,
            action: 'allow' as const, stopMs: g.holdMs === undefined ? undefined : now + g.holdMs, key: g.key,
          };
          this.startFlow(now, spec, this.scenario.nodes[p[1]].address, port, true);
        }
        k++;
      } while (k < g.count && g.startMs + step * k <= now);
      if (k < g.count) this.at(Math.max(now, until), arrive);
    };
    this.at(g.startMs, arrive);
  }

  // ---- sampling and assertions

  private sample(now: number): void {
    let sessions = 0;
    const perNode: Record<string, { sessions: number; pinholes: number }> = {};
    for (let i = 0; i < this.stacks.length; i++) {
      const s = this.stacks[i];
      if (s !== undefined && FIREWALL_ROLES.has(this.scenario.nodes[i].role)) sessions += s.sessionCount();
    }
    for (const i of this.chartNodes) perNode[this.scenario.nodes[i].id] = { sessions: this.stacks[i]?.sessionCount() ?? 0, pinholes: this.sets[i].size };
    if (sessions > this.r.peakSessions) this.r.peakSessions = sessions;
    const total = this.r.messages.total();
    this.r.samples.push({ t: now, sessions, pinholes: this.pinholesNow, messages: total - this.messagesAtLastSample, activeFlows: this.activeFlows, established: this.establishedFlows, perNode });
    this.messagesAtLastSample = total;
  }

  private readonly results = new Map<string, AssertionResult>();

  private result(a: AssertionSpec): AssertionResult {
    let r = this.results.get(a.id);
    if (r === undefined) {
      r = { id: a.id, kind: a.kind, line: a.line, ok: true, checks: 0, message: '' };
      this.results.set(a.id, r);
    }
    return r;
  }

  private failAt(r: AssertionResult, now: number, message: string): void {
    r.checks++;
    if (!r.ok) return;
    r.ok = false;
    r.firstFailureAt = now;
    r.message = `at ${(now / 1000).toFixed(3)}s: ${message}`;
  }

  private names(nodes: number[]): string {
    return nodes.length === 0 ? 'none' : nodes.map((u) => this.scenario.nodes[u].id).join(', ');
  }

  private check(now: number): void {
    for (const a of this.scenario.assertions) {
      if (!('fromMs' in a) || now < a.fromMs || now > a.untilMs) continue;
      const r = this.result(a);
      const f = 'flow' in a ? this.flows.get(a.flow) : undefined;
      switch (a.kind) {
        case 'allowed_on_path': {
          if (f === undefined) {
            this.failAt(r, now, `flow ${a.flow} has not started`);
            break;
          }
          const p = this.dataPath(f);
          const missing = p.fws.filter((_, i) => p.verdicts[i] !== 'allow');
          const elsewhere: number[] = [];
          for (let u = 0; u < this.sets.length; u++) {
            if (!FIREWALL_ROLES.has(this.scenario.nodes[u].role) || p.fws.includes(u)) continue;
            for (const [node] of f.holders) if (node === u) elsewhere.push(u);
          }
          if (missing.length > 0) this.failAt(r, now, `flow ${a.flow} is not allowed at ${this.names(missing)} on its path (${this.names(p.fws)})`);
          else if (elsewhere.length > 0) this.failAt(r, now, `flow ${a.flow} still has pinholes off its path at ${this.names(elsewhere)}`);
          else r.checks++;
          break;
        }
        case 'all_allowed_on_path': {
          const cands: FlowRun[] = [];
          for (const g of this.flows.values()) {
            if (g.status === 'established' && (g.establishedAt as number) <= now - a.settleMs && g.pathChangedAt <= now - a.settleMs) cands.push(g);
          }
          let bad: FlowRun | undefined;
          const n = Math.min(a.sample, cands.length);
          for (let i = 0; i < n && bad === undefined; i++) {
            const g = n === cands.length ? cands[i] : cands[this.checkRng.int(cands.length)];
            this.refreshPath(g);
            if (g.pathChangedAt > now - a.settleMs) continue;
            if (!this.allowedOnPath(g)) bad = g;
          }
          if (bad !== undefined) {
            const p = this.dataPath(bad);
            this.failAt(r, now, `flow ${bad.id} is not allowed at every firewall on its path (${this.names(p.fws)}: ${p.verdicts.join(', ')})`);
          } else r.checks++;
          break;
        }
        case 'delivered':
        case 'blocked':
        case 'denied_on_path': {
          if (f === undefined) {
            this.failAt(r, now, `flow ${a.flow} has not started`);
            break;
          }
          const p = this.dataPath(f);
          if (a.kind === 'delivered' && !p.delivered) this.failAt(r, now, `flow ${a.flow} is not delivered (verdicts on its path ${this.names(p.fws)}: ${p.verdicts.join(', ')})`);
          else if (a.kind === 'blocked' && p.delivered) this.failAt(r, now, `flow ${a.flow} is delivered (path ${this.names(p.fws)})`);
          else if (a.kind === 'denied_on_path' && !p.denied) this.failAt(r, now, `flow ${a.flow} has no deny pinhole on its path (${this.names(p.fws)}: ${p.verdicts.join(', ')})`);
          else r.checks++;
          break;
        }
        case 'no_pinholes_for': {
          if (f !== undefined && f.holders.size > 0) this.failAt(r, now, `flow ${a.flow} still has pinholes at ${this.names([...f.holders.keys()])}`);
          else r.checks++;
          break;
        }
        case 'pinholes': {
          const u = this.topo.index.get(a.node) as number;
          const n = this.sets[u].size;
          const ok = a.op === 'eq' ? n === a.value : a.op === 'le' ? n <= a.value : n >= a.value;
          if (!ok) this.failAt(r, now, `${a.node} holds ${n} pinholes, expected ${a.op === 'eq' ? '' : a.op === 'le' ? 'at most ' : 'at least '}${a.value}`);
          else r.checks++;
          break;
        }
      }
    }
    this.checkRepairs(now);
  }

  private finalChecks(): void {
    const end = this.scenario.durationMs;
    for (const a of this.scenario.assertions) {
      const r = this.result(a);
      const f = 'flow' in a ? this.flows.get(a.flow) : undefined;
      switch (a.kind) {
        case 'established':
          r.checks++;
          if (f?.establishedAt === undefined || f.establishedAt > a.byMs) {
            r.ok = false;
            r.message = f?.rejected !== undefined ? `flow ${a.flow} was rejected with class ${f.rejected.cls} code ${f.rejected.code}` : `flow ${a.flow} was not established by ${a.byMs / 1000}s`;
          }
          break;
        case 'rejected':
          r.checks++;
          if (f?.rejected === undefined || f.rejected.at > a.byMs) {
            r.ok = false;
            r.message = f?.establishedAt !== undefined ? `flow ${a.flow} was established` : `flow ${a.flow} was not rejected by ${a.byMs / 1000}s`;
          } else if ((a.responseClass !== undefined && f.rejected.cls !== a.responseClass) || (a.responseCode !== undefined && f.rejected.code !== a.responseCode)) {
            r.ok = false;
            r.message = `flow ${a.flow} was rejected with class ${f.rejected.cls} code ${f.rejected.code}, expected class ${a.responseClass ?? 'any'} code ${a.responseCode ?? 'any'}`;
          }
          break;
        case 'repair_time_max':
          for (const rc of this.r.routeChanges) {
            r.checks++;
            if (rc.repairMs === null) {
              r.ok = false;
              r.message = `after ${rc.event} at ${rc.at / 1000}s, ${rc.pending.size} of ${rc.affectedFlows} flows were never repaired`;
              break;
            }
            if (rc.repairMs > a.maxMs) {
              r.ok = false;
              r.message = `repair after ${rc.event} at ${rc.at / 1000}s took ${rc.repairMs / 1000}s (max ${a.maxMs / 1000}s)`;
              break;
            }
          }
          break;
        case 'stale_pinhole_max': {
          const open = this.openStale(end);
          const worst = Math.max(0, ...this.r.staleLifetimes, ...open);
          r.checks++;
          if (worst > a.maxMs) {
            r.ok = false;
            r.message = `a stale pinhole lived ${worst / 1000}s (max ${a.maxMs / 1000}s)${open.some((x) => x === worst) ? ' and was still there at the end' : ''}`;
          }
          break;
        }
        case 'latency_percentile_max': {
          const d = [...this.r.latencies].sort((x, y) => x - y);
          const rank = Math.min(d.length - 1, Math.max(0, Math.ceil((a.percentile / 100) * d.length) - 1));
          r.checks++;
          if (d.length === 0 || d[rank] > a.maxMs) {
            r.ok = false;
            r.message = d.length === 0 ? 'no session was established' : `p${a.percentile} signalling latency is ${d[rank]}ms (max ${a.maxMs}ms)`;
          }
          break;
        }
        case 'established_fraction_min': {
          r.checks++;
          const frac = this.r.flows.total === 0 ? 0 : this.r.flows.established / this.r.flows.total;
          if (frac < a.fraction) {
            r.ok = false;
            r.message = `${this.r.flows.established} of ${this.r.flows.total} sessions established (${(frac * 100).toFixed(2)}%, min ${(a.fraction * 100).toFixed(2)}%)`;
          }
          break;
        }
        default:
          if (r.checks === 0 && r.ok) {
            r.ok = false;
            r.message = 'never checked (its time span holds no check instant)';
          }
      }
      if (r.ok && r.message === '') r.message = `held (${r.checks} checks)`;
    }
    this.r.assertions = this.scenario.assertions.map((a) => this.result(a));
  }

  private openStale(end: number): number[] {
    const out: number[] = [];
    for (const f of this.flows.values()) for (const since of f.holders.values()) if (since !== undefined) out.push(end - since);
    return out;
  }

  // ---- the run

  async run(): Promise<RunResult> {
    const sc = this.scenario;
    for (const fs of sc.flows) {
      this.at(fs.startMs, (now) => {
        if (fs.toExternal !== undefined) {
          const x = this.externals.get(fs.toExternal);
          if (x === undefined) {
            const list = this.waitingForExternal.get(fs.toExternal) ?? [];
            list.push(fs);
            this.waitingForExternal.set(fs.toExternal, list);
            return;
          }
          this.startFlow(now, fs, x.address, x.port, false, { address: x.internal, port: x.internalPort });
        } else this.startFlow(now, fs, sc.nodes[this.topo.index.get(fs.to as string) as number].address, fs.dstPort, false);
      });
    }
    for (const x of sc.externals) {
      this.at(x.startMs, (now) => {
        const i = this.topo.index.get(x.node) as number;
        const toward = sc.nodes[this.topo.index.get(x.toward) as number].address;
        this.note(now, 'external-start', x.id);
        this.stacks[i]?.external(now, { externalId: x.id, address: sc.nodes[i].address, toward, protocol: x.protocol, port: x.port, subPorts: x.subPorts, lifetimeMs: x.lifetimeMs, key: x.key });
        if (x.stopMs !== undefined) this.at(x.stopMs, (t) => this.stacks[i]?.teardown(t, `ext:${x.id}`));
      });
    }
    for (const g of sc.generators) this.startGenerator(g);
    for (const e of sc.events) this.at(e.atMs, (now) => this.applyEvent(now, e));
    for (let t = 0; t <= sc.durationMs; t += sc.sampleIntervalMs) this.at(t, (now) => this.sample(now));
    for (let t = 0; t <= sc.durationMs; t += sc.checkIntervalMs) this.at(t, (now) => this.check(now));

    // Advance in slices so that commits (promises) settle at the instant they were made and progress can be shown.
    const slice = Math.max(1, Math.min(sc.checkIntervalMs, 1000));
    let lastProgress = -1;
    for (let t = 0; ; ) {
      await this.runSlice(t);
      if (this.opts.onProgress !== undefined && Math.floor(t / 1000) !== lastProgress) {
        lastProgress = Math.floor(t / 1000);
        this.opts.onProgress(t, sc.durationMs);
      }
      // One turn of the event loop per slice even when no commit is pending (the real stack's commits
      // are immediate): the progress display draws, signals and GC observations are delivered.
      await new Promise((res) => setImmediate(res));
      if (t >= sc.durationMs) break;
      t = Math.min(sc.durationMs, t + slice);
    }
    this.finalChecks();
    this.r.events = this.executed;
    this.r.handshakes += this.handshakesOfGone;
    for (const s of this.stacks) this.r.handshakes += s?.handshakes?.() ?? 0;
    this.r.staleOpen = this.openStale(sc.durationMs).length;
    return this.r;
  }

  /** Runs every event up to `until`, letting promises settle after each event that left some pending. */
  private async runSlice(until: number): Promise<void> {
    for (;;) {
      const next = this.sched.peek();
      if (next === undefined || next > until) break;
      this.executed += this.sched.runUntil(next);
      // A macrotask turn runs the whole microtask queue, including what the cores chain after a commit.
      for (let spins = 0; spins < 1000; spins++) {
        this.world.settleAll?.();
        if (!this.tracker.touched) break;
        this.tracker.touched = false;
        await new Promise((res) => setImmediate(res));
      }
    }
    this.executed += this.sched.runUntil(until);
  }
}

export function summarize(r: RunResult): { latency: ReturnType<typeof distribution>; stale: ReturnType<typeof distribution> } {
  return { latency: distribution(r.latencies), stale: distribution(r.staleLifetimes) };
}
