/**
 * How a simulator scenario maps onto a testbed of real daemons, with no I/O:
 * which parts of the scenario format the testbed can replay, the addresses of
 * every link, each node's routing table, and each daemon's configuration.
 *
 * Addressing: a node's scenario address sits on its loopback (so it stays the
 * same whichever link a packet takes, as in the simulator); link i gets the
 * IPv4 /30 198.19.(i >> 6).((i & 63) * 4) and the IPv6 /64 2001:db8:ffff:i::,
 * end `a` .1 / ::1 and end `b` .2 / ::2. Routes are /32 and /128 host routes to
 * every node's address, computed by the simulator's own shortest-path
 * `Topology`, so the testbed forwards exactly as the simulation would.
 */
import { ScenarioError } from '../sim/scenario/values';
import { nodeAddresses, type AssertionSpec, type ExternalSpec, type FirewallPolicy, type FlowSpec, type GeneratorSpec, type LinkSpec, type NodeSpec, type Scenario } from '../sim/scenario/types';
import { Simulation } from '../sim/engine';
import type { FlowRequest, NodeStack, WorldFactory } from '../sim/stack';
import { Topology } from '../sim/topology';
import { formatIpv4, inPrefix } from '../sim/scenario/values';

/** Most links a plan addresses: 64 x 256 IPv4 /30s in 198.19.0.0/16. */
export const MAX_LINKS = 16_384;
/** Most nodes: each is a namespace with a daemon; beyond a few dozen a 2-core machine only thrashes. */
export const MAX_NODES = 64;

/**
 * Assertions about figures only the simulator measures: reported as not checked on the testbed.
 * Setup latency on real daemons is the machine's, not the scenario's (report.json has it as setupMs);
 * `established_fraction_min` is judged (sessions established of those started).
 */
export const SIMULATOR_ONLY_ASSERTIONS: ReadonlySet<AssertionSpec['kind']> = new Set([
  'repair_time_max',
  'stale_pinhole_max',
  'latency_percentile_max',
]);

/**
 * The parts of `s` the testbed cannot replay, each as an error naming its
 * line (an empty list: the scenario runs). The testbed runs hosts, routers,
 * firewalls and NATs, explicit flows, EXTERNAL reservations, generators (their
 * size and rate are checked on the expansion: `generatorLimits`), and link,
 * metric, crash/restart, loss_burst and operator teardown events.
 */
export function unsupportedParts(s: Scenario): ScenarioError[] {
  const out: ScenarioError[] = [];
  const no = (line: number, what: string): void => {
    out.push(new ScenarioError(line, 1, `${what} is not supported on the testbed of real daemons (only in the simulator)`));
  };
  if (s.nodes.length > MAX_NODES) no(s.nodes[MAX_NODES].line, `a topology of more than ${MAX_NODES} nodes`);
  if (s.links.length > MAX_LINKS) no(s.links[MAX_LINKS].line, `more than ${MAX_LINKS} links`);
  else if (s.nodes.length <= MAX_NODES) {
    const free = linkSlots(s).length;
    if (free < s.links.length) no(s.links[free].line, 'a link beyond the free addresses of 198.19.0.0/16 (the scenario itself uses them)');
  }
  for (const x of s.externals) {
    // The token of an EXTERNAL covers a loose-end MRI the simulator builds itself; natfwd's control socket takes one made outside.
    if (x.key !== undefined) no(x.line, `external '${x.id}' with a key`);
    const nat = natToward(s, x);
    if (nat === undefined) no(x.line, `external '${x.id}' with no NAT between ${x.node} and ${x.toward} (an edge firewall's EXTERNAL)`);
  }
  return out;
}

/** The NAT whose inside holds the receiver of `x` (the edge NAT its EXTERNAL is answered by), or undefined. */
export function natToward(s: Scenario, x: ExternalSpec): NodeSpec | undefined {
  const r = s.nodes.find((n) => n.id === x.node);
  if (r === undefined) return undefined;
  return s.nodes.find((n) => n.nat !== undefined && n.nat.inside.some((p) => inPrefix(r.address, p)));
}

