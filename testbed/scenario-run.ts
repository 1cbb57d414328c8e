/**
 * Replays a simulator scenario on real daemons in network namespaces, in real
 * time: one namespace per node, one veth pair per link, host routes from the
 * simulator's own shortest-path computation (a NAT's inside routed only
 * inside), natfwd on every host (end host, memory backend), firewall and NAT
 * (nftables, NFQUEUE interception, the node's policy and keys; a NAT as an edge
 * NAT with its bindings), routers forwarding only. EXTERNAL reservations and
 * flows (explicit and generated) are signalled through the daemons' control
 * sockets, link/metric/crash/restart/teardown events change the namespaces
 * under them, the kernel's pinholes are read at every sample, probes cross the
 * data plane (through NAT translations), and the scenario's assertions are
 * judged on what was seen (testbed/scenario-check.ts). Whatever happens, every
 * process started here is ended and every namespace removed. */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NatfwError } from '../common/errors';
import { issueToken } from '../natfw-nslp/auth/token';
import type { EventSpec, ExternalSpec, FlowSpec, NodeSpec, Scenario } from '../sim/scenario/types';
import { REPORT_STYLE, lineChart } from '../sim/report';
import { Topology } from '../sim/topology';
import { ControlClient, ControlRefusal } from '../cli/session';
import { DaemonTestbed, NATFW, natfwdConfig, sleep, type ProbeProto, type ProbeSink } from './daemons';
import { NetnsLab, netnsUnavailableReason } from './netns';
import { checkAssertions, probeTimes, type AssertionOutcome, type FlowRecord, type KernelEntry, type ProbeRecord, type Sample } from './scenario-check';
import { daemonFiles, GIST_PORT, keyIdsOf, linkPlans, lossScript, lossTable, natToward, routeBatch, routesOf, type GeneratedFlow, type LinkPlan, type RoutePlan } from './scenario-plan';

export class TestbedError extends NatfwError {}

export interface TestbedRunOptions {
  /** Window edges given to real processes (default 1.5 s). */
  readonly slackMs?: number;
  /** Progress lines (what happens, when). */
  readonly log?: (line: string) => void;
  /** Ends the run early (the report then covers what ran); clean-up happens either way. */
  readonly signal?: AbortSignal;
  /** Copy each daemon's log (one JSON line per event) here as `<node>.log` before the namespaces go. */
  readonly logsDir?: string;
  /** natfwd's log level (default info; debug logs every message). */
  readonly logLevel?: 'debug' | 'info';
  /** The flows of the scenario's generators (scenario-plan.ts expandGenerators), signalled as explicit ones. */
  readonly generated?: readonly GeneratedFlow[];
}

export interface TestbedReport {
  scenario: { name: string; description: string; durationS: number; nodes: number; links: number; flows: number; generatedFlows: number; externals: number; events: number };
  mode: 'testbed';
  ok: boolean;
  aborted: boolean;
  daemons: string[];
  notes: string[];
  flows: Array<{ id: string; session: string | null; establishedAtS: number | null; grantedLifetimeS: number | null; rejected: string | null; endedAtS: number | null }>;
  /** EXTERNAL reservations: the session at the receiver and the NAT's answer. */
  externals: Array<{ id: string; session: string | null; reservedAtS: number | null; address: string | null; port: number | null; rejected: string | null }>;
  /** Setup time of every session (the control request to its answer), real milliseconds. */
  setupMs: { count: number; p50: number | null; p99: number | null; max: number | null };
  timeline: Array<{ atS: number; kind: string; what: string }>;
  series: { t: number[]; pinholes: Record<string, number[]> };
  probes: Array<{ assertion: string; atS: number; delivered: boolean }>;
  assertions: AssertionOutcome[];
}

/** Owner of the static pinholes that let GIST D-mode/C-mode cross a firewall that is not the peer. */
const TRANSIT_OWNER = 'gist-transit';
const TRANSIT_PREFIXES = ['198.18.0.0/15', '2001:db8::/32'];

const r3 = (ms: number): number => Math.round(ms) / 1000;

/** How a flow's packets can be probed: UDP datagrams or TCP connections; other protocols cannot. */
function probeProto(f: FlowSpec): ProbeProto | undefined {
  return f.protocol === 17 ? 'udp' : f.protocol === 6 ? 'tcp' : undefined;
}

/** An EXTERNAL reservation as the run saw it; flows `to_external` wait for it. */
interface ExternalRecord {
  readonly spec: ExternalSpec;
  session?: string;
  reservedAtMs?: number;
  address?: string;
  port?: number;
  rejected?: string;
  readonly waiting: FlowRecord[];
}

interface LinkState {
  readonly plan: LinkPlan;
  readonly aIf: string;
  readonly bIf: string;
  /** What link_down/link_up last said (a crashed end also takes it down). */
  wanted: boolean;
}

