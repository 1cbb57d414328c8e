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
import type { AssertionSpec, FirewallPolicy, LinkSpec, NodeSpec, Scenario } from '../sim/scenario/types';
import type { Topology } from '../sim/topology';
import { formatIpv4 } from '../sim/scenario/values';

/** Most links a plan addresses: 64 x 256 IPv4 /30s in 198.19.0.0/16. */
export const MAX_LINKS = 16_384;
/** Most nodes: each is a namespace with a daemon; beyond a few dozen a 2-core machine only thrashes. */
export const MAX_NODES = 64;

/** Assertions about figures only the simulator measures: reported as not checked on the testbed. */
export const SIMULATOR_ONLY_ASSERTIONS: ReadonlySet<AssertionSpec['kind']> = new Set([
  'repair_time_max',
  'stale_pinhole_max',
  'latency_percentile_max',
  'established_fraction_min',
]);

/**
 * The parts of `s` the testbed cannot replay, each as an error naming its
 * line (an empty list: the scenario runs). The testbed runs hosts, routers and
 * firewalls, explicit flows, and link, metric, crash/restart and operator
 * teardown events.
 */
export function unsupportedParts(s: Scenario): ScenarioError[] {
  const out: ScenarioError[] = [];
  const no = (line: number, what: string): void => {
    out.push(new ScenarioError(line, 1, `${what} is not supported on the testbed of real daemons (only in the simulator)`));
  };
  if (s.nodes.length > MAX_NODES) no(s.nodes[MAX_NODES].line, `a topology of more than ${MAX_NODES} nodes`);
  if (s.links.length > MAX_LINKS) no(s.links[MAX_LINKS].line, `more than ${MAX_LINKS} links`);
  for (const n of s.nodes) if (n.role === 'nat') no(n.line, `node '${n.id}': the nat role`);
  for (const g of s.generators) no(g.line, `generator '${g.id}' (${g.kind})`);
  for (const x of s.externals) no(x.line, `external '${x.id}'`);
  for (const e of s.events) if (e.kind === 'loss_burst') no(e.line, 'a loss_burst event');
  return out;
}

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

const isV6 = (a: string): boolean => a.includes(':');

/** A host route: `dst` (a node's address) via a neighbour's link address, from `src` when the family matches. */
export interface RoutePlan {
  readonly dst: string;
  readonly via: string;
  readonly src?: string;
}

/** Node `u`'s routes to every other node's address it can reach, as the topology computes them now. */
export function routesOf(topo: Topology, links: readonly LinkPlan[], u: number): RoutePlan[] {
  const me = topo.nodes[u];
  const out: RoutePlan[] = [];
  for (let d = 0; d < topo.size; d++) {
    const l = topo.linkTowards(u, d);
    if (l === undefined) continue;
    const dst = topo.nodes[d].address;
    const plan = links[l.index];
    const far = l.a === u ? plan.bAddrs : plan.aAddrs;
    const via = (isV6(dst) ? far[1] : far[0]).replace(/\/\d+$/, '');
    out.push({ dst, via, ...(isV6(dst) === isV6(me.address) ? { src: me.address } : {}) });
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
  /** natfwd configuration lines after the common head (testbed/daemons.ts natfwdConfig). */
  readonly extra: string[];
  /** Key files to write into the node's key directory: Key-ID -> hex. */
  readonly keys: ReadonlyMap<number, string>;
}

/** Scenario keys get Key-IDs 1, 2, ... in the order the scenario lists them (as in the simulator). */
export function keyIdsOf(s: Scenario): Map<string, number> {
  return new Map(s.keys.map((k, i) => [k.id, i + 1]));
}

/** What a natfwd needs to act as scenario node `n` (hosts and firewalls; routers run none). */
export function daemonFiles(s: Scenario, n: NodeSpec, keyDir: string): DaemonFiles {
  if (n.role === 'host') return { extra: ['gist: { interception: none }', 'enforcement: { backend: memory }'], keys: new Map() };
  const p: FirewallPolicy = n.policy;
  // Default drop is natfw's standalone mode (its forward chain is the policy); default allow is integration
  // mode (policy accept, deny pinholes still drop) with no other rules.
  const mode = p.defaultAction === 'drop' ? 'standalone' : 'integration';
  const policy = [`maxLifetime: ${Math.max(1, Math.floor(p.maxLifetimeMs / 1000))}`, `allowDeny: ${p.allowDeny}`];
  if (p.protocols !== undefined) policy.push(`protocols: [${p.protocols.join(', ')}]`);
  if (p.prefixes !== undefined) policy.push(`destinations: [${p.prefixes.map((x) => `"${x.address}/${x.length}"`).join(', ')}]`);
  const extra = [
    'gist: { interception: nfqueue }',
    // A short kernel grace and sweep: pinholes leave the kernel close to when the simulator's leave the memory backend.
    `enforcement: { backend: nftables, mode: ${mode}, grace: 2, expireInterval: 1 }`,
    `policy: { ${policy.join(', ')} }`,
  ];
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
  return { extra, keys };
}