const isV6 = (a: string): boolean => a.includes(':');

export interface LinkPlan {
  readonly spec: LinkSpec;
  /** Addresses of end `a` and end `b` with prefix lengths, for `ip addr add`. */
  readonly aAddrs: readonly [string, string];
  readonly bAddrs: readonly [string, string];
}

export function linkPlan(spec: LinkSpec, i: number): LinkPlan {
  const base = (198 << 24) | (19 << 16) | ((i >> 6) << 8) | ((i & 63) * 4);
  const v6 = `2001:db8:ffff:${i.toString(16)}::`;
  return {
    spec,
    aAddrs: [`${formatIpv4((base + 1) >>> 0)}/30`, `${v6}1/64`],
    bAddrs: [`${formatIpv4((base + 2) >>> 0)}/30`, `${v6}2/64`],
  };
}

/** Slot k's /30 and /64 (as linkPlan(_, k) addresses them). */
function slotPrefixes(k: number): [{ address: string; length: number }, { address: string; length: number }] {
  return [
    { address: formatIpv4(((198 << 24) | (19 << 16) | ((k >> 6) << 8) | ((k & 63) * 4)) >>> 0), length: 30 },
    { address: `2001:db8:ffff:${k.toString(16)}::`, length: 64 },
  ];
}

/**
 * The address slot of each link: link i gets the i-th /30 (and /64) that holds
 * none of the scenario's own addresses, NAT external addresses and NAT inside
 * prefixes (nat-traversal puts its inside network in 198.19.0.0/24). Fewer
 * slots than links when the scenario leaves too few free.
 */
export function linkSlots(s: Scenario): number[] {
  const used: Array<{ address: string; length: number }> = [];
  for (const n of s.nodes) {
    used.push({ address: n.address, length: isV6(n.address) ? 128 : 32 });
    if (n.nat !== undefined) used.push({ address: n.nat.externalAddress, length: isV6(n.nat.externalAddress) ? 128 : 32 }, ...n.nat.inside);
  }
  const out: number[] = [];
  for (let k = 0; k < MAX_LINKS && out.length < s.links.length; k++) {
    const clash = slotPrefixes(k).some((slot) => used.some((u) => inPrefix(u.address, slot) || inPrefix(slot.address, u)));
    if (!clash) out.push(k);
  }
  return out;
}

/** Every link's addresses (links beyond the free slots are refused by unsupportedParts). */
export function linkPlans(s: Scenario): LinkPlan[] {
  const slots = linkSlots(s);
  return s.links.map((l, i) => linkPlan(l, slots[i]));
}

/** A host route: `dst` (a node's address) via a neighbour's link address, from `src` when the family matches. */
export interface RoutePlan {
  readonly dst: string;
  readonly via: string;
  readonly src?: string;
}

/**
 * Node `u`'s routes to every other node's address it can reach, as the
 * topology computes them now. A NAT's external address is routed to the NAT
 * (the simulator's Topology owns it there too). What the simulator does not
 * model, the testbed must: an address inside a NAT is private, routed only
 * inside that NAT (and at the NAT), and a NAT speaks to the outside from its
 * external address (the outside knows only that one).
 */
export function routesOf(topo: Topology, links: readonly LinkPlan[], u: number): RoutePlan[] {
  const me = topo.nodes[u];
  const nats = topo.nodes.filter((n) => n.nat !== undefined);
  const hidden = (dst: string): boolean =>
    nats.some((n) => n !== me && n.nat?.inside.some((p) => inPrefix(dst, p)) === true && n.nat.inside.every((p) => !inPrefix(me.address, p)));
  const out: RoutePlan[] = [];
  for (let d = 0; d < topo.size; d++) {
    const l = topo.linkTowards(u, d);
    if (l === undefined) continue;
    const node = topo.nodes[d];
    const plan = links[l.index];
    const far = l.a === u ? plan.bAddrs : plan.aAddrs;
    for (const dst of nodeAddresses(node)) {
      if (hidden(dst)) continue;
      const via = (isV6(dst) ? far[1] : far[0]).replace(/\/\d+$/, '');
      const outside = me.nat !== undefined && me.nat.inside.every((p) => !inPrefix(dst, p));
      const src = outside && me.nat !== undefined && isV6(me.nat.externalAddress) === isV6(dst) ? me.nat.externalAddress : isV6(me.address) === isV6(dst) ? me.address : undefined;
      out.push({ dst, via, ...(src !== undefined ? { src } : {}) });
    }
  }
  return out;
}