class ScenarioTestbed {
  private readonly topo: Topology;
  private readonly lab: NetnsLab;
  private readonly bed: DaemonTestbed;
  private readonly links: LinkState[] = [];
  private readonly routes: RoutePlan[][];
  private readonly crashed = new Set<string>();
  private readonly configs = new Map<string, string>();
  private readonly sinks = new Map<string, ProbeSink>();
  private readonly flows = new Map<string, FlowRecord>();
  private readonly externals = new Map<string, ExternalRecord>();
  /** Explicit and generated flows, in that order. */
  private readonly allFlows: readonly FlowSpec[];
  private readonly generatedIds: ReadonlySet<string>;
  private readonly paths = new Map<string, { path: string[] | null; sinceMs: number }>();
  private readonly samples: Sample[] = [];
  private readonly probes: ProbeRecord[] = [];
  private readonly timeline: TestbedReport['timeline'] = [];
  private readonly notes: string[] = [];
  private readonly firewalls: string[];
  private t0 = 0;
  /** Topology changes and daemon restarts, one at a time and in order. */
  private serial: Promise<void> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly s: Scenario,
    private readonly o: TestbedRunOptions,
  ) {
    this.topo = new Topology(s.nodes, s.links);
    // NATs are firewalls too, as in the simulator (their pinholes are counted and judged the same way).
    this.firewalls = s.nodes.filter((n) => n.role === 'firewall' || n.role === 'nat').map((n) => n.id);
    this.allFlows = [...s.flows, ...(o.generated ?? [])];
    this.generatedIds = new Set((o.generated ?? []).map((f) => f.id));
    const plans = linkPlans(s);
    this.lab = NetnsLab.build('tbd', (lab) => {
      for (const n of s.nodes) {
        lab.addNode({ name: n.id, forward: n.role !== 'host' });
        // Paths may be asymmetric after a route change: no reverse-path filter.
        lab.exec(n.id, 'sysctl', ['-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
        lab.exec(n.id, 'ip', ['addr', 'add', `${n.address}/${n.address.includes(':') ? 128 : 32}`, 'dev', 'lo']);
        // A NAT's external address is its own too (the simulator's Topology gives it to the NAT node).
        const ext = n.nat?.externalAddress;
        if (ext !== undefined && ext !== n.address) lab.exec(n.id, 'ip', ['addr', 'add', `${ext}/${ext.includes(':') ? 128 : 32}`, 'dev', 'lo']);
      }
      for (const p of plans) {
        const { aIf, bIf } = lab.addLink({ a: p.spec.a, b: p.spec.b, aAddrs: [...p.aAddrs], bAddrs: [...p.bAddrs] });
        this.links.push({ plan: p, aIf, bIf, wanted: true });
      }
    });
    this.bed = new DaemonTestbed(this.lab);
    this.routes = s.nodes.map(() => []);
  }

  private log(line: string): void {
    this.o.log?.(line);
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  private note(kind: string, what: string): void {
    const atMs = this.t0 === 0 ? 0 : this.now();
    this.timeline.push({ atS: r3(atMs), kind, what });
    this.log(`${(atMs / 1000).toFixed(1).padStart(6)}s  ${kind}: ${what}`);
  }

  async run(): Promise<TestbedReport> {
    let aborted = false;
    try {
      await this.setUp();
      this.t0 = performance.now();
      for (const f of this.allFlows) this.paths.set(f.id, { path: this.pathOf(f), sinceMs: 0 });
      const sampler = this.sampleLoop();
      aborted = !(await this.playTimeline());
      this.stopSampling = true;
      await sampler;
      await Promise.allSettled([...this.pending]);
    } finally {
      if (this.o.logsDir !== undefined) this.copyLogs(this.o.logsDir);
      await this.bed.stop();
    }
    return this.report(aborted);
  }

  private copyLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const id of this.configs.keys()) {
      try {
        copyFileSync(this.bed.daemon(id).logFile, join(dir, `${id}.log`));
      } catch {
        // A daemon that never started has no log.
      }
    }
  }

  // ---------- set-up ----------

  private async setUp(): Promise<void> {
    this.applyNetem();
    await this.applyRoutes();
    const keyRoot = join(this.bed.dir, 'keys');
    mkdirSync(keyRoot, { mode: 0o700 });
    for (const n of this.s.nodes) {
      if (n.role === 'router') continue;
      const keyDir = join(keyRoot, n.id);
      const files = daemonFiles(this.s, n, keyDir);
      if (files.keys.size > 0) {
        mkdirSync(keyDir, { mode: 0o700 });
        for (const [id, hex] of files.keys) {
          writeFileSync(join(keyDir, `${id}.key`), hex + '\n', { mode: 0o600 });
          chmodSync(join(keyDir, `${id}.key`), 0o600);
        }
      }
      this.configs.set(n.id, natfwdConfig(n.id, files.addresses, files.extra, { role: files.role, edge: files.edge, logLevel: this.o.logLevel ?? 'info' }));
      if (n.role === 'firewall' || n.role === 'nat') await this.transitPinholes(n, files.extra.some((l) => l.includes('mode: integration')) ? 'integration' : 'standalone');
    }
    for (const [id, yaml] of this.configs) {
      await this.bed.start(id, yaml);
      this.log(`natfwd started on ${id}`);
    }
    await this.startSinks();
  }

  /**
   * The simulator carries signalling between peers whatever the firewalls in
   * between hold; in a real standalone firewall (policy drop) D-mode and
   * C-mode between two other nodes need a static pinhole, as an operator would
   * add one. Added before natfwd starts, so that its reconcile adopts them.
   */
  private async transitPinholes(n: NodeSpec, mode: 'standalone' | 'integration'): Promise<void> {
    const lifetime = String(Math.ceil(this.s.durationMs / 1000) + 3600);
    await this.lab.execAsync(n.id, process.execPath, [NATFW, 'pinhole', 'setup', '--mode', mode]);
    for (const p of TRANSIT_PREFIXES)
      for (const proto of ['udp', 'tcp'])
        await this.lab.execAsync(n.id, process.execPath, [NATFW, 'pinhole', 'add', '--proto', proto, '--src', p, '--dst', p, '--dport', String(GIST_PORT), '--lifetime', lifetime, '--owner', TRANSIT_OWNER]);
  }

  private applyNetem(): void {
    for (const l of this.links) {
      const spec = l.plan.spec;
      if (spec.delayMs <= 0 && spec.loss <= 0 && spec.capacityBps <= 0) continue;
      const args = ['delay', `${spec.delayMs}ms`, ...(spec.loss > 0 ? ['loss', `${spec.loss * 100}%`] : []), ...(spec.capacityBps > 0 ? ['rate', `${spec.capacityBps}bit`] : [])];
      const a = this.lab.tryExec(spec.a, 'tc', ['qdisc', 'add', 'dev', l.aIf, 'root', 'netem', ...args]);
      if (a.status !== 0) {
        this.notes.push(`link delay, loss and capacity are not applied: tc netem failed (${a.stderr.trim() || `exit ${a.status}`}); this kernel may lack sch_netem`);
        return;
      }
      this.lab.exec(spec.b, 'tc', ['qdisc', 'add', 'dev', l.bIf, 'root', 'netem', ...args]);
    }
  }

  /** Brings every node's kernel routes to what the topology computes now (only what changed). */
  private async applyRoutes(): Promise<void> {
    await Promise.all(
      this.s.nodes.map(async (n, u) => {
        const next = routesOf(this.topo, this.links.map((l) => l.plan), u);
        const batch = routeBatch(this.routes[u], next);
        this.routes[u] = next;
        // -force: a route through a link that went down is already gone from the kernel; its `del` may fail.
        if (batch.length > 0) await this.lab.execAsync(n.id, 'ip', ['-force', '-batch', '-'], batch.join('\n') + '\n').catch(() => undefined);
      }),
    );
  }

  private async startSinks(): Promise<void> {
    const want = new Map<string, Set<string>>();
    for (const a of this.s.assertions) {
      if (a.kind !== 'delivered' && a.kind !== 'blocked') continue;
      const f = this.s.flows.find((x) => x.id === a.flow);
      const r = f === undefined ? undefined : this.receiverOf(f);
      if (f === undefined || r === undefined || r.port === 0) continue;
      const proto = probeProto(f);
      if (proto === undefined) continue;
      const set = want.get(r.node) ?? new Set<string>();
      set.add(JSON.stringify([proto, r.port]));
      want.set(r.node, set);
    }
    for (const [node, set] of want) {
      const ports = [...set].map((x) => JSON.parse(x) as [ProbeProto, number]);
      this.sinks.set(node, await this.bed.sink(node, this.node(node).address, ports));
    }
  }

  private node(id: string): NodeSpec {
    return this.s.nodes[this.topo.index.get(id) as number];
  }

  /** Where a flow's data ends: its `to` node and port, or the receiver behind the NAT of its EXTERNAL and the port it listens on. */
  private receiverOf(f: FlowSpec): { node: string; port: number } | undefined {
    if (f.to !== undefined) return { node: f.to, port: f.dstPort };
    const x = f.toExternal === undefined ? undefined : this.s.externals.find((e) => e.id === f.toExternal);
    return x === undefined ? undefined : { node: x.node, port: x.port };
  }

  /**
   * The nodes a flow's data crosses now. A flow to an EXTERNAL reservation goes
   * to the NAT's external address and on, translated, to the receiver (as the
   * simulator's data path follows the binding); before the reservation it has none.
   */
  private pathOf(f: FlowSpec): string[] | null {
    const idx = (id: string): number => this.topo.index.get(id) as number;
    const ids = (p: number[] | undefined): string[] | null => (p === undefined ? null : p.map((u) => this.s.nodes[u].id));
    if (f.to !== undefined) return ids(this.topo.path(idx(f.from), idx(f.to)));
    const x = f.toExternal === undefined ? undefined : this.externals.get(f.toExternal);
    const nat = x?.address === undefined ? undefined : this.topo.nodeOfAddress(x.address);
    if (x === undefined || nat === undefined) return null;
    const outside = ids(this.topo.path(idx(f.from), nat));
    const inside = ids(this.topo.path(nat, idx(x.spec.node)));
    return outside === null || inside === null ? null : [...outside, ...inside.slice(1)];
  }

  // ---------- the timeline ----------

  private stopSampling = false;

  /** Plays flows, events and probes at their instants; false when aborted. */
  private async playTimeline(): Promise<boolean> {
    const items: Array<{ atMs: number; order: number; run: () => void }> = [];
    const at = (atMs: number, run: () => void): void => {
      items.push({ atMs, order: items.length, run });
    };
    for (const x of this.s.externals) {
      const rec: ExternalRecord = { spec: x, waiting: [] };
      this.externals.set(x.id, rec);
      at(x.startMs, () => this.track(this.external(rec)));
      if (x.stopMs !== undefined) at(x.stopMs, () => this.track(this.externalTeardown(rec)));
    }
    for (const f of this.allFlows) {
      const rec: FlowRecord = { spec: f };
      this.flows.set(f.id, rec);
      at(f.startMs, () => this.track(this.start(rec)));
      if (f.stopMs !== undefined) {
        const stop = f.stopMs;
        at(stop, () => this.track(this.teardown(rec, f.from, 'stop')));
      }
    }
    const serially = (run: () => Promise<void>): void => {
      const p = this.serial.then(run);
      this.serial = p.catch(() => undefined);
      this.track(p);
    };
    for (const e of this.s.events) {
      at(e.atMs, () => serially(() => this.event(e)));
      if (e.kind === 'loss_burst') at(e.atMs + e.durationMs, () => serially(() => this.lossEnd(e)));
    }
    const slack = this.o.slackMs ?? 1500;
    for (const a of this.s.assertions) {
      if (a.kind !== 'delivered' && a.kind !== 'blocked') continue;
      for (const t of probeTimes(a, slack, this.s.durationMs)) at(t, () => this.track(this.probe(a.id, a.flow)));
    }
    items.sort((x, y) => x.atMs - y.atMs || x.order - y.order);
    // How far the run fell behind its timeline (a machine too slow for the scenario): said in the report.
    let late = { ms: 0, atMs: 0 };
    for (const it of items) {
      if (!(await this.sleepUntil(it.atMs))) return false;
      const behind = this.now() - it.atMs;
      if (behind > late.ms) late = { ms: behind, atMs: it.atMs };
      it.run();
    }
    if (late.ms > 1000) this.notes.push(`the run fell behind the scenario's timeline by up to ${(late.ms / 1000).toFixed(1)} s (at ${(late.atMs / 1000).toFixed(1)} s): the machine is too busy for it`);
    return this.sleepUntil(this.s.durationMs);
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch((e: unknown) => this.note('error', e instanceof Error ? e.message : String(e))).finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  private async sleepUntil(atMs: number): Promise<boolean> {
    const signal = this.o.signal;
    for (;;) {
      if (signal?.aborted === true) return false;
      const left = atMs - this.now();
      if (left <= 0) return true;
      await sleep(Math.min(left, 250));
    }
  }

  private async control(node: string, op: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const c = await ControlClient.connect(this.bed.daemon(node).socket);
    try {
      return await c.request(op, body, 20_000);
    } finally {
      c.close();
    }
  }

  /** A flow's start: CREATE to its node, or to its EXTERNAL reservation (waiting for it, as the simulator does). */
  private async start(rec: FlowRecord): Promise<void> {
    const f = rec.spec;
    if (f.to !== undefined) return this.create(rec, this.node(f.to).address, f.dstPort);
    const x = f.toExternal === undefined ? undefined : this.externals.get(f.toExternal);
    if (x === undefined) return;
    if (x.address !== undefined && x.port !== undefined) return this.create(rec, x.address, x.port);
    if (x.rejected !== undefined) {
      rec.rejected = { atMs: this.now(), message: `external ${x.spec.id} was not reserved: ${x.rejected}` };
      this.note('rejected', `${f.id}: ${rec.rejected.message}`);
      return;
    }
    x.waiting.push(rec);
  }

  private async create(rec: FlowRecord, dst: string, dstPort: number): Promise<void> {
    const f = rec.spec;
    const src = this.node(f.from).address;
    const req: Record<string, unknown> = { src, dst, proto: f.protocol, subPorts: f.subPorts, action: f.action, lifetime: Math.max(1, Math.round(f.lifetimeMs / 1000)) };
    if (f.protocol === 6 || f.protocol === 17) {
      if (dstPort !== 0) req.dport = dstPort;
      if (f.srcPort !== 0) req.sport = f.srcPort;
    }
    const token = this.token(f, src, dst, dstPort);
    if (token !== undefined) req.token = token;
    const quiet = this.generatedIds.has(f.id);
    rec.requestedAtMs = this.now();
    try {
      const r = await this.control(f.from, 'create', req);
      rec.session = String(r.session);
      rec.establishedAtMs = this.now();
      rec.grantedLifetimeS = Number(r.lifetime);
      if (!quiet) this.note('established', `${f.id} session ${rec.session.slice(0, 8)} lifetime ${rec.grantedLifetimeS}s in ${Math.round(rec.establishedAtMs - rec.requestedAtMs)} ms`);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      rec.rejected = { atMs: this.now(), message, ...(e instanceof ControlRefusal ? { responseClass: e.responseClass, responseCode: e.responseCode } : {}) };
      this.note('rejected', `${f.id}: ${message}`);
    }
  }

  /**
   * The receiver asks its edge NAT for an external address and port (RFC 5973
   * s3.7.2), signalled toward the data sender; the flows waiting for it start
   * with the answer.
   */
  private async external(x: ExternalRecord): Promise<void> {
    const spec = x.spec;
    const req: Record<string, unknown> = {
      sda: this.node(spec.toward).address, proto: spec.protocol, dport: spec.port, subPorts: spec.subPorts, lifetime: Math.max(1, Math.round(spec.lifetimeMs / 1000)),
    };
    try {
      const r = await this.control(spec.node, 'external', req);
      x.session = String(r.session);
      x.reservedAtMs = this.now();
      if (typeof r.externalAddress !== 'string' || typeof r.externalPort !== 'number') {
        throw new TestbedError('TESTBED_NO_BINDING', `no external address in the answer (no NAT answered: is ${natToward(this.s, spec)?.id ?? 'a NAT'} on the way to ${spec.toward}?)`);
      }
      x.address = r.externalAddress;
      x.port = r.externalPort;
      this.note('external', `${spec.id} session ${x.session.slice(0, 8)} reserved ${x.address}:${x.port}`);
    } catch (e) {
      x.rejected = e instanceof Error ? e.message : String(e);
      this.note('external-rejected', `${spec.id}: ${x.rejected}`);
    }
    // The flows to this reservation have a data path from now on.
    this.refreshPaths();
    for (const rec of x.waiting.splice(0)) await this.start(rec);
  }

  private async externalTeardown(x: ExternalRecord): Promise<void> {
    if (x.session === undefined || this.crashed.has(x.spec.node)) return;
    await this.control(x.spec.node, 'teardown', { session: x.session });
    this.note('teardown', `external ${x.spec.id} at ${x.spec.node}`);
  }

  /** The SESSION_AUTH token the NI carries for a flow signed with a scenario key: exactly that flow (as the simulator issues it). */
  private token(f: FlowSpec, src: string, dst: string, dstPort: number): string | undefined {
    if (f.key === undefined) return undefined;
    const key = this.s.keys.find((k) => k.id === f.key);
    const keyId = keyIdsOf(this.s).get(f.key);
    if (key === undefined || keyId === undefined) return undefined;
    const ports = f.protocol === 6 || f.protocol === 17;
    const host = (a: string): number => (a.includes(':') ? 128 : 32);
    const now = Date.now();
    const raw = issueToken({
      key: key.secret, keyId,
      src: [{ address: src, length: host(src) }], dst: [{ address: dst, length: host(dst) }],
      protocol: f.protocol,
      dstPorts: ports && dstPort !== 0 ? { from: dstPort, to: dstPort + f.subPorts } : undefined,
      srcPorts: ports && f.srcPort !== 0 ? { from: f.srcPort, to: f.srcPort } : undefined,
      notBefore: now - 60_000,
      notAfter: now + this.s.durationMs + 3600_000,
    });
    return Buffer.from(raw).toString('hex');
  }

  /** The NI tears the session down (`stop`), or an operator removes it at `node` (s3.7.5). */
  private async teardown(rec: FlowRecord, node: string, why: string): Promise<void> {
    if (rec.session === undefined || rec.endedAtMs !== undefined) {
      this.note('teardown', `${rec.spec.id} at ${node}: no session to tear down`);
      return;
    }
    if (this.crashed.has(node)) {
      this.note('teardown', `${rec.spec.id} at ${node}: the node is down`);
      return;
    }
    // Ended from the moment the NI asks (as the simulator's stop): a sample read while the teardown crosses the path does not judge it.
    if (node === rec.spec.from) rec.endedAtMs = this.now();
    await this.control(node, 'teardown', { session: rec.session });
    if (!this.generatedIds.has(rec.spec.id)) this.note('teardown', `${rec.spec.id} at ${node} (${why})`);
  }

  private async event(e: EventSpec): Promise<void> {
    switch (e.kind) {
      case 'link_down':
      case 'link_up':
        this.linkState(e.link).wanted = e.kind === 'link_up';
        await this.syncLinks();
        this.note(e.kind, e.link);
        return;
      case 'metric':
        this.topo.setMetric(e.link, e.metric);
        await this.routesChanged();
        this.note('metric', `${e.link} = ${e.metric}`);
        return;
      case 'crash': {
        this.crashed.add(e.node);
        const d = this.configs.has(e.node) ? this.bed.daemon(e.node).proc : undefined;
        d?.kill('SIGKILL');
        for (const rec of this.flows.values()) if (rec.spec.from === e.node && rec.endedAtMs === undefined && rec.session !== undefined) rec.endedAtMs = this.now();
        await this.syncLinks();
        this.note('crash', `${e.node}${d !== undefined ? ' (natfwd killed)' : ''}`);
        return;
      }
      case 'restart': {
        this.crashed.delete(e.node);
        await this.syncLinks();
        const yaml = this.configs.get(e.node);
        if (yaml !== undefined) await this.bed.start(e.node, yaml);
        this.note('restart', `${e.node}${yaml !== undefined ? ' (natfwd started, state lost)' : ''}`);
        return;
      }
      case 'teardown': {
        const rec = this.flows.get(e.flow);
        if (rec !== undefined) await this.teardown(rec, e.node ?? rec.spec.from, e.node === undefined ? 'event' : 'operator');
        return;
      }
      case 'loss_burst': {
        const l = this.linkState(e.link);
        const table = lossTable(this.s.events.indexOf(e));
        await Promise.all([
          this.lab.execAsync(l.plan.spec.a, 'nft', ['-f', '-'], lossScript(table, l.aIf, e.loss)),
          this.lab.execAsync(l.plan.spec.b, 'nft', ['-f', '-'], lossScript(table, l.bIf, e.loss)),
        ]);
        this.note('loss_burst', `${e.link} loss ${e.loss} for ${e.durationMs / 1000}s`);
        return;
      }
    }
  }

  /** The end of a loss burst: its drop rules leave both ends. */
  private async lossEnd(e: EventSpec & { kind: 'loss_burst' }): Promise<void> {
    const l = this.linkState(e.link);
    const table = lossTable(this.s.events.indexOf(e));
    await Promise.all([l.plan.spec.a, l.plan.spec.b].map((n) => this.lab.execAsync(n, 'nft', ['delete', 'table', 'inet', table])));
    this.note('loss_burst-end', e.link);
  }

  private linkState(id: string): LinkState {
    return this.links[this.topo.link(id).index];
  }

  /** Links are up when wanted and both ends run; the kernel interfaces and the routes follow. */
  private async syncLinks(): Promise<void> {
    let changed = false;
    for (const l of this.links) {
      const spec = l.plan.spec;
      const up = l.wanted && !this.crashed.has(spec.a) && !this.crashed.has(spec.b);
      const t = this.topo.links[this.topo.link(spec.id).index];
      if (t.up === up) continue;
      changed = true;
      const state = up ? 'up' : 'down';
      await Promise.all([this.lab.execAsync(spec.a, 'ip', ['link', 'set', l.aIf, state]), this.lab.execAsync(spec.b, 'ip', ['link', 'set', l.bIf, state])]);
      this.topo.setLinkUp(spec.id, up);
    }
    if (changed) await this.routesChanged();
  }

  private async routesChanged(): Promise<void> {
    await this.applyRoutes();
    this.refreshPaths();
  }

  /** Each flow's data path as the topology (and the reservations) give it now; a changed one holds since now. */
  private refreshPaths(): void {
    const now = this.now();
    for (const f of this.allFlows) {
      const path = this.pathOf(f);
      const old = this.paths.get(f.id);
      if (old === undefined || JSON.stringify(old.path) !== JSON.stringify(path)) this.paths.set(f.id, { path, sinceMs: now });
    }
  }

  // ---------- observing ----------

  private async sampleLoop(): Promise<void> {
    const every = Math.max(1000, this.s.sampleIntervalMs);
    for (let k = 0; !this.stopSampling; k++) {
      const startedAt = this.now();
      const pinholes: Record<string, KernelEntry[]> = {};
      // A crashed firewall's kernel is read too: its pinholes stay there until their timeouts (fail closed).
      const failed: string[] = [];
      await Promise.all(
        this.firewalls.map(async (fw) => {
          try {
            pinholes[fw] = await this.kernelPinholes(fw);
          } catch (e) {
            failed.push(`${fw}: ${e instanceof Error ? e.message : String(e)}`);
          }
        }),
      );
      const paths: Sample['paths'] = Object.fromEntries(this.paths);
      // A sample with a firewall unread would judge it empty: it is left out, and said so.
      if (failed.length > 0) this.note('sample-failed', failed.join('; '));
      else {
        const done = this.now();
        this.samples.push({ atMs: (startedAt + done) / 2, fromMs: startedAt, untilMs: done, pinholes, paths });
      }
      const next = (k + 1) * every;
      while (!this.stopSampling && this.now() < next) await sleep(Math.min(100, next - this.now()));
    }
  }

  /** What the kernel of `fw` holds, as `natfw pinhole list --json` reads it (transit pinholes left out). */
  private async kernelPinholes(fw: string): Promise<KernelEntry[]> {
    const out = await this.lab.execAsync(fw, process.execPath, [NATFW, 'pinhole', 'list', '--json']);
    const entries: KernelEntry[] = [];
    for (const line of out.split('\n')) {
      if (line.trim() === '') continue;
      const v = JSON.parse(line) as { type?: unknown; owner?: unknown; action?: unknown };
      if (v.type === 'pinhole' && typeof v.owner === 'string' && v.owner !== TRANSIT_OWNER) entries.push({ owner: v.owner, action: String(v.action) });
    }
    return entries;
  }

  /** Sends a probe of flow `flowId` from its source and says whether the sink saw it (three tries for UDP, one connection for TCP). */
  private async probe(assertion: string, flowId: string): Promise<void> {
    const f = this.flows.get(flowId)?.spec;
    const r = f === undefined ? undefined : this.receiverOf(f);
    if (f === undefined || r === undefined) return;
    const atMs = this.now();
    const proto = probeProto(f);
    const sink = this.sinks.get(r.node);
    if (proto === undefined || r.port === 0 || sink === undefined) {
      this.note('probe', `${assertion}: flow ${flowId} cannot be probed (UDP or TCP with a destination port only)`);
      this.probes.push({ assertion, atMs, delivered: false });
      return;
    }
    // A flow to an EXTERNAL reservation sends to the NAT's external address and port; with none reserved it has nowhere to send.
    const x = f.toExternal === undefined ? undefined : this.externals.get(f.toExternal);
    const dst = x === undefined ? this.node(r.node).address : x.address;
    const dport = x === undefined ? f.dstPort : x.port;
    const src = this.node(f.from).address;
    if (dst === undefined || dport === undefined) {
      this.probes.push({ assertion, atMs, delivered: false });
      this.note('probe', `${assertion}: external ${f.toExternal ?? '?'} not reserved: not delivered`);
      return;
    }
    const delivered = await this.bed.delivered(sink, f.from, src, dst, dport, `${assertion}-${Math.round(atMs)}`, { proto, sport: f.srcPort });
    this.probes.push({ assertion, atMs, delivered });
    this.note('probe', `${assertion}: ${proto} ${src} -> ${dst}:${dport}${x !== undefined ? ` (to ${this.node(r.node).address}:${r.port})` : ''} ${delivered ? 'delivered' : 'not delivered'}`);
  }

  // ---------- the report ----------

  private report(aborted: boolean): TestbedReport {
    const s = this.s;
    const assertions = checkAssertions(s, { firewalls: this.firewalls, flows: this.flows, samples: this.samples, probes: this.probes }, this.o.slackMs ?? 1500);
    const pinholes: Record<string, number[]> = {};
    for (const fw of this.firewalls) pinholes[fw] = this.samples.map((x) => (x.pinholes[fw] ?? []).length);
    const setup = [...this.flows.values()].flatMap((f) => (f.establishedAtMs !== undefined && f.requestedAtMs !== undefined ? [f.establishedAtMs - f.requestedAtMs] : [])).sort((a, b) => a - b);
    const pct = (q: number): number | null => (setup.length === 0 ? null : Math.round(setup[Math.min(setup.length - 1, Math.max(0, Math.ceil(q * setup.length) - 1))]));
    return {
      scenario: {
        name: s.name, description: s.description, durationS: s.durationMs / 1000, nodes: s.nodes.length, links: s.links.length, flows: s.flows.length,
        generatedFlows: this.generatedIds.size, externals: s.externals.length, events: s.events.length,
      },
      mode: 'testbed',
      ok: !aborted && assertions.every((a) => a.ok),
      aborted,
      daemons: [...this.configs.keys()],
      notes: this.notes,
      flows: [...this.flows.values()].map((f) => ({
        id: f.spec.id,
        session: f.session ?? null,
        establishedAtS: f.establishedAtMs !== undefined ? r3(f.establishedAtMs) : null,
        grantedLifetimeS: f.grantedLifetimeS ?? null,
        rejected: f.rejected?.message ?? null,
        endedAtS: f.endedAtMs !== undefined ? r3(f.endedAtMs) : null,
      })),
      externals: [...this.externals.values()].map((x) => ({
        id: x.spec.id, session: x.session ?? null, reservedAtS: x.reservedAtMs !== undefined ? r3(x.reservedAtMs) : null, address: x.address ?? null, port: x.port ?? null, rejected: x.rejected ?? null,
      })),
      setupMs: { count: setup.length, p50: pct(0.5), p99: pct(0.99), max: setup.length === 0 ? null : Math.round(setup[setup.length - 1]) },
      timeline: this.timeline,
      series: { t: this.samples.map((x) => r3(x.atMs)), pinholes },
      probes: this.probes.map((p) => ({ assertion: p.assertion, atS: r3(p.atMs), delivered: p.delivered })),
      assertions,
    };
  }
}

/** Runs `s` on real daemons in namespaces created (and removed) here; root only. */
export async function runScenarioOnTestbed(s: Scenario, o: TestbedRunOptions = {}): Promise<TestbedReport> {
  const why = netnsUnavailableReason(['nft', 'tc']);
  if (why !== undefined) throw new TestbedError('TESTBED_UNAVAILABLE', `the testbed ${why}`);
  return new ScenarioTestbed(s, o).run();
}

/** Writes DIR/report.json and DIR/report.html; returns the path of the JSON. */
export function writeTestbedReport(report: TestbedReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'report.json');
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(dir, 'report.html'), renderTestbedHtml(report));
  return file;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function table(head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  const cell = (c: string | number | null): string => `<td>${esc(c === null ? '—' : String(c))}</td>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Most rows of the flow, probe and timeline tables (report.json has them all). */
const HTML_ROWS = 300;

/**
 * report.json as a page: the assertions, the kernel pinholes of every firewall
 * and NAT over time (the simulator's SVG line chart, sim/report.ts lineChart,
 * with the events marked; its axis says real time here), flows, reservations,
 * setup times, probes and the timeline. No network needed to view it.
 */
export function renderTestbedHtml(r: TestbedReport): string {
  const marks = r.timeline
    .filter((e) => ['link_down', 'link_up', 'metric', 'crash', 'restart', 'loss_burst', 'teardown'].includes(e.kind))
    .slice(0, 40)
    .map((e) => ({ atS: e.atS, label: `${e.kind} ${e.what}` }));
  const fws = Object.keys(r.series.pinholes).slice(0, 10);
  const chart = fws.length === 0 ? '' : lineChart('Kernel pinholes per firewall and NAT', r.series.t, fws.map((id) => ({ name: id, values: r.series.pinholes[id] })), marks, 'pinholes', 'real time (s)');
  const more = (n: number): string => (n > HTML_ROWS ? `<p>(${n - HTML_ROWS} more in report.json)</p>` : '');
  const status = r.aborted ? '<span class="bad">interrupted</span>' : r.ok ? '<span class="ok">every checked assertion holds</span>' : '<span class="bad">an assertion failed</span>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>natfw testbed: ${esc(r.scenario.name)}</title>
<style>${REPORT_STYLE}</style></head><body>
<h1>natfw testbed: ${esc(r.scenario.name)}</h1>
<p>${esc(r.scenario.description)}</p>
<p>${status}. Real daemons in network namespaces, ${r.scenario.durationS}s of real time, ${r.scenario.nodes} nodes, ${r.scenario.links} links;
natfwd on ${esc(r.daemons.join(', '))}.</p>
${r.notes.map((n) => `<p>Note: ${esc(n)}</p>`).join('\n')}
<h2>Assertions</h2>
${table(['', 'id', 'kind', 'line', 'checks', 'result'], r.assertions.map((a) => [!a.checked ? '–' : a.ok ? '✔' : '✘', a.id, a.kind, a.line, a.checks, a.message]))}
<h2>Over time</h2>
${chart}
<h2>Sessions</h2>
${table(['flows', 'generated', 'established', 'rejected', 'setup p50 (ms)', 'setup p99 (ms)', 'setup max (ms)'], [[r.flows.length, r.scenario.generatedFlows, r.flows.filter((f) => f.session !== null).length, r.flows.filter((f) => f.rejected !== null).length, r.setupMs.p50, r.setupMs.p99, r.setupMs.max]])}
${r.externals.length > 0 ? table(['external', 'session', 'reserved at (s)', 'address', 'port', 'refused'], r.externals.map((x) => [x.id, x.session, x.reservedAtS, x.address, x.port, x.rejected])) : ''}
${table(['flow', 'session', 'established at (s)', 'lifetime (s)', 'ended at (s)', 'refused'], r.flows.slice(0, HTML_ROWS).map((f) => [f.id, f.session, f.establishedAtS, f.grantedLifetimeS, f.endedAtS, f.rejected]))}
${more(r.flows.length)}
<h2>Probes</h2>
${table(['at (s)', 'assertion', 'delivered'], r.probes.slice(0, HTML_ROWS).map((p) => [p.atS, p.assertion, p.delivered ? 'yes' : 'no']))}
${more(r.probes.length)}
<h2>Timeline</h2>
${table(['at (s)', 'event', 'what'], r.timeline.slice(0, HTML_ROWS).map((e) => [e.atS, e.kind, e.what]))}
${more(r.timeline.length)}
</body></html>
`;
}
