/**
 * What the simulator needs from the protocol stack of one node (GIST + NATFW
 * NSLP + its pinhole set), so that the engine can drive either the real cores
 * or the built-in model with the same network, events, metrics and assertions.
 */
import type { PinholeAction } from '../enforcement/types';
import type { ObservedPinholeSet } from './observed-set';
import type { Prng } from './prng';
import type { ScheduledHandle as EventHandle } from './vnet';
import type { NodeSpec } from './scenario/types';

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
  send(pkt: SimPacket): void;
  schedule(at: number, fn: (now: number) => void): EventHandle;
}

export interface NodeStack {
  /** A packet addressed to this node arrived. */
  deliver(now: number, pkt: SimPacket): void;
  /** A Router-Alert packet passes this node: true when it takes it (runs that NSLP), false to forward it on. */
  intercept(now: number, pkt: SimPacket): boolean;
  create(now: number, req: FlowRequest): void;
  teardown(now: number, flowId: string): void;
  external(now: number, req: ExternalRequest): void;
  /** An operator removes the session of this flow at this node (RFC 5973 s3.7.5 asynchronous teardown). */
  operatorTeardown(now: number, flow: FlowRequest): boolean;
  /** Signalling sessions this node holds now. */
  sessionCount(): number;
  /** Drops every timer; the node object is discarded after this (a crash). */
  stop(): void;
}

export type StackFactory = (env: StackEnv) => NodeStack;