/** `ip -batch` lines turning `before` into `after` (replace what changed, delete what is no longer reachable). */
export function routeBatch(before: readonly RoutePlan[], after: readonly RoutePlan[]): string[] {
  const key = (r: RoutePlan): string => `${r.via} ${r.src ?? ''}`;
  const old = new Map(before.map((r) => [r.dst, key(r)]));
  const lines: string[] = [];
  const host = (a: string): string => `${a}/${isV6(a) ? 128 : 32}`;
  for (const r of after) {
    if (old.get(r.dst) === key(r)) continue;
    lines.push(`route replace ${host(r.dst)} via ${r.via}${r.src !== undefined ? ` src ${r.src}` : ''}`);
  }
  const now = new Set(after.map((r) => r.dst));
  for (const r of before) if (!now.has(r.dst)) lines.push(`route del ${host(r.dst)}`);
  return lines;
}

/** The GIST ports natfwd uses by default: D-mode UDP and C-mode TCP (transit signalling must pass firewalls). */
export const GIST_PORT = 27000;

export interface DaemonFiles {
  /**
   * natfwd's node role and addresses: a NAT's own (inside) address, then its external one, in the
   * scenario's order. The order does not matter: natfwd follows the kernel routes (RFC 5971 s5.2.2),
   * and the NAT's routes towards the outside carry the external address as their source (routesOf).
   */
  readonly role: 'host' | 'firewall' | 'nat';
  readonly addresses: readonly string[];
  /** Answers EXTERNAL: every NAT of a scenario is an edge NAT (the simulator's NATs answer EXTERNAL for their inside). */
  readonly edge: boolean;
  /** natfwd configuration lines after the common head (testbed/daemons.ts natfwdConfig). */
  readonly extra: string[];
  /** Key files to write into the node's key directory: Key-ID -> hex. */
  readonly keys: ReadonlyMap<number, string>;
}

/** Scenario keys get Key-IDs 1, 2, ... in the order the scenario lists them (as in the simulator). */
export function keyIdsOf(s: Scenario): Map<string, number> {
  return new Map(s.keys.map((k, i) => [k.id, i + 1]));
}

/** natfwd's `gist:` line: the interception mode and the scenario's `gist:` settings (natfwd takes whole seconds of validity). */
export function gistLine(s: Scenario, interception: 'none' | 'nfqueue'): string {
  const g = s.gist;
  const parts = [`interception: ${interception}`];
  if (g.confirmRefreshes !== undefined) parts.push(`confirmRefreshes: ${g.confirmRefreshes}`);
  if (g.routingStateValidityMs !== undefined) parts.push(`routingStateValidity: ${Math.max(2, Math.round(g.routingStateValidityMs / 1000))}`);
  const l = g.dmodeRateLimit;
  if (l === false) parts.push('dmodeRateLimit: false');
  else if (l !== undefined) {
    parts.push(`dmodeRateLimit: { bytesPerSecond: ${l.bytesPerSecond}, burstBytes: ${l.burstBytes}${l.maxQueued !== undefined ? `, maxQueued: ${l.maxQueued}` : ''} }`);
  }
  return `gist: { ${parts.join(', ')} }`;
}

