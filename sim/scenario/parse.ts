/**
 * Scenario files: YAML in, a validated `Scenario` out, or a `ScenarioError`
 * naming the line and what is wrong. Nothing here throws anything else.
 */
import { LineCounter, parseDocument } from 'yaml';
import { err, ok, type Result } from '../../common/result';
import { fromHex } from '../../common/bytes';
import type { PinholeAction } from '../../enforcement/types';
import { DMODE_RATE_LIMIT_RANGE } from '../../gist/core/config';
import { addressPlus, ScenarioError, Val } from './values';
import type {
  AssertionSpec,
  CompareOp,
  EventSpec,
  ExternalSpec,
  FirewallPolicy,
  FlowSpec,
  GeneratorSpec,
  GistSettings,
  KeySpec,
  LinkSpec,
  NatSpec,
  NodeRole,
  NodeSpec,
  Scenario,
} from './types';

export interface ParseOptions {
  /** File name for messages. */
  readonly file?: string;
  /** Multiplies the sizes of generated topologies and session generators (tests run `scale` reduced). */
  readonly sizeFactor?: number;
}

const DAY = 24 * 3600 * 1000;

export function parseScenario(text: string, opts: ParseOptions = {}): Result<Scenario, ScenarioError> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const file = opts.file ?? '';
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    return err(new ScenarioError(pos.line, pos.col, `YAML syntax: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, file));
  }
  try {
    return ok(new Builder(opts.sizeFactor ?? 1).build(new Val(doc.contents, '', lc, 0)));
  } catch (e) {
    if (e instanceof ScenarioError) return err(new ScenarioError(e.line, e.column, e.detail, file));
    throw e;
  }
}

const ROLES: readonly NodeRole[] = ['host', 'router', 'firewall', 'nat'];

class Builder {
  private nodes: NodeSpec[] = [];
  private nodeIds = new Map<string, NodeSpec>();
  private links: LinkSpec[] = [];
  private linkIds = new Map<string, LinkSpec>();
  private keyIds = new Set<string>();
  private flowIds = new Set<string>();
  private externalIds = new Set<string>();
  private nextAuto = 1;
  /** The scenario's address family: every node's addresses are of it (a flow's two ends must share one). */
  private ipVersion: 4 | 6 = 4;
  private usedAddresses = new Map<string, string>();

  constructor(private readonly sizeFactor: number) {}

  build(root: Val): Scenario {
    const top = root.map([
      'name', 'description', 'duration', 'seed', 'ip_version', 'sample_interval', 'check_interval', 'defaults',
      'topology', 'nodes', 'links', 'keys', 'flows', 'externals', 'generators', 'events', 'assertions', 'gist',
    ]);
    const get = (k: string): Val => top.get(k) ?? root.absent(k);
    const name = top.has('name') ? get('name').str() : 'scenario';
    const description = top.has('description') ? get('description').str() : '';
    if (!top.has('duration')) root.fail("missing 'duration' (how long to simulate, e.g. 120s)");
    const durationMs = get('duration').duration(DAY);
    if (durationMs <= 0) get('duration').fail('must be positive');
    const seed = top.has('seed') ? get('seed').int(0, 0xffffffff) : 1;
    if (top.has('ip_version')) {
      const ver = get('ip_version');
      const n = ver.int(4, 6);
      if (n === 5) ver.fail('must be 4 or 6');
      this.ipVersion = n as 4 | 6;
    }
    const sampleIntervalMs = top.has('sample_interval') ? get('sample_interval').duration() : 1000;
    const checkIntervalMs = top.has('check_interval') ? get('check_interval').duration() : 500;
    if (sampleIntervalMs < 10) get('sample_interval').fail('must be at least 10ms');
    if (checkIntervalMs < 10) get('check_interval').fail('must be at least 10ms');

    const gist = this.gist(top.get('gist'));
    const defaults = this.defaults(top.get('defaults'));
    if (top.has('topology')) this.topology(get('topology'), defaults);
    for (const n of get('nodes').list()) this.node(n, defaults);
    for (const l of get('links').list()) this.link(l, defaults);
    if (this.nodes.length === 0) root.fail('a scenario needs nodes (under nodes: or topology:)');
    const keys = get('keys').list().map((k) => this.key(k));
    const externals = get('externals').list().map((x) => this.external(x, defaults, durationMs));
    const flows = get('flows').list().map((f) => this.flow(f, defaults, durationMs));
    const generators = get('generators').list().map((g) => this.generator(g, defaults, durationMs));
    const events = get('events').list().map((e) => this.event(e, durationMs));
    const assertions = get('assertions').list().map((a, i) => this.assertion(a, i, durationMs));
    const ids = new Set<string>();
    for (const a of assertions) {
      if (ids.has(a.id)) throw new ScenarioError(a.line, 1, `assertions: duplicate id '${a.id}'`);
      ids.add(a.id);
    }
    return {
      name, description, durationMs, seed, sampleIntervalMs, checkIntervalMs,
      nodes: this.nodes, links: this.links, keys, flows, externals, generators,
      events: [...events].sort((a, b) => a.atMs - b.atMs), assertions, gist,
    };
  }

  /** The `gist:` section: options of every real GIST core (types.ts GistSettings). */
  private gist(v: Val | undefined): GistSettings {
    if (v === undefined || !v.present) return {};
    const m = v.map(['confirm_refreshes', 'routing_state_validity', 'dmode_rate_limit']);
    const validity = m.get('routing_state_validity');
    const limit = m.get('dmode_rate_limit');
    let dmodeRateLimit: GistSettings['dmodeRateLimit'];
    if (limit !== undefined) {
      if (limit.isMapping) {
        const l = limit.map(['bytes_per_second', 'burst_bytes', 'max_queued']);
        const need = (k: string): Val => l.get(k) ?? limit.absent(k).fail('missing (bytes_per_second and burst_bytes are needed)');
        const range = DMODE_RATE_LIMIT_RANGE;
        dmodeRateLimit = {
          bytesPerSecond: need('bytes_per_second').int(...range.bytesPerSecond),
          burstBytes: need('burst_bytes').int(...range.burstBytes),
          ...(l.has('max_queued') ? { maxQueued: (l.get('max_queued') as Val).int(...range.maxQueued) } : {}),
        };
      } else if (limit.bool()) limit.fail('must be false or a mapping of bytes_per_second, burst_bytes and max_queued');
      else dmodeRateLimit = false;
    }
    const validityMs = validity?.duration(DAY);
    if (validity !== undefined && (validityMs as number) < 1000) validity.fail('must be at least 1s');
    return {
      ...(m.has('confirm_refreshes') ? { confirmRefreshes: (m.get('confirm_refreshes') as Val).bool() } : {}),
      ...(validityMs !== undefined ? { routingStateValidityMs: validityMs } : {}),
      ...(dmodeRateLimit !== undefined ? { dmodeRateLimit } : {}),
    };
  }

  private defaults(v: Val | undefined): Defaults {
    const d: Defaults = { delayMs: 1, loss: 0, capacityBps: 0, metric: 1, lifetimeMs: 30000, maxLifetimeMs: 300000 };
    if (v === undefined) return d;
    const m = v.map(['link_delay', 'link_loss', 'link_capacity', 'link_metric', 'lifetime', 'max_lifetime']);
    const g = (k: string): Val | undefined => m.get(k);
    return {
      delayMs: g('link_delay')?.duration(60000) ?? d.delayMs,
      loss: g('link_loss')?.fraction() ?? d.loss,
      capacityBps: g('link_capacity')?.bitrate() ?? d.capacityBps,
      metric: g('link_metric')?.int(1, 1_000_000) ?? d.metric,
      lifetimeMs: g('lifetime')?.duration(DAY) ?? d.lifetimeMs,
      maxLifetimeMs: g('max_lifetime')?.duration(DAY) ?? d.maxLifetimeMs,
    };
  }

  /** The next free address of the documentation/benchmarking ranges (198.18.0.0/15, 2001:db8::/32). */
  private autoAddress(): string {
    for (;;) {
      const a = this.ipVersion === 6 ? addressPlus('2001:db8::', this.nextAuto++) : addressPlus('198.18.0.0', this.nextAuto++);
      if (this.usedAddresses.has(a)) continue;
      if (this.ipVersion === 4 && (a.endsWith('.0') || a.endsWith('.255'))) continue;
      return a;
    }
  }

  private addressOr(v: Val | undefined, fallback?: string): string {
    return v !== undefined ? this.address(v) : (fallback ?? this.autoAddress());
  }

  /** An address given in the scenario, of the scenario's family. */
  private address(v: Val): string {
    const a = v.ip();
    if (a.includes(':') !== (this.ipVersion === 6)) v.fail(`${a} is an IPv${a.includes(':') ? 6 : 4} address, but the scenario's ip_version is ${this.ipVersion}`);
    return a;
  }

  private addNode(spec: NodeSpec, where: Val): void {
    if (this.nodeIds.has(spec.id)) where.fail(`duplicate node id '${spec.id}'`);
    const owner = this.usedAddresses.get(spec.address) ?? (spec.nat !== undefined ? this.usedAddresses.get(spec.nat.externalAddress) : undefined);
    if (owner !== undefined) where.fail(`address ${spec.address} is already used by node '${owner}'`);
    this.usedAddresses.set(spec.address, spec.id);
    if (spec.nat !== undefined && spec.nat.externalAddress !== spec.address) this.usedAddresses.set(spec.nat.externalAddress, spec.id);
    this.nodeIds.set(spec.id, spec);
    this.nodes.push(spec);
  }

  private addLink(spec: LinkSpec, where: Val): void {
    if (this.linkIds.has(spec.id)) where.fail(`duplicate link id '${spec.id}'`);
    if (spec.a === spec.b) where.fail(`a link needs two different nodes, got '${spec.a}' twice`);
    this.linkIds.set(spec.id, spec);
    this.links.push(spec);
  }

  private policy(v: Val | undefined, defaults: Defaults, role: NodeRole): FirewallPolicy {
    const base: FirewallPolicy = { defaultAction: role === 'firewall' || role === 'nat' ? 'drop' : 'allow', maxLifetimeMs: defaults.maxLifetimeMs, allowDeny: true };
    if (v === undefined) return base;
    const m = v.map(['default', 'max_lifetime', 'allow_deny', 'protocols', 'prefixes', 'keys']);
    const keys = m.get('keys')?.list().map((k) => k.id());
    return {
      defaultAction: m.get('default')?.oneOf(['drop', 'allow'] as const) ?? base.defaultAction,
      maxLifetimeMs: m.get('max_lifetime')?.duration(DAY) ?? base.maxLifetimeMs,
      allowDeny: m.get('allow_deny')?.bool() ?? true,
      protocols: m.get('protocols')?.list().map((p) => p.protocol()),
      prefixes: m.get('prefixes')?.list().map((p) => p.prefix()),
      keys,
    };
  }

  private node(v: Val, defaults: Defaults): void {
    const m = v.map(['id', 'role', 'address', 'policy', 'nat']);
    const id = req(v, m, 'id').id();
    const role = req(v, m, 'role').oneOf(ROLES);
    const address = this.addressOr(m.get('address'));
    let nat: NatSpec | undefined;
    if (role === 'nat') {
      const nv = req(v, m, 'nat');
      const nm = nv.map(['external_address', 'ports', 'inside']);
      const ports = req(nv, nm, 'ports');
      const pl = ports.list();
      if (pl.length !== 2) ports.fail('must be [first, last]');
      const from = pl[0].int(1, 65535);
      const to = pl[1].int(from, 65535);
      const inside = req(nv, nm, 'inside').list().map((p) => p.prefix());
      if (inside.length === 0) req(nv, nm, 'inside').fail('needs at least one prefix');
      nat = { externalAddress: this.addressOr(nm.get('external_address'), address), ports: { from, to }, inside };
    } else if (m.has('nat')) (m.get('nat') as Val).fail(`only a node with role nat has a nat section (this one is a ${role})`);
    if (m.has('policy') && (role === 'host' || role === 'router')) (m.get('policy') as Val).fail(`only firewalls and NATs have a policy (this one is a ${role})`);
    this.addNode({ id, role, address, policy: this.policy(m.get('policy'), defaults, role), nat, line: v.line }, v);
  }

  private nodeRef(v: Val): string {
    const id = v.id();
    if (!this.nodeIds.has(id)) v.fail(`unknown node '${id}'`);
    return id;
  }

  private link(v: Val, d: Defaults): void {
    const m = v.map(['id', 'a', 'b', 'delay', 'loss', 'capacity', 'metric']);
    let a: string;
    let b: string;
    a = this.nodeRef(req(v, m, 'a'));
    b = this.nodeRef(req(v, m, 'b'));
    const id = m.get('id')?.id() ?? `${a}-${b}`;
    this.addLink({
      id, a, b,
      delayMs: m.get('delay')?.duration(60000) ?? d.delayMs,
      loss: m.get('loss')?.fraction() ?? d.loss,
      capacityBps: m.get('capacity')?.bitrate() ?? d.capacityBps,
      metric: m.get('metric')?.int(1, 1_000_000) ?? d.metric,
      line: v.line,
    }, v);
  }

  private linkRef(v: Val): string {
    const s = v.id();
    if (this.linkIds.has(s)) return s;
    const [a, b] = s.split('-');
    if (b !== undefined && this.linkIds.has(`${b}-${a}`)) return `${b}-${a}`;
    return v.fail(`unknown link '${s}'`);
  }

  /** Generated topologies (`topology: { generate: campus, ... }`). */
  private topology(v: Val, d: Defaults): void {
    const m = v.map(['generate', 'core_routers', 'sites', 'hosts_per_site', 'core_delay', 'access_delay', 'policy']);
    req(v, m, 'generate').oneOf(['campus'] as const);
    const f = this.sizeFactor;
    const core = req(v, m, 'core_routers').int(2, 10000);
    const sitesFull = req(v, m, 'sites').int(1, 100000);
    const sites = Math.max(2, Math.round(sitesFull * Math.min(1, f)));
    const hosts = req(v, m, 'hosts_per_site').int(1, 10000);
    const coreDelay = m.get('core_delay')?.duration(60000) ?? 2;
    const accessDelay = m.get('access_delay')?.duration(60000) ?? 1;
    const policy = this.policy(m.get('policy'), d, 'firewall');
    const mk = (id: string, role: NodeRole): void =>
      this.addNode({ id, role, address: this.autoAddress(), policy: role === 'firewall' ? policy : this.policy(undefined, d, role), line: v.line }, v);
    const lk = (a: string, b: string, delayMs: number, metric: number): void =>
      this.addLink({ id: `${a}-${b}`, a, b, delayMs, loss: d.loss, capacityBps: d.capacityBps, metric, line: v.line }, v);
    for (let i = 0; i < core; i++) mk(`core${i}`, 'router');
    // A ring with chords every quarter, so that there are alternative paths.
    for (let i = 0; i < core; i++) lk(`core${i}`, `core${(i + 1) % core}`, coreDelay, 1);
    const chord = Math.max(2, Math.floor(core / 4));
    for (let i = 0; i < core; i += 2) if (core > 4 && (i + chord) % core !== (i + 1) % core) lk(`core${i}`, `core${(i + chord) % core}`, coreDelay, 2);
    for (let s = 0; s < sites; s++) {
      const fw = `site${s}-fw`;
      mk(fw, 'firewall');
      // Dual-homed: a primary and a backup uplink with a higher metric.
      lk(fw, `core${s % core}`, accessDelay, 1);
      lk(fw, `core${(s + Math.floor(core / 2)) % core}`, accessDelay, 3);
      for (let h = 0; h < hosts; h++) {
        const host = `site${s}-h${h}`;
        mk(host, 'host');
        lk(host, fw, accessDelay, 1);
      }
    }
  }

  private key(v: Val): KeySpec {
    const m = v.map(['id', 'secret']);
    const id = req(v, m, 'id').id();
    if (this.keyIds.has(id)) v.fail(`duplicate key id '${id}'`);
    const sv = req(v, m, 'secret');
    const secret = fromHex(sv.str());
    if (secret === undefined || secret.length < 16) return sv.fail('must be at least 16 bytes of hex');
    this.keyIds.add(id);
    return { id, secret, line: v.line };
  }

  private keyRef(v: Val | undefined): string | undefined {
    if (v === undefined) return undefined;
    const id = v.id();
    if (!this.keyIds.has(id)) v.fail(`unknown key '${id}'`);
    return id;
  }

  private hostRef(v: Val): string {
    const id = this.nodeRef(v);
    const n = this.nodeIds.get(id) as NodeSpec;
    if (n.role !== 'host') v.fail(`'${id}' is a ${n.role}; flows start and end at hosts`);
    return id;
  }

  private window(m: Map<string, Val>, v: Val, durationMs: number, startKey = 'start'): { startMs: number; stopMs?: number } {
    const startMs = m.get(startKey)?.duration(DAY) ?? 0;
    const stopV = m.get('stop');
    const stopMs = stopV?.duration(DAY);
    if (startMs > durationMs) (m.get(startKey) as Val).fail(`is after the end of the run (${durationMs / 1000}s)`);
    if (stopMs !== undefined && stopMs <= startMs) (stopV as Val).fail(`must be after ${startKey} (${startMs / 1000}s)`);
    void v;
    return { startMs, stopMs };
  }

  private external(v: Val, d: Defaults, durationMs: number): ExternalSpec {
    const m = v.map(['id', 'node', 'toward', 'protocol', 'port', 'sub_ports', 'lifetime', 'start', 'stop', 'key']);
    const id = req(v, m, 'id').id();
    if (this.externalIds.has(id)) v.fail(`duplicate external id '${id}'`);
    this.externalIds.add(id);
    return {
      id,
      node: this.hostRef(req(v, m, 'node')),
      toward: this.hostRef(req(v, m, 'toward')),
      protocol: m.get('protocol')?.protocol() ?? 17,
      port: req(v, m, 'port').port(),
      subPorts: (m.get('sub_ports')?.int(0, 1) ?? 0) as 0 | 1,
      lifetimeMs: m.get('lifetime')?.duration(DAY) ?? d.lifetimeMs,
      ...this.window(m, v, durationMs),
      key: this.keyRef(m.get('key')),
      line: v.line,
    };
  }

  private flow(v: Val, d: Defaults, durationMs: number): FlowSpec {
    const m = v.map(['id', 'from', 'to', 'to_external', 'protocol', 'src_port', 'dst_port', 'sub_ports', 'lifetime', 'action', 'start', 'stop', 'key']);
    const id = req(v, m, 'id').id();
    if (this.flowIds.has(id)) v.fail(`duplicate flow id '${id}'`);
    this.flowIds.add(id);
    const from = this.hostRef(req(v, m, 'from'));
    let to: string | undefined;
    let toExternal: string | undefined;
    if (m.has('to') === m.has('to_external')) v.fail("a flow needs exactly one of 'to' (a host) or 'to_external' (an external reservation)");
    if (m.has('to')) {
      to = this.hostRef(m.get('to') as Val);
      if (to === from) (m.get('to') as Val).fail('a flow needs two different hosts');
    } else {
      const xv = m.get('to_external') as Val;
      toExternal = xv.id();
      if (!this.externalIds.has(toExternal)) xv.fail(`unknown external '${toExternal}' (declare it under externals:)`);
    }
    const subPorts = m.get('sub_ports')?.int(0, 1);
    const dstPortV = m.has('dst_port') ? (m.get('dst_port') as Val) : undefined;
    if (dstPortV === undefined && toExternal === undefined) v.fail("missing 'dst_port'");
    const dstPort = dstPortV?.port() ?? 0;
    if (subPorts === 1 && dstPort % 2 !== 0) (dstPortV as Val).fail('with sub_ports: 1 the port must be even (RTP on p, RTCP on p+1; RFC 5973 s4.2.3)');
    return {
      id, from, to, toExternal,
      protocol: m.get('protocol')?.protocol() ?? 17,
      srcPort: m.get('src_port')?.port() ?? 0,
      dstPort,
      subPorts: (subPorts ?? 0) as 0 | 1,
      lifetimeMs: m.get('lifetime')?.duration(DAY) ?? d.lifetimeMs,
      action: (m.get('action')?.oneOf(['allow', 'deny'] as const) ?? 'allow') as PinholeAction,
      ...this.window(m, v, durationMs),
      key: this.keyRef(m.get('key')),
      line: v.line,
    };
  }

  private hostList(v: Val | undefined): string[] | undefined {
    if (v === undefined) return undefined;
    const out = v.list().map((h) => this.hostRef(h));
    if (out.length === 0) v.fail('needs at least one host');
    return out;
  }

  private generator(v: Val, d: Defaults, durationMs: number): GeneratorSpec {
    const kind = req(v, v.map(['kind', 'id', 'from', 'to', 'rate', 'hold', 'media_streams', 'start', 'stop', 'lifetime', 'key', 'count', 'spread', 'protocol']), 'kind').oneOf(['calls', 'sessions'] as const);
    const m = v.map(['kind', 'id', 'from', 'to', 'rate', 'hold', 'media_streams', 'start', 'stop', 'lifetime', 'key', 'count', 'spread', 'protocol']);
    const id = req(v, m, 'id').id();
    if (this.flowIds.has(id)) v.fail(`duplicate id '${id}'`);
    this.flowIds.add(id);
    const only = (allowed: string[]): void => {
      for (const [k, kv] of m) if (!allowed.includes(k)) kv.fail(`'${k}' does not apply to a ${kind} generator`);
    };
    if (kind === 'calls') {
      only(['kind', 'id', 'from', 'to', 'rate', 'hold', 'media_streams', 'start', 'stop', 'lifetime', 'key']);
      const w = this.window(m, v, durationMs);
      return {
        kind, id,
        from: this.hostList(req(v, m, 'from')) as string[],
        to: this.hostList(req(v, m, 'to')) as string[],
        ratePerS: req(v, m, 'rate').rate(),
        meanHoldMs: req(v, m, 'hold').duration(DAY),
        mediaStreams: m.get('media_streams')?.int(1, 16) ?? 2,
        startMs: w.startMs,
        stopMs: w.stopMs ?? durationMs,
        lifetimeMs: m.get('lifetime')?.duration(DAY) ?? d.lifetimeMs,
        key: this.keyRef(m.get('key')),
        line: v.line,
      };
    }
    only(['kind', 'id', 'from', 'to', 'count', 'start', 'spread', 'hold', 'protocol', 'lifetime', 'key']);
    const count = Math.max(1, Math.round(req(v, m, 'count').int(1, 10_000_000) * this.sizeFactor));
    const startMs = m.get('start')?.duration(DAY) ?? 0;
    if (startMs > durationMs) (m.get('start') as Val).fail('is after the end of the run');
    return {
      kind, id,
      from: this.hostList(m.get('from')),
      to: this.hostList(m.get('to')),
      count,
      startMs,
      spreadMs: m.get('spread')?.duration(DAY) ?? 0,
      holdMs: m.get('hold')?.duration(DAY),
      protocol: m.get('protocol')?.protocol() ?? 17,
      lifetimeMs: m.get('lifetime')?.duration(DAY) ?? d.lifetimeMs,
      key: this.keyRef(m.get('key')),
      line: v.line,
    };
  }

  private flowRef(v: Val): string {
    const id = v.id();
    if (!this.flowIds.has(id)) v.fail(`unknown flow '${id}'`);
    return id;
  }

  private event(v: Val, durationMs: number): EventSpec {
    const m = v.map(['at', 'kind', 'link', 'node', 'metric', 'loss', 'duration', 'flow']);
    const kind = req(v, m, 'kind').oneOf(['link_down', 'link_up', 'metric', 'crash', 'restart', 'loss_burst', 'teardown'] as const);
    const atMs = req(v, m, 'at').duration(DAY);
    if (atMs > durationMs) (m.get('at') as Val).fail(`is after the end of the run (${durationMs / 1000}s)`);
    const line = v.line;
    const only = (allowed: string[]): void => {
      for (const [k, kv] of m) if (!['at', 'kind', ...allowed].includes(k)) kv.fail(`'${k}' does not apply to a ${kind} event`);
    };
    switch (kind) {
      case 'link_down':
      case 'link_up':
        only(['link']);
        return { kind, atMs, line, link: this.linkRef(req(v, m, 'link')) };
      case 'metric':
        only(['link', 'metric']);
        return { kind, atMs, line, link: this.linkRef(req(v, m, 'link')), metric: req(v, m, 'metric').int(1, 1_000_000) };
      case 'crash':
      case 'restart':
        only(['node']);
        return { kind, atMs, line, node: this.nodeRef(req(v, m, 'node')) };
      case 'loss_burst':
        only(['link', 'loss', 'duration']);
        return { kind, atMs, line, link: this.linkRef(req(v, m, 'link')), loss: req(v, m, 'loss').fraction(), durationMs: req(v, m, 'duration').duration(DAY) };
      case 'teardown':
        only(['flow', 'node']);
        return { kind, atMs, line, flow: this.flowRef(req(v, m, 'flow')), node: m.has('node') ? this.nodeRef(m.get('node') as Val) : undefined };
    }
  }

  private assertion(v: Val, index: number, durationMs: number): AssertionSpec {
    const keys = ['id', 'kind', 'flow', 'from', 'until', 'by', 'node', 'op', 'value', 'max', 'percentile', 'fraction', 'class', 'code', 'settle', 'sample'];
    const m = v.map(keys);
    const kind = req(v, m, 'kind').oneOf([
      'allowed_on_path', 'all_allowed_on_path', 'delivered', 'blocked', 'denied_on_path', 'established', 'rejected', 'pinholes',
      'no_pinholes_for', 'repair_time_max', 'stale_pinhole_max', 'latency_percentile_max', 'established_fraction_min',
    ] as const);
    const id = m.get('id')?.id() ?? `${kind}#${index + 1}`;
    const line = v.line;
    const only = (allowed: string[]): void => {
      for (const [k, kv] of m) if (!['id', 'kind', ...allowed].includes(k)) kv.fail(`'${k}' does not apply to a ${kind} assertion`);
    };
    const span = (): { fromMs: number; untilMs: number } => {
      const fromMs = m.get('from')?.duration(DAY) ?? 0;
      const untilMs = m.get('until')?.duration(DAY) ?? durationMs;
      if (fromMs > durationMs) (m.get('from') as Val).fail(`is after the end of the run (${durationMs / 1000}s)`);
      if (untilMs < fromMs) (m.get('until') as Val).fail("must not be before 'from'");
      return { fromMs, untilMs };
    };
    switch (kind) {
      case 'allowed_on_path':
      case 'delivered':
      case 'blocked':
      case 'denied_on_path':
      case 'no_pinholes_for':
        only(['flow', 'from', 'until']);
        return { kind, id, line, flow: this.flowRef(req(v, m, 'flow')), ...span() };
      case 'all_allowed_on_path':
        only(['from', 'until', 'settle', 'sample']);
        return { kind, id, line, ...span(), settleMs: m.get('settle')?.duration(DAY) ?? 2000, sample: m.get('sample')?.int(1, 10_000_000) ?? 1000 };
      case 'established':
        only(['flow', 'by']);
        return { kind, id, line, flow: this.flowRef(req(v, m, 'flow')), byMs: m.get('by')?.duration(DAY) ?? durationMs };
      case 'rejected':
        only(['flow', 'by', 'class', 'code']);
        return {
          kind, id, line, flow: this.flowRef(req(v, m, 'flow')), byMs: m.get('by')?.duration(DAY) ?? durationMs,
          responseClass: m.get('class')?.int(0, 15), responseCode: m.get('code')?.int(0, 255),
        };
      case 'pinholes':
        only(['node', 'op', 'value', 'from', 'until']);
        return {
          kind, id, line, node: this.nodeRef(req(v, m, 'node')), op: (m.get('op')?.oneOf(['eq', 'le', 'ge'] as const) ?? 'eq') as CompareOp,
          value: req(v, m, 'value').int(0, 1e9), ...span(),
        };
      case 'repair_time_max':
      case 'stale_pinhole_max':
        only(['max']);
        return { kind, id, line, maxMs: req(v, m, 'max').duration(DAY) };
      case 'latency_percentile_max':
        only(['percentile', 'max']);
        return { kind, id, line, percentile: req(v, m, 'percentile').num(0, 100), maxMs: req(v, m, 'max').duration(DAY) };
      case 'established_fraction_min':
        only(['fraction', 'by']);
        return { kind, id, line, fraction: req(v, m, 'fraction').fraction(), byMs: m.get('by')?.duration(DAY) ?? durationMs };
    }
  }
}

interface Defaults {
  delayMs: number;
  loss: number;
  capacityBps: number;
  metric: number;
  lifetimeMs: number;
  maxLifetimeMs: number;
}

function req(parent: Val, m: Map<string, Val>, key: string): Val {
  const v = m.get(key);
  if (v === undefined || !v.present) {
    if (v !== undefined) return v.fail('must not be empty');
    return parent.fail(`missing '${key}'`);
  }
  return v;
}
