/**
 * The state a GIST node keeps (RFC 5971 s4.2): message routing state per
 * (MRI, NSLPID, SID) and messaging associations per peer. Plain classes with
 * named deadline fields (timers are data, see timers.ts); the logic lives in
 * node.ts. Kept compact: a routing state references a shared Peer instead of
 * copying its NLI, stores the Session ID only as text inside its key, and
 * allocates its queues only when something is queued.
 */
import type { GistStreamDecoder } from '../codec';
import type { Mri, NslpId } from '../types';
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
}

/** One row of the message routing state table (s4.2.1). */
export class RoutingState implements TimerTarget {
  timerAt: number | undefined = undefined;
  heapIndex = -1;
  phase: Phase;
  peer: Peer | undefined = undefined;
  ma: MessagingAssociation | undefined = undefined;
  /** s4.4.4: the state is purged at this time unless refreshed. */
  expireAt = Infinity;
  /** Querier: Refresh_QNode. */
  refreshAt = Infinity;
  /** Querier: No_Response (next Query retransmission). */
  retransmitAt = Infinity;
  /** Current retransmission interval (T1 doubling up to T2, s5.3.3). */
  retransmitInterval = 0;
  /** Queries sent in the current handshake; the Query-Cookie counter. */
  queriesSent = 0;
  /** The random half of our Query-Cookies (cookies.ts). */
  cookieHi = 0;
  cookieLo = 0;
  /** Querier: Inactive_QNode (s6.2); SetStateLifetime sets the period. */
  inactiveAt = Infinity;
  lifetimeMs: number;
  /** IP-hop-count-to-peer (s5.2.2), 0 = unknown. */
  ipHops = 0;
  /** This state should carry C-mode: a Stack-Proposal goes in its Queries. */
  wantMa = false;
  /** InvalidateRoutingState: rediscover with the next message. */
  stale = false;
  /** The NSLP message piggybacked on the initial Query (repeated in its retransmissions, s5.3.3). */
  inQuery: Pending | undefined = undefined;
  /** Messages waiting for the handshake / MA, allocated on demand. */
  queue: Pending[] | undefined = undefined;
  /** D-mode Data sent in the last 4*T1 (at most 16), re-sent if the peer answers No Routing State (s4.4.6). */
  recent: { readonly p: Pending; readonly at: number }[] | undefined = undefined;

  constructor(
    readonly key: string,
    /** The MRI in the direction of messages this node sends to the peer. */
    readonly mri: Mri,
    readonly nslpId: NslpId,
    readonly sessionIdHex: string,
    readonly role: Role,
    phase: Phase,
    lifetimeMs: number,
  ) {
    this.phase = phase;
    this.lifetimeMs = lifetimeMs;
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