/** What a natfwd needs to act as scenario node `n` (hosts, firewalls and NATs; routers run none). */
export function daemonFiles(s: Scenario, n: NodeSpec, keyDir: string): DaemonFiles {
  if (n.role === 'host' || n.role === 'router') {
    return { role: 'host', addresses: [n.address], edge: false, extra: [gistLine(s, 'none'), 'enforcement: { backend: memory }'], keys: new Map() };
  }
  const p: FirewallPolicy = n.policy;
  // Default drop is natfw's standalone mode (its forward chain is the policy); default allow is integration
  // mode (policy accept, deny pinholes still drop) with no other rules.
  const mode = p.defaultAction === 'drop' ? 'standalone' : 'integration';
  const policy = [`maxLifetime: ${Math.max(1, Math.floor(p.maxLifetimeMs / 1000))}`, `allowDeny: ${p.allowDeny}`];
  if (p.protocols !== undefined) policy.push(`protocols: [${p.protocols.join(', ')}]`);
  if (p.prefixes !== undefined) policy.push(`destinations: [${p.prefixes.map((x) => `"${x.address}/${x.length}"`).join(', ')}]`);
  const extra: string[] = [];
  const nat = n.nat;
  if (nat !== undefined) {
    extra.push(`nat: { externalAddress: "${nat.externalAddress}", internalPrefixes: [${nat.inside.map((x) => `"${x.address}/${x.length}"`).join(', ')}], ports: ${nat.ports.from}-${nat.ports.to} }`);
  }
  extra.push(
    gistLine(s, 'nfqueue'),
    // A short kernel grace and sweep: pinholes leave the kernel close to when the simulator's leave the memory backend.
    `enforcement: { backend: nftables, mode: ${mode}, grace: 2, expireInterval: 1 }`,
    `policy: { ${policy.join(', ')} }`,
  );
  const ids = keyIdsOf(s);
  const keys = new Map<number, string>();
  if (p.keys !== undefined && p.keys.length > 0) {
    for (const k of p.keys) {
      const spec = s.keys.find((x) => x.id === k);
      const id = ids.get(k);
      if (spec !== undefined && id !== undefined) keys.set(id, Buffer.from(spec.secret).toString('hex'));
    }
    extra.push(`authorization: { keys: "${keyDir}", requireForCreate: true }`);
  }
  if (nat !== undefined) {
    return { role: 'nat', addresses: nodeAddresses(n), edge: true, extra, keys };
  }
  return { role: 'firewall', addresses: [n.address], edge: false, extra, keys };
}

// ---------- generators ----------

/**
 * Most generated sessions a testbed run signals. Each is a control-socket
 * request, a GIST handshake per NSIS hop and kernel pinholes at every firewall
 * on its path, all in real time on the machine's few cores.
 */
export const MAX_GENERATED_FLOWS = 2000;
/**
 * Most sessions (explicit and generated) a run starts within any one second:
 * half the highest rate measured (README, `natfw testbed run`). A sessions
 * generator through one nftables firewall kept its timeline at 100/s and
 * 200/s (every session established and on its path; setup p99 19 ms at 100/s,
 * 14-99 ms at 200/s, load average 5-8 from other work); longer paths cost
 * every hop its handshake, and every daemon shares the same cores.
 */
export const MAX_SETUPS_PER_S = 100;

/** A flow the generators made, as an explicit flow to its node (`line`: the generator's). */
export interface GeneratedFlow extends FlowSpec {
  readonly to: string;
  readonly generator: string;
}

/**
 * The flows the scenario's generators make, exactly as the simulator makes
 * them: the simulator itself runs the scenario on its virtual clock with
 * stacks that only record what they are asked to signal, so the same seed
 * gives the same flows (ids, hosts, ports, start and stop instants).
 */
