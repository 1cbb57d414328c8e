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
  /** Where its D-mode messages go (shared by every transmit to it; node.ts sendDmode). */
  dmode: TransportAddress | undefined = undefined;
  /**
   * In the node's peer table (node.ts `peers`; a candidate is not). Kept by the node where it
   * adds and removes peers, so that a cached peer is checked without a lookup by its key text.
   */
  known = false;

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

/**
 * The two halves of a routing state row (RFC 5971 s4.2.1: the table is
 * indexed by MRI, NSLPID and SID, and holds the peer in each direction).
 * FWD sends in the MRI's Q-mode direction (path-coupled downstream,
 * loose-end towards the edge: the direction the row's key is written in);
 * REV sends the other way. Only FWD can be a Querier (Queries are only sent
 * in the Q-mode direction); either half may be a Responder.
 */
export type Half = 0 | 1;
export const FWD: Half = 0;
export const REV: Half = 1;

/** Rarely used parts of a routing state row, allocated on demand. */
export interface RoutingStateExtra {
  /** The MA carrying each half's messages (C-mode), if any. */
  ma0: MessagingAssociation | undefined;
  ma1: MessagingAssociation | undefined;
  /** Messages waiting for the handshake / MA, per half. */
  queue0: Pending[] | undefined;
  queue1: Pending[] | undefined;
  /** FWD querier: D-mode Data sent in the last 4*T1 (at most 16), re-sent if the peer answers No Routing State (s4.4.6). */
  recent: { readonly p: Pending; readonly at: number }[] | undefined;
  /** FWD querier: the NSLP message piggybacked on the initial Query (repeated in its retransmissions, s5.3.3). */
  inQuery: Pending | undefined;
}

/*
 * Both halves' small fields share one integer (31 bits, so it stays a small
 * integer: no boxed number per row):
 *   0 FWD present | 1 FWD role (1 = Responder) | 2-4 FWD phase | 5 stale | 6 want MA | 7 holds slot
 *   8-12 Queries sent (FWD) | 13-20 FWD IP hop count | 21 REV present | 22 REV awaiting Confirm
 *   23-30 REV IP hop count
 * REV is always a Responder (only the Q-mode direction queries), so its phase is
 * Established or AwaitingConfirm.
 */
const PRESENT0 = 1 << 0;
const ROLE0 = 1 << 1;
const PHASE_SHIFT = 2;
const PHASE_MASK = 0x7 << PHASE_SHIFT;
const STALE_BIT = 1 << 5;
const WANT_MA_BIT = 1 << 6;
const SLOT_BIT = 1 << 7;
const SENT_SHIFT = 8;
/** s5.3.3 backoff gives up long before 31 Queries (T2 = 64 * T1 by default: 7 Queries). */
const SENT_MAX = 0x1f;
const SENT_MASK = SENT_MAX << SENT_SHIFT;
const HOPS0_SHIFT = 13;
const HOPS0_MASK = 0xff << HOPS0_SHIFT;
const PRESENT1 = 1 << 21;
const AWAIT1 = 1 << 22;
const HOPS1_SHIFT = 23;
const HOPS1_MASK = 0xff << HOPS1_SHIFT;
const FWD_BITS = PRESENT0 | ROLE0 | PHASE_MASK | STALE_BIT | WANT_MA_BIT | SLOT_BIT | SENT_MASK | HOPS0_MASK;
const REV_BITS = PRESENT1 | AWAIT1 | HOPS1_MASK;

/**
 * One row of the message routing state table (s4.2.1) for (MRI, NSLPID,
 * SID), with a slot for each direction's peer: an NF holds one row per
 * session, not one per direction. Kept small: the key (keys.ts, MRI in the
 * FWD direction) is the only copy of NSLPID, SID and MRI; both halves'
 * presence, role, phase and IP hop count (and FWD's flags and Query count)
 * share one small integer; times are integers with NEVER for none; the
 * querier-only fields exist once (only FWD queries); queues and MAs live in
 * `extra`, allocated on demand. One timer entry per row (the earliest
 * deadline of both halves).
 */
