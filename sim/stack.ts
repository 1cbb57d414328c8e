/**
 * What the simulator needs from the protocol stack of one node (GIST + NATFW
 * NSLP + its pinhole set), so that the engine can drive either the real cores
 * or the built-in model with the same network, events, metrics and assertions.
 */
import type { PinholeAction } from '../enforcement/types';
import type { ObservedPinholeSet } from './observed-set';
import type { Prng } from './prng';
import type { ScheduledHandle as EventHandle, SimClock } from './clock';
import type { GistSettings, NodeSpec } from './scenario/types';
import type { Topology } from './topology';

/** One signalling message on the virtual wire. */
export interface SimPacket {
  readonly src: string;
  readonly dst: string;
  readonly transport: 'udp' | 'tcp';
  readonly srcPort: number;
  readonly dstPort: number;
  /** Carries the IP Router Alert option (a GIST Q-mode Query, RFC 5971 s5.3.2). */
  readonly rao: boolean;
  /** The message as it is on the wire (GIST header onwards; the UDP magic number included in Q/D-mode). */
  readonly payload: Uint8Array;
  /** For counting: 'Query', 'Response', 'Confirm', 'Data', 'Error', 'MA-Hello', with the NSLP message after a slash. */
  readonly label: string;
  /** Model stacks pass their message object here; real stacks leave it undefined. */
  readonly model?: unknown;
}

export interface FlowRequest {
  readonly flowId: string;
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly subPorts: 0 | 1;
  readonly action: PinholeAction;
  readonly lifetimeMs: number;
  readonly key?: string;
}

export interface ExternalRequest {
  readonly externalId: string;
  /** The receiver's own address (the NR behind the NAT). */
  readonly address: string;
  /** Where the EXTERNAL is signalled towards: an address outside the NAT (the data sender's, when known). */
  readonly toward: string;
  readonly protocol: number;
  readonly port: number;
  readonly subPorts: 0 | 1;
  readonly lifetimeMs: number;
  readonly key?: string;
}

/** What a stack reports to the simulator (the application's view at NI and NR). */
export interface StackEvents {
  established(flowId: string, now: number, grantedLifetimeMs: number): void;
  rejected(flowId: string, now: number, responseClass: number, responseCode: number): void;
  /** The session ended without the application asking (NOTIFY, refresh failure). */
  terminated(flowId: string, now: number, why: string): void;
  externalReserved(externalId: string, now: number, address: string, port: number): void;
  externalRejected(externalId: string, now: number, responseClass: number, responseCode: number): void;
  /** A GIST handshake completed (counted at the querying node). */
  handshake(now: number): void;
}

/** The simulator's services to one node. */
export interface StackEnv {
  readonly node: number;
  readonly spec: NodeSpec;
  readonly rng: Prng;
  readonly pinholes: ObservedPinholeSet;
  readonly events: StackEvents;
  /** Key id -> secret (SESSION_AUTH). */
  readonly keys: ReadonlyMap<string, Uint8Array>;
  now(): number;
  schedule(at: number, fn: (now: number) => void): EventHandle;
}

export interface NodeStack {
  create(now: number, req: FlowRequest): void;
  teardown(now: number, flowId: string): void;
  external(now: number, req: ExternalRequest): void;
  /** An operator removes the session of this flow at this node (RFC 5973 s3.7.5 asynchronous teardown). */
  operatorTeardown(now: number, flow: FlowRequest): boolean;
  /** Signalling sessions this node holds now. */
  sessionCount(): number;
  /** GIST handshakes this node completed so far, when the stack counts them itself. */
  handshakes?(): number;
  /** Drops every timer; the node object is discarded after this (a crash). */
  stop(): void;
}

/** What a world needs from the simulation. */
export interface WorldContext {
  readonly clock: SimClock;
  readonly topo: Topology;
  /** The network's own random stream (loss). */
  readonly rng: Prng;
  up(node: number): boolean;
  /** Every signalling message put on the wire, for the counts and the capture. */
  sent(node: number, now: number, pkt: SimPacket): void;
  /** Someone wants the packets themselves (--pcap): when false, a stack may call `counted` instead of `sent`. */
  readonly capturing: boolean;
  /** A signalling message put on the wire, counted only (no packet object built). */
  counted(label: string, bytes: number): void;
  dropped(reason: string): void;
  /** The scenario's `gist:` settings, for stacks that run the real GIST core. */
  readonly gist: GistSettings;
}

/**
 * The network and the protocol stacks on it: the model world (sim/model/) or
 * the real cores on gistcore's virtual network (sim/real/).
 */
export interface SimWorld {
  /** Creates the stack of a node (at the start, or at a restart) and connects it to the network. */
  attach(env: StackEnv): NodeStack;
  /** A crash: the node's stack is gone; packets to it are lost. */
  detach(node: number): void;
  /** The topology's links changed (up/down, metric, loss): mirror it. */
  linksChanged(): void;
  /** Called after every instant's events (and again while promises settle): finish what the inputs started. */
  settleAll?(): void;
}

export type WorldFactory = (ctx: WorldContext) => SimWorld;
