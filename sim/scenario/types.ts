/**
 * A simulation scenario after validation: every time in milliseconds of
 * virtual time, every reference resolved, every number in range. `line` is the
 * 1-based line of the item in the YAML file, for messages about it.
 */
import type { Prefix, PortRange, PinholeAction } from '../../enforcement/types';

export type NodeRole = 'host' | 'router' | 'firewall' | 'nat';

export interface FirewallPolicy {
  /** What the data plane does with a packet no pinhole matches. */
  readonly defaultAction: 'drop' | 'allow';
  /** The largest lifetime this NF grants (RFC 5973 s3.4: a longer request is cut down and said so). */
  readonly maxLifetimeMs: number;
  /** Whether deny rules may be installed here. */
  readonly allowDeny: boolean;
  /** IP protocol numbers that may be opened; undefined = any. */
  readonly protocols?: readonly number[];
  /** Destination prefixes that may be opened; undefined = any. */
  readonly prefixes?: readonly Prefix[];
  /** Key ids this NF accepts in SESSION_AUTH; undefined = no authorization required. */
  readonly keys?: readonly string[];
}

export interface NatSpec {
  /** The address the outside sees. */
  readonly externalAddress: string;
  /** Ports handed out for bindings. */
  readonly ports: PortRange;
  /** Prefixes on the inside. */
  readonly inside: readonly Prefix[];
}

export interface NodeSpec {
  readonly id: string;
  readonly role: NodeRole;
  readonly address: string;
  readonly policy: FirewallPolicy;
  readonly nat?: NatSpec;
  readonly line: number;
}

/** A node's addresses: its own, then a NAT's external one when that differs (the inside address first). */
export function nodeAddresses(n: NodeSpec): string[] {
  return n.nat !== undefined && n.nat.externalAddress !== n.address ? [n.address, n.nat.externalAddress] : [n.address];
}

export interface LinkSpec {
  readonly id: string;
  readonly a: string;
  readonly b: string;
  readonly delayMs: number;
  readonly loss: number;
  /** Bits per second; 0 = unlimited. */
  readonly capacityBps: number;
  readonly metric: number;
  readonly line: number;
}

export interface KeySpec {
  readonly id: string;
  readonly secret: Uint8Array;
  readonly line: number;
}

export interface FlowSpec {
  readonly id: string;
  readonly from: string;
  /** Destination node, or undefined when the flow goes to an EXTERNAL reservation. */
  readonly to?: string;
  readonly toExternal?: string;
  readonly protocol: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly subPorts: 0 | 1;
  readonly lifetimeMs: number;
  readonly action: PinholeAction;
  readonly startMs: number;
  /** Teardown by the NI; undefined = signalled until the end. */
  readonly stopMs?: number;
  readonly key?: string;
  readonly line: number;
}

/** A receiver behind a NAT reserving an external address and port (RFC 5973 s3.7.2, EXTERNAL). */
export interface ExternalSpec {
  readonly id: string;
  readonly node: string;
  /** A host outside the NAT that the EXTERNAL is signalled towards (the data sender, when known; RFC 5973 s3.7.2). */
  readonly toward: string;
  readonly protocol: number;
  readonly port: number;
  readonly subPorts: 0 | 1;
  readonly lifetimeMs: number;
  readonly startMs: number;
  readonly stopMs?: number;
  readonly key?: string;
  readonly line: number;
}

/** VoIP calls: each call signals, per media stream and per direction, one session with sub_ports=1 (RTP + RTCP). */
export interface CallGeneratorSpec {
  readonly kind: 'calls';
  readonly id: string;
  readonly from: readonly string[];
  readonly to: readonly string[];
  /** Mean calls per second (Poisson arrivals). */
  readonly ratePerS: number;
  readonly meanHoldMs: number;
  readonly mediaStreams: number;
  readonly startMs: number;
  readonly stopMs: number;
  readonly lifetimeMs: number;
  readonly key?: string;
  readonly line: number;
}