export class RoutingState implements TimerTarget {
  timerAt: number | undefined = undefined;
  heapIndex = -1;
  private bits = 0;
  peer0: Peer | undefined = undefined;
  peer1: Peer | undefined = undefined;
  /** s4.4.4: each half is purged at this time unless refreshed. */
  expire0 = NEVER;
  expire1 = NEVER;
  /**
   * FWD querier: in AwaitingResponse / AwaitingRefresh the next Query
   * retransmission (No_Response, s5.3.3); when Established, Refresh_QNode.
   */
  nextQueryAt = NEVER;
  /** FWD querier: Inactive_QNode (s6.2); SetStateLifetime sets the period. */
  inactiveAt = NEVER;
  /** The random half of our Query-Cookies (cookies.ts), as int32. */
  cookieHi = 0;
  cookieLo = 0;
  /** SetStateLifetime's period (NEVER: the node's default). */
  lifetimeMs = NEVER;
  extra: RoutingStateExtra | undefined = undefined;
  /**
   * In its node's table (node.ts `states`). Cleared when the row is taken out, and a row never
   * goes back in (a new one is made for the key), so this tells a row that went away from a
   * live one without a lookup by its key text.
   */
  live = true;

  constructor(readonly key: string) {}

  /** This half holds state. */
  has(h: Half): boolean {
    return (this.bits & (h === FWD ? PRESENT0 : PRESENT1)) !== 0;
  }

  /** Neither half holds state: the row can go. */
  get empty(): boolean {
    return (this.bits & (PRESENT0 | PRESENT1)) === 0;
  }

  /** Starts a half afresh (everything but the row's shared parts cleared). */
  open(h: Half, role: Role, phase: Phase): void {
    if (h === FWD) {
      this.bits = (this.bits & REV_BITS) | PRESENT0 | (role === Role.Responder ? ROLE0 : 0) | (phase << PHASE_SHIFT);
      this.expire0 = NEVER;
      this.nextQueryAt = NEVER;
      this.inactiveAt = NEVER;
      return;
    }
    if (role !== Role.Responder) throw new Error('routing state: only the Q-mode direction (FWD) has a Querier');
    this.bits = (this.bits & FWD_BITS) | PRESENT1;
    this.setPhase(REV, phase);
    this.expire1 = NEVER;
  }

  /** Clears a half (its peer, MA and queue must have been let go by the caller). */
  close(h: Half): void {
    if (h === FWD) {
      this.bits &= REV_BITS;
      this.peer0 = undefined;
      this.expire0 = NEVER;
      this.nextQueryAt = NEVER;
      this.inactiveAt = NEVER;
      this.inQuery = undefined;
    } else {
      this.bits &= FWD_BITS;
      this.peer1 = undefined;
      this.expire1 = NEVER;
    }
  }

  role(h: Half): Role {
    return h === FWD && (this.bits & ROLE0) === 0 ? Role.Querier : Role.Responder;
  }

  isQuerier(h: Half): boolean {
    return h === FWD && (this.bits & (PRESENT0 | ROLE0)) === PRESENT0;
  }

  phase(h: Half): Phase {
    if (h === FWD) return ((this.bits & PHASE_MASK) >>> PHASE_SHIFT) as Phase;
    return (this.bits & AWAIT1) !== 0 ? Phase.AwaitingConfirm : Phase.Established;
  }

  setPhase(h: Half, p: Phase): void {
    if (h === FWD) this.bits = (this.bits & ~PHASE_MASK) | (p << PHASE_SHIFT);
    else if (p === Phase.AwaitingConfirm) this.bits |= AWAIT1;
    else if (p === Phase.Established) this.bits &= ~AWAIT1;
    else throw new Error(`routing state: a Responder (REV) half cannot be in phase ${p}`);
  }

  peer(h: Half): Peer | undefined {
    return h === FWD ? this.peer0 : this.peer1;
  }

  setPeer(h: Half, p: Peer | undefined): void {
    if (h === FWD) this.peer0 = p;
    else this.peer1 = p;
  }

  expireAt(h: Half): number {
    return h === FWD ? this.expire0 : this.expire1;
  }