export async function expandGenerators(s: Scenario): Promise<GeneratedFlow[]> {
  if (s.generators.length === 0) return [];
  const creates: Array<{ atMs: number; node: number; req: FlowRequest }> = [];
  const stops = new Map<string, number>();
  const world: WorldFactory = () => ({
    attach: (env): NodeStack => ({
      create: (now, req) => {
        creates.push({ atMs: now, node: env.node, req });
      },
      teardown: (now, flowId) => {
        if (!stops.has(flowId)) stops.set(flowId, now);
      },
      external: () => undefined,
      operatorTeardown: () => false,
      sessionCount: () => 0,
      stop: () => undefined,
    }),
    detach: () => undefined,
    linksChanged: () => undefined,
  });
  await new Simulation({ ...s, assertions: [] }, { world, stackName: 'record' }).run();
  const topo = new Topology(s.nodes, s.links);
  const explicit = new Set(s.flows.map((f) => f.id));
  const out: GeneratedFlow[] = [];
  for (const c of creates) {
    if (explicit.has(c.req.flowId)) continue;
    const g = generatorOf(s.generators, c.req.flowId);
    const to = topo.nodeOfAddress(c.req.dst);
    if (g === undefined || to === undefined) continue;
    const stopMs = stops.get(c.req.flowId);
    out.push({
      id: c.req.flowId, from: s.nodes[c.node].id, to: s.nodes[to].id, protocol: c.req.protocol, srcPort: c.req.srcPort, dstPort: c.req.dstPort,
      subPorts: c.req.subPorts, lifetimeMs: c.req.lifetimeMs, action: c.req.action, startMs: c.atMs, line: g.line, generator: g.id,
      ...(stopMs !== undefined ? { stopMs } : {}), ...(c.req.key !== undefined ? { key: c.req.key } : {}),
    });
  }
  return out;
}

const escapeRe = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The generator a flow id comes from: calls name theirs `<id>-<call>-m<stream>-fwd|rev`, sessions `<id>-<n>` (sim/engine.ts). */
function generatorOf(gs: readonly GeneratorSpec[], flowId: string): GeneratorSpec | undefined {
  return gs.find((g) => new RegExp(`^${escapeRe(g.id)}-\\d+${g.kind === 'calls' ? '-m\\d+-(fwd|rev)' : ''}$`).test(flowId));
}

/** What a generator's expansion asks beyond what the testbed carries, named by the generator's line. */
export function generatorLimits(s: Scenario, generated: readonly GeneratedFlow[]): ScenarioError[] {
  const out: ScenarioError[] = [];
  if (generated.length > MAX_GENERATED_FLOWS) {
    const g = generated[MAX_GENERATED_FLOWS];
    out.push(new ScenarioError(g.line, 1, `generator '${g.generator}' makes ${generated.length} sessions; the testbed of real daemons signals at most ${MAX_GENERATED_FLOWS} (only in the simulator)`));
  }
  const starts = [...s.flows.map((f) => ({ atMs: f.startMs, line: f.line, what: `flow '${f.id}'` })), ...generated.map((f) => ({ atMs: f.startMs, line: f.line, what: `generator '${f.generator}'` }))].sort((a, b) => a.atMs - b.atMs);
  for (let i = 0, j = 0; j < starts.length; j++) {
    while (starts[j].atMs - starts[i].atMs >= 1000) i++;
    if (j - i + 1 > MAX_SETUPS_PER_S) {
      const x = starts[j];
      out.push(new ScenarioError(x.line, 1, `${x.what} starts ${j - i + 1} sessions within one second at ${(starts[i].atMs / 1000).toFixed(1)}s; the testbed of real daemons starts at most ${MAX_SETUPS_PER_S} per second (only in the simulator)`));
      break;
    }
  }
  return out;
}

// ---------- loss bursts ----------

/** The nftables table of loss burst `k` (the k-th event of the scenario) in each end's namespace. */
export function lossTable(k: number): string {
  return `natfw_tb_loss${k}`;
}

/**
 * An nft script dropping the fraction `loss` of the packets leaving through
 * interface `ifName` (one end of a link; the other end gets its own): the
 * kernel here has no netem, so a loss_burst becomes a random drop rule in a
 * table of its own, at a priority before natfw's chains, removed when the
 * burst ends. Unlike the simulator's, it drops data packets (and probes) too.
 */
export function lossScript(table: string, ifName: string, loss: number): string {
  const threshold = Math.round(Math.min(1, Math.max(0, loss)) * 1_000_000);
  return [
    `table inet ${table} {`,
    '  chain out {',
    '    type filter hook postrouting priority -350; policy accept;',
    // numgen's modulus bounds the threshold: a burst of 1 drops everything without it.
    threshold >= 1_000_000 ? `    oifname "${ifName}" counter drop` : `    oifname "${ifName}" numgen random mod 1000000 < ${threshold} counter drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}