/** `count` sessions between random host pairs, arriving evenly over [start, start + spread]. */
export interface SessionGeneratorSpec {
  readonly kind: 'sessions';
  readonly id: string;
  /** Host ids, or undefined = every host. */
  readonly from?: readonly string[];
  readonly to?: readonly string[];
  readonly count: number;
  readonly startMs: number;
  readonly spreadMs: number;
  readonly holdMs?: number;
  readonly protocol: number;
  readonly lifetimeMs: number;
  readonly key?: string;
  readonly line: number;
}

export type GeneratorSpec = CallGeneratorSpec | SessionGeneratorSpec;

/** A generated topology: a core of routers, sites behind a firewall each (dual-homed), hosts in each site. */
export interface CampusTopologySpec {
  readonly kind: 'campus';
  readonly coreRouters: number;
  readonly sites: number;
  readonly hostsPerSite: number;
  readonly coreDelayMs: number;
  readonly accessDelayMs: number;
  readonly policy: FirewallPolicy;
  readonly line: number;
}

export type EventSpec = { readonly atMs: number; readonly line: number } & (
  | { readonly kind: 'link_down' | 'link_up'; readonly link: string }
  | { readonly kind: 'metric'; readonly link: string; readonly metric: number }
  | { readonly kind: 'crash' | 'restart'; readonly node: string }
  | { readonly kind: 'loss_burst'; readonly link: string; readonly loss: number; readonly durationMs: number }
  | { readonly kind: 'teardown'; readonly flow: string; readonly node?: string }
);

export type CompareOp = 'eq' | 'le' | 'ge';

export type AssertionSpec = { readonly id: string; readonly line: number } & (
  | { readonly kind: 'allowed_on_path'; readonly flow: string; readonly fromMs: number; readonly untilMs: number }
  | { readonly kind: 'all_allowed_on_path'; readonly fromMs: number; readonly untilMs: number; readonly settleMs: number; readonly sample: number }
  | { readonly kind: 'delivered' | 'blocked'; readonly flow: string; readonly fromMs: number; readonly untilMs: number }
  | { readonly kind: 'denied_on_path'; readonly flow: string; readonly fromMs: number; readonly untilMs: number }
  | { readonly kind: 'established'; readonly flow: string; readonly byMs: number }
  | { readonly kind: 'rejected'; readonly flow: string; readonly byMs: number; readonly responseClass?: number; readonly responseCode?: number }
  | { readonly kind: 'pinholes'; readonly node: string; readonly op: CompareOp; readonly value: number; readonly fromMs: number; readonly untilMs: number }
  | { readonly kind: 'no_pinholes_for'; readonly flow: string; readonly fromMs: number; readonly untilMs: number }
  | { readonly kind: 'repair_time_max'; readonly maxMs: number }
  | { readonly kind: 'stale_pinhole_max'; readonly maxMs: number }
  | { readonly kind: 'latency_percentile_max'; readonly percentile: number; readonly maxMs: number }
  | { readonly kind: 'established_fraction_min'; readonly fraction: number; readonly byMs: number }
);

/**
 * GIST settings of every node running the real stack (the `model` stack ignores them). Each is the
 * GIST core's option of the same name (gist/core/config.ts); undefined keeps the core's default.
 */
export interface GistSettings {
  /** RFC 5971 s6.3: also confirm refresh Queries from the peer the state names (core default: false). */
  readonly confirmRefreshes?: boolean;
  /** s4.4.4 Routing State Validity Time advertised by responders (core default: 30 s). */
  readonly routingStateValidityMs?: number;
  /** s5.3.3 D-mode rate limiter, or false for none (core default: 5% of 1 Gbit/s). */
  readonly dmodeRateLimit?: { readonly bytesPerSecond: number; readonly burstBytes: number; readonly maxQueued?: number } | false;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly durationMs: number;
  readonly seed: number;
  readonly sampleIntervalMs: number;
  readonly checkIntervalMs: number;
  readonly nodes: readonly NodeSpec[];
  readonly links: readonly LinkSpec[];
  readonly keys: readonly KeySpec[];
  readonly flows: readonly FlowSpec[];
  readonly externals: readonly ExternalSpec[];
  readonly generators: readonly GeneratorSpec[];
  readonly events: readonly EventSpec[];
  readonly assertions: readonly AssertionSpec[];
  readonly gist: GistSettings;
}
