/**
 * The state a GIST node keeps (RFC 5971 s4.2): message routing state per
 * (MRI, NSLPID, SID) and messaging associations per peer. Plain classes with
 * named deadline fields (timers are data, see timers.ts); the logic lives in
 * node.ts. Kept compact: a routing state references a shared Peer instead of
 * copying its NLI, holds its MRI and Session ID only inside its binary key,
 * and allocates its queues only when something is queued.
 */
import type { GistStreamDecoder } from '../codec/stream';
import type { ConnId, TransportAddress } from './driver-api';
import type { TimerTarget } from './timers';

/** A signalling peer as learnt from its NLI (s4.4.3: Peer-Identity + Interface-Address). */
export class Peer {
  /** Routing states referring to this peer. */
  refs = 0;
  /** The MA to this peer, when one is open or opening. */
  ma: MessagingAssociation | undefined;

  constructor(
    readonly key: string,
    /** The SII-Handle given to NSLPs (B.2). */
    readonly handle: number,
    readonly peerIdentity: Uint8Array,
    readonly address: string,
    /** The peer's D-mode UDP port (source port of its Query or Response, s5.3.1). */
    public udpPort: number,
  ) {}
}

/** An NSLP message waiting for routing state or an MA (s6.2 rule 1, s6.4 rule 5). */
export interface Pending {
  readonly nslpData: Uint8Array;
  readonly handle: number | undefined;
  readonly reliable: boolean;
  /** When the NSLP stops caring (SendMessage timeout), or undefined. */
  readonly giveUpAt: number | undefined;
  readonly gistHopCount: number | undefined;
}

export enum Role {
  Querier = 0,
  Responder = 1,
}

export enum Phase {
  /** Querier: Query sent, no Response yet (s6.2). */
  AwaitingResponse = 0,
  /** Routing state installed. */
  Established = 1,
  /** Querier: established, refresh Query outstanding (s6.2 Awaiting Refresh). */
  AwaitingRefresh = 2,
  /**
   * Responder with delayed state installation: the NSLP queued a message in
   * the reply direction before the Confirm arrived (created by an NSLP call,
   * never by a Query, so a Query flood creates none).
   */
  AwaitingConfirm = 3,
  /**
   * Querier: a new session waiting for a handshake slot (s5.3.3 rate control:
   * GistNodeConfig.maxHandshakesInProgress); no Query sent yet.
   */
  Queued = 4,
}

/** "No deadline" for the time fields of a RoutingState (a Smi, unlike Infinity, so the fields stay unboxed). */
export const NEVER = -1;

/** The earlier of two deadlines, either of which may be NEVER. */
export function earliest(a: number, b: number): number {
  if (a === NEVER) return b;
  if (b === NEVER) return a;
  return a < b ? a : b;
}

/** `at` has passed at `now` (NEVER never does). */
export function due(at: number, now: number): boolean {
  return at !== NEVER && now >= at;
}

/** Rarely used parts of a routing state, allocated on demand. */
export interface RoutingStateExtra {
  /** The MA carrying this state's messages (C-mode), if any. */
  ma: MessagingAssociation | undefined;
  /** Messages waiting for the handshake / MA. */
  queue: Pending[] | undefined;
  /** D-mode Data sent in the last 4*T1 (at most 16), re-sent if the peer answers No Routing State (s4.4.6). */
  recent: { readonly p: Pending; readonly at: number }[] | undefined;
  /** SetStateLifetime's period (undefined: the node's default). */
  lifetimeMs: number | undefined;
}

const ROLE_BIT = 0x1;
const PHASE_SHIFT = 1;
const PHASE_MASK = 0x7 << PHASE_SHIFT;
const STALE_BIT = 0x10;
const WANT_MA_BIT = 0x20;
const SLOT_BIT = 0x40;
const SENT_SHIFT = 8;
const SENT_MASK = 0xff << SENT_SHIFT;
const HOPS_SHIFT = 16;
const HOPS_MASK = 0xff << HOPS_SHIFT;

/**
 * One row of the message routing state table (s4.2.1), kept small because a
 * node holds one per session and direction: the key (keys.ts) is the only
 * copy of NSLPID, SID and MRI; role, phase, flags, the Query count and the
 * IP hop count share one integer; times are integers with NEVER for none;
 * queues and the SetStateLifetime period live in `extra`, allocated on demand.
 */
export class RoutingState implements TimerTarget {
  timerAt: number | undefined = undefined;
  heapIndex = -1;
  private bits: number;
  peer: Peer | undefined = undefined;
  /** s4.4.4: the state is purged at this time unless refreshed. */
  expireAt = NEVER;
  /**
   * Querier: in AwaitingResponse / AwaitingRefresh the next Query
   * retransmission (No_Response, s5.3.3); when Established, Refresh_QNode.
   */
  nextQueryAt = NEVER;
  /** Querier: Inactive_QNode (s6.2); SetStateLifetime sets the period. */
  inactiveAt = NEVER;
  /** The random half of our Query-Cookies (cookies.ts), as int32. */
  cookieHi = 0;
  cookieLo = 0;
  /** The NSLP message piggybacked on the initial Query (repeated in its retransmissions, s5.3.3). */
  inQuery: Pending | undefined = undefined;
  extra: RoutingStateExtra | undefined = undefined;

  constructor(
    readonly key: string,
    role: Role,
    phase: Phase,
  ) {
    this.bits = role | (phase << PHASE_SHIFT);
  }