  setExpireAt(h: Half, t: number): void {
    if (h === FWD) this.expire0 = t;
    else this.expire1 = t;
  }

  /** IP-hop-count-to-peer (s5.2.2), 0 = unknown; an 8-bit field on the wire. */
  ipHops(h: Half): number {
    return h === FWD ? (this.bits & HOPS0_MASK) >>> HOPS0_SHIFT : (this.bits & HOPS1_MASK) >>> HOPS1_SHIFT;
  }

  setIpHops(h: Half, n: number): void {
    if (h === FWD) this.bits = (this.bits & ~HOPS0_MASK) | ((n & 0xff) << HOPS0_SHIFT);
    else this.bits = (this.bits & ~HOPS1_MASK) | ((n & 0xff) << HOPS1_SHIFT);
  }

  /** FWD querier, InvalidateRoutingState: rediscover with the next message. */
  get stale(): boolean {
    return (this.bits & STALE_BIT) !== 0;
  }

  set stale(v: boolean) {
    this.bits = v ? this.bits | STALE_BIT : this.bits & ~STALE_BIT;
  }

  /** FWD querier: this state should carry C-mode: a Stack-Proposal goes in its Queries. */
  get wantMa(): boolean {
    return (this.bits & WANT_MA_BIT) !== 0;
  }

  set wantMa(v: boolean) {
    this.bits = v ? this.bits | WANT_MA_BIT : this.bits & ~WANT_MA_BIT;
  }

  /** FWD querier: holds one of the node's handshake slots (s5.3.3 rate control). */
  get holdsSlot(): boolean {
    return (this.bits & SLOT_BIT) !== 0;
  }

  set holdsSlot(v: boolean) {
    this.bits = v ? this.bits | SLOT_BIT : this.bits & ~SLOT_BIT;
  }

  /** FWD querier: Queries sent in the current handshake; the Query-Cookie counter (at most SENT_MAX). */
  get queriesSent(): number {
    return (this.bits & SENT_MASK) >>> SENT_SHIFT;
  }

  set queriesSent(n: number) {
    this.bits = (this.bits & ~SENT_MASK) | ((n > SENT_MAX ? SENT_MAX : n) << SENT_SHIFT);
  }

  /** The extra part, allocated on first use. */
  ext(): RoutingStateExtra {
    return (this.extra ??= { ma0: undefined, ma1: undefined, queue0: undefined, queue1: undefined, recent: undefined, inQuery: undefined });
  }

  /** Drops the extra part once nothing is in it (a queue flushed, an MA unbound): most rows live without one. */
  private trimExtra(): void {
    const x = this.extra;
    if (x !== undefined && x.ma0 === undefined && x.ma1 === undefined && x.queue0 === undefined && x.queue1 === undefined && x.recent === undefined && x.inQuery === undefined) {
      this.extra = undefined;
    }
  }

  /** The MA carrying this half's messages (C-mode), if any (most states use D-mode: kept in `extra`). */
  ma(h: Half): MessagingAssociation | undefined {
    const x = this.extra;
    return x === undefined ? undefined : h === FWD ? x.ma0 : x.ma1;
  }

  setMa(h: Half, m: MessagingAssociation | undefined): void {
    if (m === undefined && this.extra === undefined) return;
    const x = this.ext();
    if (h === FWD) x.ma0 = m;
    else x.ma1 = m;
    if (m === undefined) this.trimExtra();
  }

  queue(h: Half): Pending[] | undefined {
    const x = this.extra;
    return x === undefined ? undefined : h === FWD ? x.queue0 : x.queue1;
  }

  setQueue(h: Half, q: Pending[] | undefined): void {
    if (q === undefined && this.extra === undefined) return;
    const x = this.ext();
    if (h === FWD) x.queue0 = q;
    else x.queue1 = q;
    if (q === undefined) this.trimExtra();
  }

  /** Lives in `extra`: it is only there while the first handshake runs. */
  get inQuery(): Pending | undefined {
    return this.extra?.inQuery;
  }

  set inQuery(p: Pending | undefined) {
    if (p === undefined && this.extra === undefined) return;
    this.ext().inQuery = p;
    if (p === undefined) this.trimExtra();
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