  get role(): Role {
    return (this.bits & ROLE_BIT) as Role;
  }

  get phase(): Phase {
    return ((this.bits & PHASE_MASK) >>> PHASE_SHIFT) as Phase;
  }

  set phase(p: Phase) {
    this.bits = (this.bits & ~PHASE_MASK) | (p << PHASE_SHIFT);
  }

  /** InvalidateRoutingState: rediscover with the next message. */
  get stale(): boolean {
    return (this.bits & STALE_BIT) !== 0;
  }

  set stale(v: boolean) {
    this.bits = v ? this.bits | STALE_BIT : this.bits & ~STALE_BIT;
  }

  /** This state should carry C-mode: a Stack-Proposal goes in its Queries. */
  get wantMa(): boolean {
    return (this.bits & WANT_MA_BIT) !== 0;
  }

  set wantMa(v: boolean) {
    this.bits = v ? this.bits | WANT_MA_BIT : this.bits & ~WANT_MA_BIT;
  }

  /** Holds one of the node's handshake slots (s5.3.3 rate control). */
  get holdsSlot(): boolean {
    return (this.bits & SLOT_BIT) !== 0;
  }

  set holdsSlot(v: boolean) {
    this.bits = v ? this.bits | SLOT_BIT : this.bits & ~SLOT_BIT;
  }

  /** Queries sent in the current handshake; the Query-Cookie counter (s5.3.3 backoff gives up long before 255). */
  get queriesSent(): number {
    return (this.bits & SENT_MASK) >>> SENT_SHIFT;
  }

  set queriesSent(n: number) {
    this.bits = (this.bits & ~SENT_MASK) | (Math.min(n, 0xff) << SENT_SHIFT);
  }

  /** IP-hop-count-to-peer (s5.2.2), 0 = unknown; an 8-bit field on the wire. */
  get ipHops(): number {
    return (this.bits & HOPS_MASK) >>> HOPS_SHIFT;
  }

  set ipHops(n: number) {
    this.bits = (this.bits & ~HOPS_MASK) | ((n & 0xff) << HOPS_SHIFT);
  }

  /** The extra part, allocated on first use. */
  ext(): RoutingStateExtra {
    return (this.extra ??= { ma: undefined, queue: undefined, recent: undefined, lifetimeMs: undefined });
  }

  /** The MA carrying this state's messages (C-mode), if any (most states use D-mode: kept in `extra`). */
  get ma(): MessagingAssociation | undefined {
    return this.extra?.ma;
  }

  set ma(m: MessagingAssociation | undefined) {
    if (m === undefined && this.extra === undefined) return;
    this.ext().ma = m;
    if (m === undefined) this.trimExtra();
  }

  /** Drops the extra part once nothing is in it (a queue flushed, an MA unbound): most states live without one. */
  private trimExtra(): void {
    const x = this.extra;
    if (x !== undefined && x.ma === undefined && x.queue === undefined && x.recent === undefined && x.lifetimeMs === undefined) this.extra = undefined;
  }

  get queue(): Pending[] | undefined {
    return this.extra?.queue;
  }

  set queue(q: Pending[] | undefined) {
    if (q === undefined && this.extra === undefined) return;
    this.ext().queue = q;
    if (q === undefined) this.trimExtra();
  }

  get recent(): { readonly p: Pending; readonly at: number }[] | undefined {
    return this.extra?.recent;
  }

  set recent(r: { readonly p: Pending; readonly at: number }[] | undefined) {
    if (r === undefined && this.extra === undefined) return;
    this.ext().recent = r;
    if (r === undefined) this.trimExtra();
  }
}

export enum MaPhase {
  Connecting = 0,
  Connected = 1,
  Closed = 2,
}

/** A messaging association: one Forwards-TCP connection to a peer (s4.2.2, s5.7.2, s6.4). */
export class MessagingAssociation implements TimerTarget {
  timerAt: number | undefined = undefined;
  heapIndex = -1;
  phase: MaPhase;
  peer: Peer | undefined = undefined;
  /** Routing states bound to this MA. */
  users = 0;
  /** The peer's MA-Hold-Time; we must send something at least this often while we want the MA (s4.4.5). */
  peerHoldMs: number;
  lastTxAt: number;
  lastRxAt: number;
  /** Last time a routing state used the MA (local idle policy, tg_MAIdle). */
  lastUseAt: number;
  /** NSLP messages written while connecting: MessageStatus is reported when the connection opens or fails. */
  pendingStatus: Pending[] | undefined = undefined;
  /** Bytes queued while connecting (s6.4 rule 5). */
  outQueue: Uint8Array[] | undefined = undefined;
  /** Responder side: the first message must be a Confirm carrying an SCD (s4.4.5). */
  sawFirstMessage = false;
  readonly connectDeadline: number;

  constructor(
    readonly connId: ConnId,
    readonly initiator: boolean,
    readonly remote: TransportAddress,
    readonly decoder: GistStreamDecoder,
    now: number,
    peerHoldMs: number,
    connectTimeoutMs: number,
  ) {
    this.phase = initiator ? MaPhase.Connecting : MaPhase.Connected;
    this.peerHoldMs = peerHoldMs;
    this.lastTxAt = now;
    this.lastRxAt = now;
    this.lastUseAt = now;
    this.connectDeadline = now + connectTimeoutMs;
  }
}
