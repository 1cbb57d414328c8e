/**
 * A GIST node (RFC 5971, state machines of s6 / RFC 5972) as an I/O-free
 * core: the NSLP side is `GistService` (gist/api.ts), the driver side is
 * `GistDriverFacing` (driver-api.ts). Every entry point takes `now`; output
 * is queued for `pollTransmit()`; timers are deadlines on the state objects.
 *
 * Roles: for each (MRI, NSLPID, SID) this node keeps one routing state row
 * (s4.2.1) with a half per direction: FWD sends in the MRI's Q-mode
 * direction (this node is usually its Querying node), REV the other way
 * (usually its Responding node). Row keys hold the MRI in the FWD direction;
 * a message is mapped to a (row, half) by the MRI in the direction in which
 * *this* node would send to the peer, so a received message (whose MRI
 * points in its direction of travel) is looked up with its MRI inverted
 * (s3.3, s5.1: the Response inverts the Query's MRI).
 */
import EventEmitter from 'eventemitter3';
import { UsageError } from '../../common/errors';
import { toHex } from '../../common/bytes';
import type {
  GistService,
  GistServiceEvents,
  InvalidateRoutingStateRequest,
  MessageStatusError,
  RecvMessageEvent,
  SendMessageRequest,
  TransferAttributes,
} from '../api';
// Imported from the defining modules, not the codec's index: its re-exports compile to
// getter properties, and these names are used on every message.
import { decodeGistDatagram, encodeGistDatagram, encodeGistMessage, unknownObjectsToForward, type DatagramOptions } from '../codec/index';
import { ErrorCode, MaProtocolId, MessageType, ObjectType } from '../codec/constants';
import { GistDecodeError } from '../codec/errors';
import { GistStreamDecoder } from '../codec/stream';
import { encodeObject } from '../codec/objects/codec';
import { nliCodec } from '../codec/objects/nli';
import { stackConfigurationDataCodec } from '../codec/objects/stack-configuration-data';
import { stackProposalCodec } from '../codec/objects/stack-proposal';
import type {
  AdditionalInfo,
  ConfirmMessage,
  DataMessage,
  ErrorMessage,
  GistCommonHeader,
  GistErrorObject,
  GistMessage,
  MaHelloMessage,
  NetworkLayerInformation,
  OriginalCommonHeader,
  QueryMessage,
  ResponseMessage,
  StackConfigurationData,
  StackProposal,
} from '../codec/types';
import type { IpVersion, Mri, NslpId, SessionId } from '../types';
import { resolveConfig, type GistNodeConfig, type ResolvedConfig } from './config';
import { matchQueryCookie, ResponderCookieJar, type CookieBinding } from './cookies';
import type {
  AcceptedStream,
  ConnId,
  DatagramDisposition,
  GistDriverFacing,
  InboundDatagram,
  QmodeTransmit,
  Transmit,
  TransportAddress,
} from './driver-api';
import { keyIpVersion, keyMri, keyNslpId, keySid, lastHalf, nslpKeyPart, rowKey, rowKeyFromDatagram, rowMriKeyPart } from './keys';
import { due, earliest, FWD, MaPhase, MessagingAssociation, NEVER, Peer, Phase, REV, Role, RoutingState, type Half, type Pending } from './state';
import { TimerHeap } from './timers';
import { TokenBucket } from './rate-limiter';
import { dataLength, queryLength, responseLength, writeConfirm, writeData, writeQuery, writeResponse } from './wire';

/** Where an inbound message came from, for replies and Error messages (s5.6). */
type RxContext =
  | { readonly via: 'udp'; readonly remote: TransportAddress; readonly local: TransportAddress; readonly qmode: boolean; readonly ipTtl?: number; readonly iface?: string }
  | { readonly via: 'ma'; readonly ma: MessagingAssociation };

/** Counters for tests, benches and the CLI. */
export interface GistNodeStats {
  queriesSent: number;
  queriesReceived: number;
  responsesSent: number;
  confirmsSent: number;
  confirmsAccepted: number;
  /** Querier: Responses that completed a handshake (a duplicate Response to a retransmitted Query is not counted). */
  handshakesCompleted: number;
  /** Querier: Responses to a retransmitted Query of a handshake that had already completed. */
  duplicateResponses: number;
  dataSent: number;
  dataReceived: number;
  errorsSent: number;
  errorsReceived: number;
  queriesForwarded: number;
  invalidCookies: number;
  dropped: number;
  /** s5.3.3 D-mode rate limiter: datagrams that waited for tokens. */
  rateLimited: number;
  /** s5.3.3 D-mode rate limiter: datagrams dropped because its queue was full. */
  rateLimitDropped: number;
}

/** A D-mode datagram waiting for the rate limiter, and its size as the limiter counts it. */
interface RateLimited {
  readonly t: Transmit;
  readonly size: number;
  /** For a Query: its routing state (see GistNode.rlQueries). */
  readonly rs: RoutingState | undefined;
}

/** MessageStatus detail of a message the rate limiter dropped. */
const RATE_LIMIT_DROP = 'D-mode rate limiter queue full (RFC 5971 s5.3.3)';

/** RFC 5971 s4.3.3: 576 bytes unless the path MTU is known, minus the 64-byte IP/UDP allowance. */
const DMODE_LIMIT = 576;
const DMODE_ALLOWANCE = 64;
const PEER_CANDIDATE_CAP = 4096;
const EMPTY = new Uint8Array(0);
/** Immutable values handed out on every message (no allocation per datagram). */
const CONSUME: DatagramDisposition = Object.freeze({ kind: 'consume' });
const TRANSFER_QUERY_FROM_ENDPOINT: RecvMessageEvent['transfer'] = Object.freeze({ reliable: false, secure: false, fromFlowEndpoint: true });
const TRANSFER_QUERY: RecvMessageEvent['transfer'] = Object.freeze({ reliable: false, secure: false, fromFlowEndpoint: false });
const TRANSFER_DMODE: RecvMessageEvent['transfer'] = Object.freeze({ reliable: false, secure: false, explicitlyRouted: undefined });
const TRANSFER_CMODE: RecvMessageEvent['transfer'] = Object.freeze({ reliable: true, secure: false, explicitlyRouted: undefined });
const TRANSFER_DMODE_EXPLICIT: RecvMessageEvent['transfer'] = Object.freeze({ reliable: false, secure: false, explicitlyRouted: true });
const TRANSFER_CMODE_EXPLICIT: RecvMessageEvent['transfer'] = Object.freeze({ reliable: true, secure: false, explicitlyRouted: true });
const STATUS_RELIABLE: TransferAttributes = Object.freeze({ reliable: true, secure: false });
const STATUS_UNRELIABLE: TransferAttributes = Object.freeze({ reliable: false, secure: false });
/**
 * Datagram decoding: cookies and the NLI's Peer-Identity as views into the datagram (no copy per
 * message); this node only reads them while it handles the message (Peer copies its identity).
 */
const DECODE_QMODE: DatagramOptions = Object.freeze({ qMode: true, views: true });
const DECODE_DMODE: DatagramOptions = Object.freeze({ views: true });


function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isDownstream(m: Mri): boolean {
  return m.mrm === 'path-coupled' ? m.direction === 'downstream' : m.direction === 'towards-edge';
}

type Target = RoutingState | MessagingAssociation;

/**
 * While an NSLP handles the RecvMessage of a Query: the reply direction of
 * that Query, and the first unreliable message the NSLP sends in it, which
 * goes in the Response instead of a Data message of its own (RFC 5971 s5.1:
 * a Response may carry NSLP-Data; s4.3.2 case 1: when the application peers
 * it "MAY provide an NSLP payload for the same NSLPID, which GIST will
 * transfer in the Response" — here it does so by answering the querying node).
 */
interface ReplyCapture {
  /** A Query's RecvMessage is being handled (one object per node, reused: no allocation per Query). */
  active: boolean;
  key: string;
  half: Half;
  /** The SII-Handle of the querying node (B.2, as given in the RecvMessage). */
  peerHandle: number;
  req: SendMessageRequest | undefined;
  p: Pending | undefined;
}

export class GistNode implements GistService, GistDriverFacing {
  readonly events = new EventEmitter<GistServiceEvents>();
  readonly config: ResolvedConfig;
  readonly listen: { readonly udpPort: number; readonly tcpPort: number; readonly qmodePort: number };
  readonly stats: GistNodeStats = {
    queriesSent: 0,
    queriesReceived: 0,
    responsesSent: 0,
    confirmsSent: 0,
    confirmsAccepted: 0,
    handshakesCompleted: 0,
    duplicateResponses: 0,
    dataSent: 0,
    dataReceived: 0,
    errorsSent: 0,
    errorsReceived: 0,
    queriesForwarded: 0,
    invalidCookies: 0,
    dropped: 0,
    rateLimited: 0,
    rateLimitDropped: 0,
  };

  private readonly nslps = new Set<NslpId>();
  private readonly states = new Map<string, RoutingState>();
  private readonly peers = new Map<string, Peer>();
  private readonly peersByHandle = new Map<number, Peer>();
  /** Bounded: SII handles handed out for Query senders we have no state for (so a flood cannot grow it). */
  private readonly candidates = new Map<string, Peer>();
  private readonly mas = new Map<ConnId, MessagingAssociation>();
  private readonly timers = new TimerHeap<Target>();
  private readonly out: Transmit[] = [];
  private outHead = 0;
  /** End of the queued transmits in `out` (the array is reused, not shrunk, between drains). */
  private outTail = 0;
  private readonly cookies: ResponderCookieJar;
  /** s5.3.3 D-mode rate limiter (undefined: disabled) and the datagrams waiting for it (FIFO, `rlHead` first). */
  private readonly limiter: TokenBucket | undefined;
  private readonly rlQueue: RateLimited[] = [];
  private rlHead = 0;
  private readonly rlMaxQueued: number;
  /** Routing states with a Query waiting in the limiter's queue, and how many. */
  private readonly rlQueries = new Map<RoutingState, number>();
  /** When the first waiting datagram fits (valid while rlQueue holds any). */
  private rlReleaseAt = 0;
  private nextHandle = 1;
  private nextConnId = 1;
  /** s5.3.3 rate control: new sessions' handshakes in progress, and the sessions waiting for a slot (FIFO). */
  private handshakesInProgress = 0;
  private readonly waiting: RoutingState[] = [];
  private waitingHead = 0;
  /** The last peer looked up by (Peer-Identity, address): consecutive messages mostly come from the same peer. */
  private lastPeer: Peer | undefined;
  /** Known peers by interface address (a node in the middle alternates between its two neighbours). */
  private readonly peersByAddress = new Map<string, Peer>();
  /** Active while a Query's RecvMessage is being handled (see ReplyCapture). */
  private readonly capture: ReplyCapture = { active: false, key: '', half: FWD, peerHandle: 0, req: undefined, p: undefined };

  constructor(config: GistNodeConfig) {
    this.config = resolveConfig(config);
    const addrs = this.config.addresses;
    for (const v of [4, 6] as const) {
      const ofV = (a: string): boolean => (v === 6) === a.includes(':');
      this.defaultAddressIndex[v] = Math.max(0, addrs.findIndex(ofV));
      this.addressChoice[v] = this.config.interfaceAddressFor !== undefined && addrs.filter(ofV).length > 1;
    }
    this.nliTlvCache = new Array<Uint8Array | undefined>(256 * addrs.length).fill(undefined);
    this.sourceCache = new Array<TransportAddress | undefined>(addrs.length).fill(undefined);
    this.listen = { udpPort: this.config.udpPort, tcpPort: this.config.tcpPort, qmodePort: this.config.qmodePort };
    this.cookies = new ResponderCookieJar(this.config.randomBytes, this.config.cookieSecretPeriodMs);
    const rl = this.config.dmodeRateLimit;
    this.limiter = rl === false ? undefined : new TokenBucket(rl);
    this.rlMaxQueued = rl === false ? 0 : rl.maxQueued;
  }

  // ------------------------------------------------------------------ introspection

  /** Number of routing state rows (s4.2.1: one per MRI, NSLPID and SID, with both directions' peers). */
  get routingStateCount(): number {
    return this.states.size;
  }

  /** Number of routing state halves in use (a row holds one or two: the peer in each direction). */
  get routingStateHalves(): number {
    let n = 0;
    for (const rs of this.states.values()) n += (rs.has(FWD) ? 1 : 0) + (rs.has(REV) ? 1 : 0);
    return n;
  }

  /** Number of messaging associations (any phase). */
  get maCount(): number {
    return this.mas.size;
  }

  get peerCount(): number {
    return this.peers.size;
  }

  /** Everything this node holds, counted (for the Query-flood test and diagnostics). */
  footprint(): {
    routingStates: number;
    peers: number;
    peerCandidates: number;
    mas: number;
    timerEntries: number;
    queued: number;
    outbound: number;
    rateLimited: number;
    handshakesInProgress: number;
    handshakesWaiting: number;
  } {
    let queued = 0;
    let waiting = 0;
    for (const rs of this.states.values()) {
      queued += (rs.queue(FWD)?.length ?? 0) + (rs.queue(REV)?.length ?? 0) + (rs.recent?.length ?? 0);
      if (rs.has(FWD) && rs.phase(FWD) === Phase.Queued) waiting++;
    }
    return {
      routingStates: this.states.size,
      peers: this.peers.size,
      peerCandidates: this.candidates.size,
      mas: this.mas.size,
      timerEntries: this.timers.size,
      queued,
      outbound: this.outTail - this.outHead,
      rateLimited: this.rlQueue.length - this.rlHead,
      handshakesInProgress: this.handshakesInProgress,
      handshakesWaiting: waiting,
    };
  }

  /** A snapshot of one routing state entry, for tests and the CLI. */
  routingState(nslpId: NslpId, mri: Mri, sessionId: SessionId):
    | {
        role: 'querier' | 'responder';
        phase: 'awaiting-response' | 'established' | 'awaiting-refresh' | 'awaiting-confirm' | 'queued';
        peerAddress?: string;
        siiHandle?: number;
        cmode: boolean;
        expireAt: number;
      }
    | undefined {
    const key = rowKey(nslpId, sessionId, mri, false);
    const h = lastHalf();
    const rs = this.getRow(key);
    if (rs === undefined || !rs.has(h)) return undefined;
    const phases = ['awaiting-response', 'established', 'awaiting-refresh', 'awaiting-confirm', 'queued'] as const;
    const exp = rs.expireAt(h);
    return {
      role: rs.role(h) === Role.Querier ? 'querier' : 'responder',
      phase: phases[rs.phase(h)],
      peerAddress: rs.peer(h)?.address,
      siiHandle: rs.peer(h)?.handle,
      cmode: rs.ma(h) !== undefined,
      expireAt: exp === NEVER ? Infinity : exp,
    };
  }

  // ------------------------------------------------------------------ driver side

  private transmit(t: Transmit): void {
    this.out[this.outTail++] = t;
  }

  pollTransmit(): Transmit | undefined {
    if (this.outHead >= this.outTail) {
      if (this.outTail > 0) {
        this.outHead = 0;
        this.outTail = 0;
        // Give back the memory of a large burst.
        if (this.out.length > 1024) this.out.length = 0;
      }
      return undefined;
    }
    const t = this.out[this.outHead];
    this.out[this.outHead++] = undefined as unknown as Transmit;
    return t;
  }

  nextDeadline(): number | undefined {
    const t = this.timers.peek();
    if (this.rlHead >= this.rlQueue.length) return t;
    return t === undefined || this.rlReleaseAt < t ? this.rlReleaseAt : t;
  }

  /**
   * Sends a locally generated D-mode datagram through the s5.3.3 rate limiter.
   * Returns false when it was dropped (the limiter's queue is full); the caller
   * reports that to the NSLP. Fast path: tokens available and nobody waiting.
   */
  private transmitUdp(now: number, t: Transmit & { readonly kind: 'udp' }, rs?: RoutingState): boolean {
    const lim = this.limiter;
    if (lim === undefined) {
      this.transmit(t);
      return true;
    }
    // Bytes on the wire: UDP payload + UDP and IP headers (the RFC limits the load on the network).
    const size = t.bytes.length + (t.ipVersion === 4 ? 28 : 48);
    const q = this.rlQueue;
    if (this.rlHead >= q.length && lim.take(now, size)) {
      this.transmit(t);
      return true;
    }
    // s5.3.3: "D-mode messages MUST be queued until transmission is re-enabled" (FIFO, bounded).
    if (q.length - this.rlHead >= this.rlMaxQueued) {
      this.stats.rateLimitDropped++;
      return false;
    }
    if (this.rlHead >= q.length) this.rlReleaseAt = lim.nextRefillAt(now, size);
    q.push({ t, size, rs });
    if (rs !== undefined) this.rlQueries.set(rs, (this.rlQueries.get(rs) ?? 0) + 1);
    this.stats.rateLimited++;
    return true;
  }

  /** Sends the waiting D-mode datagrams that the bucket allows at `now`, in order. */
  private releaseRateLimited(now: number): void {
    const lim = this.limiter!;
    const q = this.rlQueue;
    while (this.rlHead < q.length) {
      const e = q[this.rlHead];
      if (!lim.take(now, e.size)) {
        this.rlReleaseAt = lim.nextRefillAt(now, e.size);
        // Give back the space of what went (a long overload never drains the queue completely).
        if (this.rlHead > 1024 && this.rlHead * 2 > q.length) {
          q.splice(0, this.rlHead);
          this.rlHead = 0;
        }
        return;
      }
      q[this.rlHead++] = undefined as unknown as RateLimited;
      if (e.rs !== undefined) {
        const n = this.rlQueries.get(e.rs)!;
        if (n > 1) this.rlQueries.set(e.rs, n - 1);
        else this.rlQueries.delete(e.rs);
      }
      this.transmit(e.t);
    }
    q.length = 0;
    this.rlHead = 0;
  }

  handleTimeout(now: number): void {
    if (this.rlHead < this.rlQueue.length && this.rlReleaseAt <= now) this.releaseRateLimited(now);
    for (let i = 0; i < 1_000_000; i++) {
      const t = this.timers.popDue(now);
      if (t === undefined) return;
      if (t instanceof RoutingState) this.onStateTimer(now, t);
      else this.onMaTimer(now, t);
      // A target must not stay due after it fired (that would spin the driver); defend against it.
      if (t.timerAt !== undefined && t.timerAt <= now && t.heapIndex >= 0) this.timers.arm(t, now + 1);
    }
  }

  handleDatagram(now: number, dg: InboundDatagram): DatagramDisposition {
    const intercepted = dg.qmode !== undefined && !this.config.addresses.includes(dg.local.address);
    const bytes = dg.bytes;
    // s5.3.2.3: port 270 + magic number; anything else is not GIST and goes on as a normal IP datagram.
    if (bytes.length < 12 || bytes[0] !== 0x4e || bytes[1] !== 0x04 || bytes[2] !== 0xbd || bytes[3] !== 0xa5) {
      this.stats.dropped++;
      return intercepted ? { kind: 'forward' } : CONSUME;
    }
    const nslpId = (bytes[8] << 8) | bytes[9];
    const ctx: RxContext = {
      via: 'udp',
      remote: dg.remote,
      local: dg.local,
      qmode: dg.qmode !== undefined,
      ipTtl: dg.qmode?.ipTtl ?? dg.ipTtl,
      iface: dg.qmode?.interface,
    };
    if (intercepted && !this.nslps.has(nslpId)) {
      // s4.3.4 cases 2/3: not for an NSLP we run. Decrement the GIST hop count and pass it on;
      // at zero answer Hop Limit Exceeded instead (s4.3.4, A.4.4.2). Only the header is inspected.
      const hops = bytes[5];
      if (hops <= 1) {
        const r = decodeGistDatagram(bytes, DECODE_QMODE);
        this.errorForHeaderOnly(now, ctx, r.ok ? r.value : undefined, ErrorCode.HopLimitExceeded);
        return CONSUME;
      }
      if (bytes.length + 28 > this.config.mtu) {
        // s4.3.4 check 1: it would be fragmented downstream (IPv4 + UDP headers = 28 bytes).
        const r = decodeGistDatagram(bytes, DECODE_QMODE);
        this.errorForHeaderOnly(now, ctx, r.ok ? r.value : undefined, ErrorCode.MessageTooLarge);
        return CONSUME;
      }
      const copy = bytes.slice();
      copy[5] = hops - 1;
      this.stats.queriesForwarded++;
      return { kind: 'forward', payload: copy };
    }
    const r = decodeGistDatagram(bytes, dg.qmode !== undefined ? DECODE_QMODE : DECODE_DMODE);
    if (!r.ok) {
      this.replyDecodeError(now, ctx, r.error);
      return intercepted && r.error.errorCode !== ErrorCode.HopLimitExceeded && !r.error.reply ? { kind: 'forward' } : CONSUME;
    }
    const msg = r.value;
    if (msg.type === 'Query') return this.rxQuery(now, msg, ctx, bytes, intercepted);
    if (intercepted && msg.type !== 'Data') {
      // Only Queries and Q-mode Data are Q-mode encapsulated (s5.5).
      this.replyError(now, ctx, msg, ErrorCode.IncorrectEncapsulation, 0, []);
      return CONSUME;
    }
    this.rxMessage(now, msg, ctx, bytes);
    return CONSUME;
  }

  handleStreamAccepted(now: number, info: AcceptedStream): ConnId {
    const id = this.nextConnId++;
    const ma = new MessagingAssociation(id, false, info.remote, new GistStreamDecoder(), now, this.config.maHoldTimeMs, 0);
    this.mas.set(id, ma);
    this.armMa(now, ma);
    return id;
  }

  handleStreamOpened(now: number, connId: ConnId): void {
    const ma = this.mas.get(connId);
    if (ma === undefined || ma.phase !== MaPhase.Connecting) return;
    ma.phase = MaPhase.Connected;
    ma.lastRxAt = now;
    const q = ma.outQueue;
    ma.outQueue = undefined;
    if (q !== undefined) for (const b of q) this.transmit({ kind: 'tcp-send', connId, bytes: b });
    ma.lastTxAt = now;
    this.armMa(now, ma);
    const done = ma.pendingStatus;
    ma.pendingStatus = undefined;
    if (done !== undefined) for (const p of done) this.status(now, p, undefined);
  }

  handleStreamData(now: number, connId: ConnId, bytes: Uint8Array): void {
    const ma = this.mas.get(connId);
    if (ma === undefined || ma.phase === MaPhase.Closed) return;
    ma.lastRxAt = now;
    if (!ma.decoder.push(bytes)) {
      // The peer floods us beyond the bounded buffer: give up on this association.
      this.failMa(now, ma, 'stream buffer overflow', true);
      return;
    }
    for (let i = 0; i < 100_000; i++) {
      if (!this.mas.has(connId)) return;
      const r = ma.decoder.next();
      if (r === undefined) break;
      if (!r.ok) {
        this.replyDecodeError(now, { via: 'ma', ma }, r.error);
        continue;
      }
      this.rxMessage(now, r.value, { via: 'ma', ma });
    }
    if (this.mas.has(connId)) this.armMa(now, ma);
  }

  handleStreamClosed(now: number, connId: ConnId, reason?: string): void {
    const ma = this.mas.get(connId);
    if (ma === undefined) return;
    this.failMa(now, ma, reason ?? 'closed by peer', false);
  }

  // ------------------------------------------------------------------ NSLP side

  registerNslp(nslpId: NslpId): void {
    this.nslps.add(nslpId);
  }

  sendMessage(now: number, req: SendMessageRequest): void {
    // Local misuse (a bug of the NSLP, not a remote fault) is thrown as a typed UsageError.
    if (req.gistHopCount !== undefined && (req.gistHopCount < 1 || req.gistHopCount > 255)) {
      throw new UsageError('GIST_BAD_HOP_COUNT', 'SendMessage: the GIST hop count must be 1..255 (RFC 5971 s4.3.3 forbids 0)');
    }
    if (req.nslpData.length % 4 !== 0) {
      throw new UsageError('GIST_NSLP_DATA_NOT_ALIGNED', 'SendMessage: NSLP data must be whole 32-bit words (RFC 5971 A.3.10: padding is the NSLP\'s job)');
    }
    const reliable = req.transfer?.reliable ?? false;
    const p: Pending = {
      nslpData: req.nslpData,
      handle: req.nslpMessageHandle,
      reliable,
      giveUpAt: req.timeoutMs !== undefined ? now + req.timeoutMs : undefined,
      gistHopCount: req.gistHopCount,
    };
    if (req.nslpData.length > 0xfff * 4) {
      this.status(now, p, 'message-too-large');
      return;
    }
    // The key is built (and the MRI and SID checked: UsageError) before any state changes.
    const key = rowKey(req.nslpId, req.sessionId, req.mri, false);
    // The half sending in req.mri's direction: FWD in the Q-mode direction (s5.8.1.2, s5.8.2.2).
    const h = lastHalf();
    const c = this.capture;
    if (c.active && c.p === undefined && !reliable && key === c.key && h === c.half && (req.siiHandle === undefined || req.siiHandle === c.peerHandle)) {
      // The answer to the Query being handled, back to the querying node: it goes in the Response (s5.1).
      c.p = p;
      c.req = req;
      return;
    }
    if (req.siiHandle !== undefined) {
      // B.1: explicitly routed to a peer we know (E=1, s7.1.5), without local routing state.
      // Mostly the state's own peer in that direction (an NSLP answering upstream) or the last
      // peer looked up (the one whose message it answers): a known peer with that handle is the
      // one peersByHandle holds (handles are never reused), found without a table lookup.
      const rs = this.getRow(key);
      const own = rs !== undefined && rs.has(h) ? rs.peer(h) : undefined;
      const last = this.lastPeer;
      const peer =
        own !== undefined && own.known && own.handle === req.siiHandle
          ? own
          : last !== undefined && last.known && last.handle === req.siiHandle
            ? last
            : (this.peersByHandle.get(req.siiHandle) ?? this.candidateByHandle(req.siiHandle));
      if (peer === undefined) {
        this.status(now, p, 'peer-unreachable');
        return;
      }
      if (rs !== undefined && rs.has(h) && rs.peer(h) === peer && rs.phase(h) !== Phase.AwaitingResponse && rs.phase(h) !== Phase.Queued) {
        this.sendOnState(now, rs, h, p);
        return;
      }
      this.sendExplicit(now, key, h, peer, p);
      return;
    }
    let rs = this.getRow(key);
    if (rs === undefined || !rs.has(h)) {
      if (h === REV) {
        // Reply direction: the state comes from the peer's handshake (we are the responder).
        // Wait for the Confirm (bounded by the NSLP timeout or 2 * T2); only an NSLP call creates this.
        rs = this.row(key);
        rs.open(REV, Role.Responder, Phase.AwaitingConfirm);
        rs.setExpireAt(REV, p.giveUpAt ?? now + 2 * this.config.t2Ms);
        this.enqueue(now, rs, REV, p);
        this.armState(rs);
        return;
      }
      const dst = req.mri.destinationAddress;
      if (this.config.addresses.includes(dst)) {
        // s4.3.3: GIST must not be the direct destination of its own message.
        this.status(now, p, 'no-next-node');
        return;
      }
      if (this.handshakesInProgress >= this.config.maxHandshakesInProgress) {
        // s5.3.3 rate control: wait for a slot (bounded), no Query yet.
        if (this.waiting.length - this.waitingHead >= this.config.maxQueuedHandshakes) {
          this.status(now, p, 'transport-failure', 'too many handshakes waiting (rate control)');
          return;
        }
        rs = this.newQuerier(now, key, Phase.Queued);
        if (reliable) rs.wantMa = true;
        this.enqueue(now, rs, FWD, p);
        this.waiting.push(rs);
        this.armState(rs);
        return;
      }
      rs = this.newQuerier(now, key, Phase.AwaitingResponse);
      if (reliable) rs.wantMa = true;
      this.takeSlot(rs);
      // Piggyback an unreliable message on the Query when it fits (s4.4.1, s6.2; sendQuery sets rs.inQuery).
      if (reliable || !this.sendQuery(now, rs, p, req.mri)) {
        this.enqueue(now, rs, FWD, p);
        this.sendQuery(now, rs, undefined, req.mri);
      }
      this.armState(rs);
      return;
    }
    if (rs.isQuerier(h)) rs.inactiveAt = now + this.lifetimeOf(rs);
    this.sendOnState(now, rs, h, p);
  }

  /** The row for `key`, created empty when there is none. */
  private row(key: string): RoutingState {
    let rs = this.getRow(key);
    if (rs === undefined) {
      rs = new RoutingState(key);
      this.states.set(key, rs);
      this.memoKey = key;
      this.memoRow = rs;
    }
    return rs;
  }

  /**
   * The last key looked up in `states` and what it found (or undefined): handling one message
   * looks its row up several times (the NSLP's answer, armState), and a lookup in a large
   * table is mostly cache misses, a comparison with the last key is not. Kept in step by
   * row() and removeHalf(), the only writers of `states`.
   */
  private memoKey = '';
  private memoRow: RoutingState | undefined = undefined;

  private getRow(key: string): RoutingState | undefined {
    if (key === this.memoKey) return this.memoRow;
    const rs = this.states.get(key);
    this.memoKey = key;
    this.memoRow = rs;
    return rs;
  }

  /**
   * Whether a Query refreshes established responder state from the peer it already names (same
   * Peer-Identity and Interface-Address, and for D-mode the same UDP port): the peer passed the
   * return routability check when the state was installed (s8.3), so config.confirmRefreshes decides.
   */
  private isRefreshFromPeer(key: string, h: Half, nli: NetworkLayerInformation, ctx: RxContext): boolean {
    const rs = this.getRow(key);
    if (rs === undefined || !rs.has(h) || rs.role(h) !== Role.Responder || rs.phase(h) !== Phase.Established) return false;
    const peer = rs.peer(h);
    if (peer === undefined || !peer.known || peer.address !== nli.interfaceAddress || !sameBytes(peer.peerIdentity, nli.peerIdentity)) return false;
    return ctx.via !== 'udp' || peer.udpPort === ctx.remote.port;
  }

  private lifetimeOf(rs: RoutingState): number {
    return rs.lifetimeMs !== NEVER ? rs.lifetimeMs : this.config.defaultStateLifetimeMs;
  }

  // ------------------------------------------------------------------ s5.3.3 rate control of new handshakes

  private takeSlot(rs: RoutingState): void {
    rs.holdsSlot = true;
    this.handshakesInProgress++;
  }

  /** The state's handshake completed or the state went away: free its slot and start waiting sessions. */
  private releaseSlot(now: number, rs: RoutingState): void {
    if (!rs.holdsSlot) return;
    rs.holdsSlot = false;
    this.handshakesInProgress--;
    if (this.waitingHead < this.waiting.length) this.startWaiting(now);
  }

  private startWaiting(now: number): void {
    const w = this.waiting;
    while (this.handshakesInProgress < this.config.maxHandshakesInProgress && this.waitingHead < w.length) {
      const rs = w[this.waitingHead];
      w[this.waitingHead++] = undefined as unknown as RoutingState;
      // Skip sessions that went away (timeout, SetStateLifetime 0) while they waited.
      if (!rs.has(FWD) || rs.phase(FWD) !== Phase.Queued || !rs.live) continue;
      rs.setPhase(FWD, Phase.AwaitingResponse);
      this.takeSlot(rs);
      // Piggyback the first queued unreliable message on the Query when it fits (s4.4.1).
      const q = rs.queue(FWD);
      const first = q !== undefined && q.length > 0 && !q[0].reliable ? q[0] : undefined;
      if (first !== undefined && this.sendQuery(now, rs, first)) {
        q!.shift();
        if (q!.length === 0) rs.setQueue(FWD, undefined);
      } else {
        this.sendQuery(now, rs, undefined);
      }
      this.armState(rs);
    }
    if (this.waitingHead >= w.length) {
      if (w.length > 0) {
        w.length = 0;
        this.waitingHead = 0;
      }
    } else if (this.waitingHead > 1024 && this.waitingHead * 2 > w.length) {
      w.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
  }

  setStateLifetime(now: number, nslpId: NslpId, mri: Mri, sessionId: SessionId | undefined, lifetimeMs: number): void {
    if (sessionId !== undefined) {
      const rs = this.getRow(rowKey(nslpId, sessionId, mri, false));
      if (rs !== undefined) this.setHalfLifetime(now, rs, lastHalf(), lifetimeMs);
      return;
    }
    // Key layout (keys.ts): NSLPID (2) | SID (16) | MRI.
    const suffix = rowMriKeyPart(mri);
    const h = lastHalf();
    const prefix = nslpKeyPart(nslpId);
    const targets: RoutingState[] = [];
    for (const [k, rs] of this.states) if (k.length === 18 + suffix.length && k.startsWith(prefix) && k.endsWith(suffix)) targets.push(rs);
    for (const rs of targets) this.setHalfLifetime(now, rs, h, lifetimeMs);
  }

  /** B.5 for the half named by the MRI's direction; only the FWD querier uses the lifetime (Inactive_QNode, s6.2). */
  private setHalfLifetime(now: number, rs: RoutingState, h: Half, lifetimeMs: number): void {
    if (!rs.has(h)) return;
    if (lifetimeMs <= 0) {
      // B.5: no further interest: stop refreshing (s4.4.4 "MUST NOT refresh ... known to be inactive").
      this.removeHalf(now, rs, h, 'timeout');
      return;
    }
    if (h !== FWD) return;
    rs.lifetimeMs = lifetimeMs;
    if (rs.isQuerier(FWD)) rs.inactiveAt = now + lifetimeMs;
    this.armState(rs);
  }

  invalidateRoutingState(now: number, req: InvalidateRoutingStateRequest): void {
    const suffix = rowMriKeyPart(req.mri);
    // Only FWD halves query: an MRI in the other direction names no state we could rediscover.
    if (lastHalf() !== FWD) return;
    for (const rs of [...this.states.values()]) {
      if (req.nslpId !== undefined && keyNslpId(rs.key) !== req.nslpId) continue;
      if (rs.key.length !== 18 + suffix.length || !rs.key.endsWith(suffix) || !rs.isQuerier(FWD)) continue;
      // B.6: the NSLP believes the route is bad: rediscover, now if urgent, else with the next message.
      rs.stale = true;
      if (req.urgent && rs.phase(FWD) === Phase.Established) {
        rs.setPhase(FWD, Phase.AwaitingRefresh);
        this.startHandshake(now, rs);
      }
    }
  }

  // ------------------------------------------------------------------ querier: Query / Response / Confirm

  /** Opens the FWD half of the row for `key` as a Querier (only the Q-mode direction queries). */
  private newQuerier(now: number, key: string, phase: Phase): RoutingState {
    const rs = this.row(key);
    rs.open(FWD, Role.Querier, phase);
    rs.inactiveAt = now + this.config.defaultStateLifetimeMs;
    return rs;
  }

  /** Random bytes drawn 64 at a time (one call into the injected source per 16 values). */
  private randomPool: Uint8Array = EMPTY;
  private randomUsed = 0;

  /** A random 32-bit value as int32 (a Smi: no heap number in the state). */
  private randomI32(): number {
    if (this.randomUsed + 4 > this.randomPool.length) {
      this.randomPool = this.config.randomBytes(64);
      this.randomUsed = 0;
      if (this.randomPool.length < 4) throw new RangeError('GistNodeConfig.randomBytes returned fewer bytes than asked for');
    }
    const b = this.randomPool;
    const i = this.randomUsed;
    this.randomUsed = i + 4;
    return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
  }

  /** Starts (or restarts) a Query exchange with new cookies (s5.3.3). */
  private startHandshake(now: number, rs: RoutingState): void {
    rs.queriesSent = 0;
    this.sendQuery(now, rs, undefined);
    this.armState(rs);
  }

  /**
   * Per IP version (index 4 / 6): the index in config.addresses of the first address of that
   * version (else 0), used when routing does not tell (s5.2.2: "a global address of the same IP
   * version as in the MRI"); and whether there is a choice at all (more than one address of the
   * version and a hook to ask), so that single-address nodes never pay for the hook.
   */
  private readonly defaultAddressIndex: number[] = new Array<number>(7).fill(0);
  private readonly addressChoice: boolean[] = new Array<boolean>(7).fill(false);

  /**
   * The index in config.addresses of the interface address for a message of IP version `v`
   * whose next hop is towards `destination`. s5.2.2: the NLI interface-address must be routable
   * back to us and, in a Query or Confirm, bound to the interface that carries the outbound
   * flow; a NAT or multihomed node picks by route, not by list order. The driver's routing
   * answers (interfaceAddressFor); an unknown or foreign answer falls back to the first address
   * of the version.
   */
  private addressIndex(destination: string, v: IpVersion): number {
    if (!this.addressChoice[v]) return this.defaultAddressIndex[v];
    const a = this.config.interfaceAddressFor!(destination, v);
    if (a === undefined) return this.defaultAddressIndex[v];
    const i = this.config.addresses.indexOf(a);
    return i >= 0 && (v === 6) === a.includes(':') ? i : this.defaultAddressIndex[v];
  }

  private ipVersionOf(address: string): IpVersion {
    return address.includes(':') ? 6 : 4;
  }

  /** NLI objects are immutable and few (per interface address and IP-TTL value): built once. */
  private readonly nliCache = new Map<number, NetworkLayerInformation>();
  /**
   * The same NLIs as whole TLVs, for the message writer (wire.ts), at (index of the interface
   * address in config.addresses) * 256 + IP-TTL: a dense array made at its full size (an index far
   * out on an empty array made the engine keep it as a dictionary, a hash lookup on every message).
   */
  private readonly nliTlvCache: (Uint8Array | undefined)[];
  /** Our IP source per address index, as a TransportAddress (immutable, shared by every transmit). */
  private readonly sourceCache: (TransportAddress | undefined)[];

  /** `ai`: index of the interface address in config.addresses (addressIndex). */
  private ourNli(ai: number, ipTtl: number): NetworkLayerInformation {
    const k = ai * 256 + (ipTtl & 0xff);
    const hit = this.nliCache.get(k);
    if (hit !== undefined) return hit;
    const interfaceAddress = this.config.addresses[ai];
    const nli: NetworkLayerInformation = {
      peerIdentity: this.config.peerIdentity,
      ipTtl,
      ipVersion: this.ipVersionOf(interfaceAddress),
      interfaceAddress,
      routingStateValidityTime: this.config.routingStateValidityMs,
    };
    this.nliCache.set(k, nli);
    return nli;
  }

  private nliTlv(ai: number, ipTtl: number): Uint8Array {
    const k = ai * 256 + (ipTtl & 0xff);
    let t = this.nliTlvCache[k];
    if (t === undefined) this.nliTlvCache[k] = t = encodeObject(nliCodec, this.ourNli(ai, ipTtl));
    return t;
  }

  /** s5.2.2: with S=1 the IP source must be the NLI interface-address, so both come from the same index. */
  private source(ai: number): TransportAddress {
    let s = this.sourceCache[ai];
    if (s === undefined) this.sourceCache[ai] = s = { address: this.config.addresses[ai], port: this.config.udpPort };
    return s;
  }

  private header(type: GistMessage['type'], nslpId: NslpId, f: { c?: boolean; s?: boolean; r?: boolean; e?: boolean; hops?: number }): GistCommonHeader {
    return {
      version: 1,
      gistHopCount: f.hops ?? this.config.initialGistHopCount,
      messageType: MessageType[type],
      nslpId,
      cFlag: f.c ?? false,
      sFlag: f.s ?? true,
      rFlag: f.r ?? false,
      eFlag: f.e ?? false,
    };
  }

  private queryStackCache: { stackProposal: StackProposal; stackConfigurationData: StackConfigurationData } | undefined;
  private responseStackCache: { stackProposal: StackProposal; stackConfigurationData: StackConfigurationData } | undefined;
  private queryStackTlvCache: Uint8Array | undefined;
  private responseStackTlvCache: Uint8Array | undefined;
  private confirmScdTlvCache: Uint8Array | undefined;

  private queryStack(): { stackProposal: StackProposal; stackConfigurationData: StackConfigurationData } {
    // s5.7.2: Forwards-TCP; in a Query its MA-protocol-options carry no data.
    return (this.queryStackCache ??= {
      stackProposal: { profiles: [[MaProtocolId.ForwardsTcp]] },
      stackConfigurationData: {
        maHoldTime: this.config.maHoldTimeMs,
        maProtocolOptions: [{ maProtocolId: MaProtocolId.ForwardsTcp, profile: 0, doNotUse: false, data: EMPTY }],
      },
    });
  }

  private responseStack(): { stackProposal: StackProposal; stackConfigurationData: StackConfigurationData } {
    // s5.7.2: in a Response, the port the connection will be accepted on + 2 pad bytes.
    const data = new Uint8Array([this.config.tcpPort >> 8, this.config.tcpPort & 0xff, 0, 0]);
    return (this.responseStackCache ??= {
      stackProposal: { profiles: [[MaProtocolId.ForwardsTcp]] },
      stackConfigurationData: {
        maHoldTime: this.config.maHoldTimeMs,
        maProtocolOptions: [{ maProtocolId: MaProtocolId.ForwardsTcp, profile: 0, doNotUse: false, data }],
      },
    });
  }

  private static stackTlvs(st: { stackProposal: StackProposal; stackConfigurationData: StackConfigurationData }): Uint8Array {
    const sp = encodeObject(stackProposalCodec, st.stackProposal);
    const scd = encodeObject(stackConfigurationDataCodec, st.stackConfigurationData);
    const out = new Uint8Array(sp.length + scd.length);
    out.set(sp, 0);
    out.set(scd, sp.length);
    return out;
  }

  private queryStackTlvs(): Uint8Array {
    return (this.queryStackTlvCache ??= GistNode.stackTlvs(this.queryStack()));
  }

  private responseStackTlvs(): Uint8Array {
    return (this.responseStackTlvCache ??= GistNode.stackTlvs(this.responseStack()));
  }

  /**
   * s5.8.1.2: with 'flow' addressing the first two Queries of a handshake use the flow source
   * (S=0); later retransmissions switch to our own address (S=1), so that ICMP and GIST errors
   * about them can reach us. A loose-end MRI's source is this node's own address anyway.
   */
  private flowSourced(rs: RoutingState): boolean {
    return this.config.qmodeSourceAddressing === 'flow' && rs.queriesSent < 2;
  }

  /** s5.3.3: the retransmission interval after the Query just sent: T1, doubling per retransmission. */
  private retransmitInterval(rs: RoutingState): number {
    // Integer arithmetic (not **, which yields a double): the deadline fields stay small integers, unboxed.
    const n = rs.queriesSent - 1;
    return this.config.t1Ms * (n <= 0 ? 1 : 1 << Math.min(n, 30));
  }

  /**
   * Sends the next Query of the handshake, with `p` piggybacked when given
   * (then `rs.inQuery` is `p`, or, when the rate limiter dropped the Query,
   * undefined and `p` reported failed: s5.3.3 "dropped with an error condition
   * indicated back to local signalling applications"; the handshake goes on
   * with the retransmission timer, as after a lost Query).
   * Returns false (and sends nothing) when the payload would make it too big
   * for D-mode (s4.3.3: message + 64-byte allowance <= min(MTU, 576)).
   * `mri`: the state's MRI when the caller has it (else decoded from the key).
   */
  private sendQuery(now: number, rs: RoutingState, p: Pending | undefined, mri?: Mri): boolean {
    if (rs.queriesSent === 0) {
      rs.cookieHi = this.randomI32();
      rs.cookieLo = this.randomI32();
    }
    const key = rs.key;
    const v = keyIpVersion(key);
    // Queries go in the Q-mode direction (FWD): downstream / towards the edge.
    const down = true;
    const stack = rs.wantMa ? this.queryStackTlvs() : undefined;
    const m = mri ?? keyMri(key);
    // s5.2.2: a Query names the interface towards the flow (it goes to the MRI destination, s5.8.1.2);
    // a downstream message carries the IP TTL it is sent with.
    const ai = this.addressIndex(m.destinationAddress, v);
    const nli = this.nliTlv(ai, this.config.qmodeIpTtl);
    const nslpData = p?.nslpData;
    if (p !== undefined && 4 + queryLength(key, nli, stack, nslpData) + DMODE_ALLOWANCE > Math.min(this.config.mtu, DMODE_LIMIT)) return false;
    const flowSource = this.flowSourced(rs);
    const bytes = writeQuery(key, p?.gistHopCount ?? this.config.initialGistHopCount, !flowSource, nli, rs.cookieHi, rs.cookieLo, rs.queriesSent, stack, nslpData);
    rs.queriesSent++;
    this.stats.queriesSent++;
    const dscp = m.mrm === 'path-coupled' ? m.dsField : undefined;
    const flowLabel = m.mrm === 'path-coupled' ? m.flowLabel : undefined;
    const sent = this.transmitUdp(now, {
      kind: 'udp',
      source: flowSource ? { address: m.sourceAddress, port: this.config.udpPort } : this.source(ai),
      // s5.8.1.2 / s5.8.2.2: Q-mode goes to the flow (MRI) destination, port 270.
      destination: { address: m.destinationAddress, port: this.config.qmodePort },
      ipVersion: v,
      bytes,
      qmode:
        dscp === undefined && flowLabel === undefined
          ? this.qmodeInfo(keyNslpId(key), v, down)
          : { routerAlert: this.config.routerAlertFor(keyNslpId(key), v), ipTtl: down ? this.config.qmodeIpTtl : 255, dscp, flowLabel, dontFragment: true },
    }, rs);
    if (p !== undefined) {
      rs.inQuery = sent ? p : undefined;
      if (!sent) this.status(now, p, 'transport-failure', RATE_LIMIT_DROP);
    }
    rs.nextQueryAt = now + this.retransmitInterval(rs);
    if (rs.phase(FWD) === Phase.Established) rs.setPhase(FWD, Phase.AwaitingRefresh);
    return true;
  }

  private qmodeCache = new Map<number, QmodeTransmit>();

  /** Q-mode encapsulation of a Query without DSCP / flow label: a few per node, shared. */
  private qmodeInfo(nslpId: NslpId, v: IpVersion, down: boolean): QmodeTransmit {
    const k = nslpId * 16 + v * 2 + (down ? 1 : 0);
    let q = this.qmodeCache.get(k);
    if (q === undefined) {
      q = { routerAlert: this.config.routerAlertFor(nslpId, v), ipTtl: down ? this.config.qmodeIpTtl : 255, dscp: undefined, flowLabel: undefined, dontFragment: true };
      this.qmodeCache.set(k, q);
    }
    return q;
  }

  private onQueryTimeout(now: number, rs: RoutingState): void {
    // s5.3.3: binary exponential backoff from T1; give up once the interval would exceed T2.
    const next = this.retransmitInterval(rs) * 2;
    const queued = rs.queue(FWD)?.[0]?.giveUpAt;
    if (next > this.config.t2Ms || (queued !== undefined && now >= queued)) {
      rs.nextQueryAt = NEVER;
      if (rs.phase(FWD) === Phase.AwaitingRefresh) {
        // The peer stopped answering: report the route as bad (s7.1, B.4) and purge the state.
        const old = rs.peer0?.handle;
        this.notify(now, rs, FWD, { kind: 'routing-status-change', status: 'bad', siiHandle: old });
        this.removeHalf(now, rs, FWD, 'timeout');
      } else {
        this.removeHalf(now, rs, FWD, 'timeout');
      }
      return;
    }
    if (this.rlHead < this.rlQueue.length && this.rlQueries.has(rs)) {
      // s5.3.3 lets the rate limiter prioritise new messages over retransmissions: while this
      // handshake's last Query still waits for tokens, another copy would only lengthen the queue
      // (and every handshake behind it). Back off as if it had been sent, so giving up stays on time.
      rs.queriesSent++;
      rs.nextQueryAt = now + this.retransmitInterval(rs);
      return;
    }
    this.sendQuery(now, rs, rs.inQuery);
  }

  /**
   * The row key of the state a received message belongs to, its MRI inverted (s5.1); the half
   * (the direction in which we answer) is left for lastHalf(): read it before any other key is built.
   */
  private rxKey(msg: ResponseMessage | ConfirmMessage | DataMessage | QueryMessage, raw: Uint8Array | undefined): string {
    return (raw !== undefined ? rowKeyFromDatagram(raw, true) : undefined) ?? rowKey(msg.header.nslpId, msg.sessionId, msg.mri, true);
  }

  private rxResponse(now: number, msg: ResponseMessage, ctx: RxContext, raw?: Uint8Array): void {
    const key = this.rxKey(msg, raw);
    const h = lastHalf();
    const rs = this.getRow(key);
    // s4.4.6: a Response nobody asked for is dropped without an error. Only FWD halves query.
    if (rs === undefined || h !== FWD || !rs.isQuerier(FWD)) {
      this.stats.dropped++;
      return;
    }
    const n = matchQueryCookie(msg.queryCookie, rs.cookieHi, rs.cookieLo);
    if (n === undefined || n >= rs.queriesSent) {
      this.stats.invalidCookies++;
      return;
    }
    const viaMa = ctx.via === 'ma' ? ctx.ma : undefined;
    const nli = msg.nli;
    const peer = this.peerFor(nli.peerIdentity, nli.interfaceAddress, ctx.via === 'udp' ? ctx.remote.port : (viaMa?.peer?.udpPort ?? this.config.qmodePort));
    const ma0 = rs.ma(FWD);
    if (rs.phase(FWD) === Phase.Established && rs.peer0 === peer) {
      // A second Response to a retransmitted Query of a handshake that already completed (s5.3.3):
      // not a new handshake. Confirm again (our first Confirm may be lost: RFC 5972 querier
      // transition 17) and pass on its NSLP data, but install and count nothing.
      this.stats.duplicateResponses++;
      if (msg.header.rFlag) this.sendConfirm(now, rs, msg, peer, ma0 !== undefined && ma0.phase !== MaPhase.Closed ? ma0 : undefined, false);
      if (msg.nslpData !== undefined) this.deliver(now, msg, ctx, rs, FWD, false);
      return;
    }
    const previous = rs.peer0;
    const wasEstablished = rs.phase(FWD) !== Phase.AwaitingResponse;
    // The Response came back upstream to us (FWD is the Q-mode direction): the hops it measured.
    if (ctx.via === 'udp' && ctx.ipTtl !== undefined && nli.ipTtl !== 0) rs.setIpHops(FWD, Math.max(0, nli.ipTtl - ctx.ipTtl));
    this.bindPeer(rs, FWD, peer);
    if (rs.inQuery !== undefined) {
      this.status(now, rs.inQuery, undefined);
      rs.inQuery = undefined;
    }
    rs.stale = false;
    rs.setPhase(FWD, Phase.Established);
    // s4.4.4: refresh between 1/2 and 3/4 of the validity time, chosen randomly.
    const validity = nli.routingStateValidityTime;
    rs.expire0 = now + validity;
    rs.nextQueryAt = now + Math.floor(validity * (0.5 + 0.25 * ((this.randomI32() >>> 0) / 4294967296)));
    if (rs.inactiveAt === NEVER) rs.inactiveAt = now + this.lifetimeOf(rs);

    // MA selection (s4.4.3, s5.7): reuse the MA the Response came over, else an existing one to this peer,
    // else set one up if the responder offered Forwards-TCP and we want C-mode.
    let ma: MessagingAssociation | undefined = viaMa;
    let newMa = false;
    if (ma === undefined && msg.stackProposal !== undefined && msg.stackConfigurationData !== undefined) {
      ma = peer.ma !== undefined && peer.ma.phase !== MaPhase.Closed ? peer.ma : undefined;
      if (ma === undefined && rs.wantMa) {
        const port = this.tcpPortFrom(msg.stackProposal, msg.stackConfigurationData);
        if (port !== undefined) {
          ma = this.openMa(now, peer, { address: nli.interfaceAddress, port }, msg.stackConfigurationData.maHoldTime);
          newMa = true;
        }
      }
    }
    if (ma !== undefined) this.bindMa(rs, FWD, ma);
    else if (rs.ma(FWD) !== undefined && ctx.via === 'udp' && msg.stackProposal === undefined) this.unbindMa(rs, FWD);

    if (msg.header.rFlag) this.sendConfirm(now, rs, msg, peer, ma, newMa);
    this.stats.handshakesCompleted++;
    this.releaseSlot(now, rs);
    rs.recent = undefined;
    if (msg.nslpData !== undefined) this.deliver(now, msg, ctx, rs, FWD, false);
    if (wasEstablished && previous !== undefined && previous !== peer) {
      // s7.1.2: the refresh found a different peer: the route changed.
      this.notify(now, rs, FWD, { kind: 'routing-status-change', status: 'good', siiHandle: peer.handle, previousSiiHandle: previous.handle });
    }
    if (previous !== undefined && previous !== peer) this.releasePeer(previous);
    this.flushQueue(now, rs, FWD);
    this.armState(rs);
  }

  private sendConfirm(now: number, rs: RoutingState, msg: ResponseMessage, peer: Peer, ma: MessagingAssociation | undefined, newMa: boolean): void {
    // s5.1: in C-mode echo the Stack-Proposal; the first Confirm on a new MA carries the abbreviated SCD.
    const echo = ma !== undefined && msg.stackProposal !== undefined && msg.responderCookie !== undefined;
    let stack: Uint8Array | undefined;
    if (echo) {
      const sp = encodeObject(stackProposalCodec, msg.stackProposal!);
      if (newMa) {
        const scd = (this.confirmScdTlvCache ??= encodeObject(stackConfigurationDataCodec, { maHoldTime: this.config.maHoldTimeMs, maProtocolOptions: [] }));
        stack = new Uint8Array(sp.length + scd.length);
        stack.set(sp, 0);
        stack.set(scd, sp.length);
      } else stack = sp;
    }
    const v = keyIpVersion(rs.key);
    // s5.2.2: a Confirm, like the Query, names the interface of the outbound flow (the same
    // address as our Query: the Responder-Cookie binds the Query's NLI, s8.5 "Binding").
    const ai = this.addressChoice[v] ? this.addressIndex(keyMri(rs.key).destinationAddress, v) : this.defaultAddressIndex[v];
    // Sent by the FWD querier, downstream: no hop count to report (s5.2.2).
    const nli = this.nliTlv(ai, 0);
    this.stats.confirmsSent++;
    const hops = this.config.initialGistHopCount;
    if (ma !== undefined) this.sendOnMa(now, ma, writeConfirm(false, rs.key, hops, nli, msg.responderCookie, stack, undefined));
    // A Confirm the rate limiter drops is as if lost: the responder's Response retransmission or our next Data recovers (s5.3.3, s4.4.6).
    else this.sendDmode(now, peer, ai, writeConfirm(true, rs.key, hops, nli, msg.responderCookie, stack, undefined));
  }

  private tcpPortFrom(sp: StackProposal, scd: StackConfigurationData): number | undefined {
    const idx = sp.profiles.findIndex((p) => p.length === 1 && p[0] === MaProtocolId.ForwardsTcp);
    if (idx < 0) return undefined;
    const opt = scd.maProtocolOptions.find(
      (o) => o.maProtocolId === MaProtocolId.ForwardsTcp && (o.profile === 0 || o.profile === idx + 1) && !o.doNotUse && o.data.length >= 2,
    );
    if (opt === undefined) return undefined;
    return (opt.data[0] << 8) | opt.data[1];
  }

  // ------------------------------------------------------------------ responder: Query / Confirm

  private rxQuery(now: number, msg: QueryMessage, ctx: RxContext, raw: Uint8Array, intercepted: boolean): DatagramDisposition {
    if (ctx.via !== 'udp') {
      this.replyError(now, ctx, msg, ErrorCode.IncorrectEncapsulation, 0, []);
      return CONSUME;
    }
    this.stats.queriesReceived++;
    const mri = msg.mri;
    const atEndpoint = this.config.addresses.includes(mri.destinationAddress) || !intercepted;
    if (!this.nslps.has(msg.header.nslpId)) {
      // s4.3.4 case 5: a Query reached a flow endpoint that does not run the NSLP.
      this.replyError(now, ctx, msg, atEndpoint ? ErrorCode.EndpointFound : ErrorCode.UnknownNslpid, 0, []);
      return CONSUME;
    }
    // s5.8.1.2 MRI validation of Q-mode Queries.
    if (mri.ipVersion !== this.ipVersionOf(ctx.remote.address)) {
      this.replyError(now, ctx, msg, ErrorCode.MriValidationFailure, 1, this.mriValueInfo(msg));
      return CONSUME;
    }
    if (mri.mrm === 'path-coupled') {
      if (this.config.ingressFilter !== undefined && !this.config.ingressFilter(mri.sourceAddress, mri.sourcePrefix, ctx.iface)) {
        this.replyError(now, ctx, msg, ErrorCode.MriValidationFailure, 2, this.mriValueInfo(msg));
        return CONSUME;
      }
      // s5.8.1.3: an upstream Query must come from one IP hop away (TTL set to 255 by the sender).
      if (mri.direction === 'upstream' && ctx.ipTtl !== undefined && ctx.ipTtl < 254) {
        this.replyError(now, ctx, msg, ErrorCode.InvalidIpLayerTtl, 0, []);
        return CONSUME;
      }
    }
    const peer = this.candidate(msg.nli.peerIdentity, msg.nli.interfaceAddress, ctx.remote.port);
    const ipDistance = ctx.ipTtl !== undefined && msg.nli.ipTtl !== 0 && isDownstream(mri) ? Math.max(0, msg.nli.ipTtl - ctx.ipTtl) : 0;

    // The reply direction's key: the Response carries the Query's MRI inverted (s5.1).
    const key = this.rxKey(msg, raw);
    const h = lastHalf();
    // s4.3.2: ask the NSLP whether to peer (the payload is delivered as a side effect).
    const ev: RecvMessageEvent = {
      now,
      nslpData: msg.nslpData ?? EMPTY,
      nslpId: msg.header.nslpId,
      sessionId: msg.sessionId,
      mri,
      routingStateCheck: true,
      siiHandle: peer.handle,
      transfer: this.config.addresses.length > 0 && mri.sourceAddress === msg.nli.interfaceAddress ? TRANSFER_QUERY_FROM_ENDPOINT : TRANSFER_QUERY,
      ipTtl: ctx.ipTtl,
      ipDistance,
      gistHopCount: msg.header.gistHopCount - 1,
      inboundInterface: ctx.iface,
    };
    // No datagram is handled from inside a listener, so this never nests; if it did, the inner Query captures nothing.
    const c = this.capture;
    const capturing = !c.active;
    if (capturing) {
      c.active = true;
      c.key = key;
      c.half = h;
      c.peerHandle = peer.handle;
    }
    let replyReq: SendMessageRequest | undefined;
    let reply: Pending | undefined;
    try {
      this.events.emit('recvMessage', ev);
    } catch (e) {
      if (capturing) {
        // A listener failed: what it sent before failing still goes out (as it did before Responses carried it).
        const r = c.req;
        c.active = false;
        c.req = undefined;
        c.p = undefined;
        if (r !== undefined) this.sendMessage(now, r);
      }
      throw e;
    }
    if (capturing) {
      replyReq = c.req;
      reply = c.p;
      c.active = false;
      c.req = undefined;
      c.p = undefined;
    }
    const accept = atEndpoint || (ev.peering?.accept ?? true);
    if (reply !== undefined && (!accept || ev.peering?.payload !== undefined)) {
      // No Response to carry it (the Query goes on), or its one NSLP-Data object is taken: a Data message of its own.
      this.sendMessage(now, replyReq!);
      reply = undefined;
    }
    if (!accept) {
      // s4.3.2 option 2: propagate the Query, unchanged but for the hop count and the NSLP payload.
      if (msg.header.gistHopCount <= 1) {
        this.replyError(now, ctx, msg, ErrorCode.HopLimitExceeded, 0, []);
        return CONSUME;
      }
      const tooWild = mri.mrm === 'path-coupled' && mri.destinationPrefix < (mri.ipVersion === 4 ? this.config.minDestinationPrefix.v4 : this.config.minDestinationPrefix.v6);
      if (tooWild) {
        this.replyError(now, ctx, msg, ErrorCode.MriValidationFailure, 0, this.mriValueInfo(msg));
        return CONSUME;
      }
      if (raw.length + 28 > this.config.mtu) {
        this.replyError(now, ctx, msg, ErrorCode.MessageTooLarge, 0, [{ kind: 'MtuInfo', linkMtu: this.config.mtu }]);
        return CONSUME;
      }
      this.stats.queriesForwarded++;
      if (ev.peering?.payload === undefined) {
        const copy = raw.slice();
        copy[5] = msg.header.gistHopCount - 1;
        return { kind: 'forward', payload: copy };
      }
      // A.2.1: unknown AB=10 objects go on unchanged, AB=01 ones are dropped.
      const fwd: QueryMessage = {
        ...msg,
        header: { ...msg.header, gistHopCount: msg.header.gistHopCount - 1 },
        nslpData: ev.peering.payload,
        unknownObjects: unknownObjectsToForward(msg),
      };
      return { kind: 'forward', payload: encodeGistDatagram(fwd) };
    }

    // Peering: answer with a Response (s4.4.1). With delayed state installation nothing is stored here
    // (an established state stays usable until its expiry; the Confirm refreshes it, s6.3), unless the
    // Query refreshes state of the peer it names (see confirmRefreshes).
    const wantsMa = msg.stackProposal !== undefined && msg.stackConfigurationData !== undefined;
    const reuse = wantsMa ? this.liveMaTo(msg.nli.peerIdentity, msg.nli.interfaceAddress) : undefined;
    const offerMa = wantsMa && reuse === undefined;
    const refreshOnQuery = this.config.confirmRequired && !this.config.confirmRefreshes && this.isRefreshFromPeer(key, h, msg.nli, ctx);
    const confirmRequired = offerMa || (this.config.confirmRequired && !refreshOnQuery);
    const responderCookie = confirmRequired
      ? this.cookies.mint(now, { stateKey: key, half: h, peerIdentity: msg.nli.peerIdentity, interfaceAddress: msg.nli.interfaceAddress, maOffered: offerMa })
      : undefined;
    const stack = offerMa ? this.responseStackTlvs() : undefined;
    const v = keyIpVersion(key);
    // s5.2.2: the Response goes back to the querier's NLI address: name the interface towards it
    // (S=1: it is also the IP source); sent upstream: report the measured IP hop count.
    const ai = this.addressIndex(msg.nli.interfaceAddress, v);
    const nli = this.nliTlv(ai, ipDistance);
    const hops = this.config.initialGistHopCount;
    this.stats.responsesSent++;
    const rev = h === REV;
    if (reply !== undefined && reuse === undefined) {
      // D-mode: the Response with the reply must stay within the size limit (s4.3.3), else the reply goes alone.
      const len = responseLength(key, nli, msg.queryCookie, responderCookie, stack, reply.nslpData);
      if (4 + len + DMODE_ALLOWANCE > Math.min(this.config.mtu, DMODE_LIMIT)) {
        this.sendMessage(now, replyReq!);
        reply = undefined;
      }
    }
    const payload = reply !== undefined ? reply.nslpData : ev.peering?.payload;
    if (reuse !== undefined) this.sendOnMa(now, reuse, writeResponse(false, key, rev, hops, confirmRequired, nli, msg.queryCookie, responderCookie, stack, payload));
    else if (!this.sendDmodeTo(now, { address: msg.nli.interfaceAddress, port: ctx.remote.port }, ai, writeResponse(true, key, rev, hops, confirmRequired, nli, msg.queryCookie, responderCookie, stack, payload))) {
      // s5.3.3: dropped by the rate limiter; the querier's retransmitted Query gets another Response.
      if (reply !== undefined) this.status(now, reply, 'transport-failure', RATE_LIMIT_DROP);
      reply = undefined;
    }
    if (reply !== undefined) this.status(now, reply, undefined);
    if (!confirmRequired) {
      // s6.3 case 1: no Confirm needed; install (or refresh) the state now.
      this.installResponder(now, key, h, msg.nli, ctx.remote.port, undefined, ipDistance);
    }
    return CONSUME;
  }

  private installResponder(
    now: number,
    key: string,
    h: Half,
    nli: NetworkLayerInformation,
    udpPort: number,
    ma: MessagingAssociation | undefined,
    ipHops: number,
  ): RoutingState {
    let rs = this.getRow(key);
    const peer = this.peerFor(nli.peerIdentity, nli.interfaceAddress, udpPort);
    let previous: Peer | undefined;
    let wasEstablished = false;
    if (rs === undefined || !rs.has(h) || rs.role(h) !== Role.Responder) {
      // A Query for the direction we were querying in: the peer took the lead (the other half stays).
      if (rs !== undefined && rs.has(h)) this.removeHalf(now, rs, h, undefined);
      rs = this.row(key);
      rs.open(h, Role.Responder, Phase.Established);
    } else {
      previous = rs.peer(h);
      wasEstablished = rs.phase(h) === Phase.Established;
    }
    rs.setPhase(h, Phase.Established);
    this.bindPeer(rs, h, peer);
    const bound = rs.ma(h);
    if (ma !== undefined) this.bindMa(rs, h, ma);
    else if (bound !== undefined && bound.peer !== peer) this.unbindMa(rs, h);
    if (ipHops > 0) rs.setIpHops(h, ipHops);
    // s4.4.4: the state lives for the validity time we advertised, unless refreshed.
    rs.setExpireAt(h, now + this.config.routingStateValidityMs);
    if (wasEstablished && previous !== undefined && previous !== peer) {
      this.notify(now, rs, h, { kind: 'routing-status-change', status: 'good', siiHandle: peer.handle, previousSiiHandle: previous.handle });
    }
    if (previous !== undefined && previous !== peer) this.releasePeer(previous);
    this.flushQueue(now, rs, h);
    this.armState(rs);
    return rs;
  }

  private rxConfirm(now: number, msg: ConfirmMessage, ctx: RxContext, raw?: Uint8Array): void {
    const ma = ctx.via === 'ma' ? ctx.ma : undefined;
    if (ma === undefined && msg.stackProposal !== undefined) {
      // A.4.4.3: the Confirm of a handshake that sets up an MA arrived in D-mode.
      this.replyError(now, ctx, msg, ErrorCode.IncorrectEncapsulation, 0, []);
      return;
    }
    // The Confirm carries the Query's MRI (s5.1): our reply direction is its inverse.
    const key = this.rxKey(msg, raw);
    const h = lastHalf();
    const rs = this.getRow(key);
    if (msg.responderCookie === undefined) {
      // Only valid when we did not ask for a Confirm cookie (case 1) and hold the state already.
      if (rs !== undefined && rs.has(h) && rs.role(h) === Role.Responder && rs.phase(h) === Phase.Established) return; // s6.3 rule 10
      this.replyError(now, ctx, msg, ErrorCode.NoRoutingState, 0, []);
      return;
    }
    const binding: CookieBinding = {
      stateKey: key,
      half: h,
      peerIdentity: msg.nli.peerIdentity,
      interfaceAddress: msg.nli.interfaceAddress,
      maOffered: msg.stackProposal !== undefined,
    };
    if (!this.cookies.verify(now, msg.responderCookie, binding)) {
      this.stats.invalidCookies++;
      this.replyError(now, ctx, msg, ErrorCode.ObjectValueError, 4, [this.cookieValueInfo(msg.responderCookie)]);
      if (ma !== undefined && !ma.sawFirstMessage) this.closeMa(now, ma, true);
      return;
    }
    if (ma !== undefined) {
      if (msg.stackProposal !== undefined) {
        // s5.7.1: the echoed Stack-Proposal must be the one we sent (bidding-down protection).
        const ours = this.responseStack().stackProposal;
        const same = msg.stackProposal.profiles.length === ours.profiles.length && msg.stackProposal.profiles.every((p, i) => p.length === ours.profiles[i].length && p.every((x, j) => x === ours.profiles[i][j]));
        if (!same) {
          this.stats.dropped++;
          if (!ma.sawFirstMessage) this.closeMa(now, ma, true);
          return;
        }
      }
      if (!ma.sawFirstMessage) {
        if (msg.stackConfigurationData === undefined) {
          // s4.4.5: the first Confirm on a new MA must repeat the (abbreviated) SCD.
          this.replyError(now, ctx, msg, ErrorCode.ObjectTypeError, 2, [{ kind: 'ObjectTypeInfo', objectType: ObjectType.StackConfigurationData }]);
          return;
        }
        ma.peerHoldMs = msg.stackConfigurationData.maHoldTime;
        ma.sawFirstMessage = true;
        const peer = this.peerFor(msg.nli.peerIdentity, msg.nli.interfaceAddress, ma.peer?.udpPort ?? this.config.qmodePort);
        this.attachMaToPeer(ma, peer);
      }
    }
    this.stats.confirmsAccepted++;
    const udpPort = ctx.via === 'udp' ? ctx.remote.port : (this.peers.get(this.peerKey(msg.nli.peerIdentity, msg.nli.interfaceAddress))?.udpPort ?? this.config.qmodePort);
    const state = this.installResponder(now, key, h, msg.nli, udpPort, ma, 0);
    if (msg.nslpData !== undefined) this.deliver(now, msg, ctx, state, h, false);
  }

  // ------------------------------------------------------------------ Data, Error, MA-Hello

  /** `raw`: the datagram the message was decoded from (D-mode), for building its state key from bytes. */
  private rxMessage(now: number, msg: GistMessage, ctx: RxContext, raw?: Uint8Array): void {
    if (ctx.via === 'ma') {
      // Only signalling traffic counts as use; MA-Hellos alone must let both ends go idle (s6.4 tg_MAIdle).
      if (msg.type !== 'MA-Hello') ctx.ma.lastUseAt = now;
      if (msg.type === 'Query') {
        this.replyError(now, ctx, msg, ErrorCode.IncorrectEncapsulation, 0, []);
        return;
      }
    }
    switch (msg.type) {
      case 'Query':
        return; // handled in handleDatagram
      case 'Response':
        this.rxResponse(now, msg, ctx, raw);
        return;
      case 'Confirm':
        this.rxConfirm(now, msg, ctx, raw);
        return;
      case 'Data':
        this.rxData(now, msg, ctx, raw);
        return;
      case 'Error':
        this.rxError(now, msg, ctx);
        return;
      case 'MA-Hello':
        this.rxHello(now, msg, ctx);
        return;
    }
  }

  private rxData(now: number, msg: DataMessage, ctx: RxContext, raw?: Uint8Array): void {
    this.stats.dataReceived++;
    if (!this.nslps.has(msg.header.nslpId)) {
      // s4.3.4 case 4: directly addressed to a node without the NSLP.
      this.replyError(now, ctx, msg, ErrorCode.UnknownNslpid, 0, []);
      return;
    }
    const row = this.getRow(this.rxKey(msg, raw));
    const h = lastHalf();
    const rs = row !== undefined && row.has(h) ? row : undefined;
    // s4.3.2 validation, in order.
    if (msg.header.eFlag || (msg.header.cFlag && ctx.via === 'udp' && ctx.qmode)) {
      this.deliver(now, msg, ctx, rs, h, true);
      return;
    }
    const ma = rs?.ma(h);
    if (ctx.via === 'ma' && ma !== undefined && ma !== ctx.ma) {
      this.replyError(now, ctx, msg, ErrorCode.IncorrectlyDeliveredMessage, 0, []);
      return;
    }
    if (rs === undefined || rs.phase(h) === Phase.AwaitingConfirm) {
      // s4.4.6: Data needs routing state; tell the peer so that it restarts the handshake.
      this.replyError(now, ctx, msg, ErrorCode.NoRoutingState, 0, []);
      return;
    }
    if (ctx.via === 'ma' && ma === undefined) {
      this.replyError(now, ctx, msg, ErrorCode.IncorrectlyDeliveredMessage, 0, []);
      return;
    }
    if (rs.isQuerier(h)) rs.inactiveAt = now + this.lifetimeOf(rs);
    this.deliver(now, msg, ctx, rs, h, false);
  }

  private rxError(now: number, msg: ErrorMessage, ctx: RxContext): void {
    this.stats.errorsReceived++;
    const e = msg.error;
    // s5.6: never answer an Error. Match it to the state of the message that caused it.
    if (e.mri === undefined || e.sessionId === undefined) return;
    // The Error echoes our message's MRI, which points in our direction of sending (A.4.1).
    if (e.sessionId.length !== 16) return;
    const rs = this.getRow(rowKey(e.commonHeader.nslpId, e.sessionId, e.mri, false));
    const h = lastHalf();
    if (rs === undefined || !rs.has(h)) return;
    const peer = rs.peer(h);
    if (ctx.via === 'udp' && peer !== undefined && msg.nli !== undefined && msg.nli.interfaceAddress !== peer.address && rs.phase(h) === Phase.Established) {
      // An Error from a node that is not our peer about established state: only Query errors come from elsewhere.
      if (e.commonHeader.messageType !== MessageType.Query) return;
    }
    const origType = e.commonHeader.messageType;
    const querier = rs.isQuerier(h);
    if (e.errorCode === ErrorCode.NoRoutingState) {
      if (querier) {
        // s4.4.6: restart the handshake; re-send the Data the peer dropped.
        const lost = rs.recent;
        rs.recent = undefined;
        const horizon = now - 4 * this.config.t1Ms;
        if (lost !== undefined) for (const r of lost) if (r.at >= horizon) this.enqueue(now, rs, FWD, r.p);
        rs.setPhase(FWD, Phase.AwaitingResponse);
        this.startHandshake(now, rs);
      } else {
        this.notify(now, rs, h, { kind: 'routing-status-change', status: 'bad', siiHandle: peer?.handle });
        this.removeHalf(now, rs, h, 'error-from-peer');
      }
      return;
    }
    if (querier && origType === MessageType.Query) {
      if (e.errorCode === ErrorCode.EndpointFound) {
        // The Query reached the flow's end without meeting a node that runs the NSLP (B.4 last-node).
        this.notify(now, rs, FWD, { kind: 'last-node' });
        this.removeHalf(now, rs, FWD, 'no-next-node');
        return;
      }
      this.removeHalf(now, rs, FWD, 'error-from-peer', `${e.errorClass}/${e.errorCode}/${e.errorSubcode}`);
      return;
    }
    if (querier && origType === MessageType.Confirm && e.errorCode === ErrorCode.ObjectValueError && e.errorSubcode === 4) {
      // Our Confirm's Responder-Cookie was refused (e.g. secret rotated): run the handshake again.
      rs.setPhase(FWD, Phase.AwaitingResponse);
      this.startHandshake(now, rs);
    }
  }

  private rxHello(now: number, msg: MaHelloMessage, ctx: RxContext): void {
    if (ctx.via !== 'ma') {
      // MA-Hello is C-mode only (s5.1).
      this.replyError(now, ctx, msg, ErrorCode.IncorrectEncapsulation, 0, []);
      return;
    }
    if (msg.header.rFlag) {
      // s5.2.2: echo the Hello-ID with R=0.
      const reply: MaHelloMessage = { type: 'MA-Hello', header: this.header('MA-Hello', 0, {}), unknownObjects: [], helloId: msg.helloId };
      this.sendOnMa(now, ctx.ma, encodeGistMessage(reply));
    }
  }

  private deliver(now: number, msg: ResponseMessage | ConfirmMessage | DataMessage, ctx: RxContext, rs: RoutingState | undefined, h: Half, unvalidated: boolean): void {
    // B.2: the SII-Handle names the node the message came from, so that an NSLP
    // answer goes back to it. For Data that is the sender (its NLI, or its MA),
    // which differs from the routing state's peer while two upstream nodes both
    // refresh the same state across a route change (s7.1).
    let sii: number;
    const statePeer = rs?.peer(h);
    if (msg.type === 'Data' && msg.nli !== undefined) sii = this.candidate(msg.nli.peerIdentity, msg.nli.interfaceAddress, ctx.via === 'udp' ? ctx.remote.port : this.config.qmodePort).handle;
    else if (msg.type === 'Data' && ctx.via === 'ma' && ctx.ma.peer !== undefined) sii = ctx.ma.peer.handle;
    else if (statePeer !== undefined) sii = statePeer.handle;
    else if (ctx.via === 'ma' && ctx.ma.peer !== undefined) sii = ctx.ma.peer.handle;
    else sii = 0;
    const ev: RecvMessageEvent = {
      now,
      nslpData: msg.nslpData ?? EMPTY,
      nslpId: msg.header.nslpId,
      sessionId: msg.sessionId,
      mri: msg.mri,
      routingStateCheck: false,
      siiHandle: sii,
      transfer: ctx.via === 'ma' ? (unvalidated ? TRANSFER_CMODE_EXPLICIT : TRANSFER_CMODE) : unvalidated ? TRANSFER_DMODE_EXPLICIT : TRANSFER_DMODE,
      ipTtl: ctx.via === 'udp' ? ctx.ipTtl : undefined,
      ipDistance: rs?.ipHops(h) ?? 0,
      gistHopCount: msg.header.gistHopCount - 1,
      inboundInterface: ctx.via === 'udp' ? ctx.iface : undefined,
    };
    this.events.emit('recvMessage', ev);
  }

  // ------------------------------------------------------------------ sending NSLP data

  private enqueue(now: number, rs: RoutingState, h: Half, p: Pending): void {
    let q = rs.queue(h);
    if (q === undefined) rs.setQueue(h, (q = []));
    if (q.length >= this.config.maxQueuedPerState) {
      this.status(now, p, 'transport-failure');
      return;
    }
    q.push(p);
  }

  private sendOnState(now: number, rs: RoutingState, h: Half, p: Pending): void {
    const phase = rs.phase(h);
    const peer = rs.peer(h);
    if (phase === Phase.AwaitingResponse || phase === Phase.AwaitingConfirm || phase === Phase.Queued || peer === undefined) {
      this.enqueue(now, rs, h, p);
      return;
    }
    const querier = rs.isQuerier(h);
    if (querier && rs.stale) {
      // InvalidateRoutingState: rediscover before using the state again.
      rs.stale = false;
      this.enqueue(now, rs, FWD, p);
      rs.setPhase(FWD, Phase.AwaitingRefresh);
      this.startHandshake(now, rs);
      return;
    }
    const key = rs.key;
    const rev = h === REV;
    const ma = rs.ma(h);
    const hops = p.gistHopCount ?? this.config.initialGistHopCount;
    if (ma !== undefined && ma.phase !== MaPhase.Closed) {
      // s4.3.3: once an MA serves this state, use it (congestion control, ordering). s5.1: no NLI in C-mode.
      ma.lastUseAt = now;
      this.sendOnMa(now, ma, writeData(false, key, rev, hops, false, undefined, p.nslpData));
      this.stats.dataSent++;
      if (ma.phase === MaPhase.Connecting) {
        // B.3: report only once the connection is up (or failed).
        if (ma.pendingStatus === undefined) ma.pendingStatus = [];
        ma.pendingStatus.push(p);
      } else this.status(now, p, undefined);
      return;
    }
    const v = keyIpVersion(key);
    // s5.2.2: the interface towards the peer (S=1: the IP source too); upstream (REV) messages
    // report the IP hop count to the peer.
    const ai = this.addressIndex(peer.address, v);
    const nli = this.nliTlv(ai, rev ? rs.ipHops(h) : 0);
    const needsMa = p.reliable || 4 + dataLength(key, nli, p.nslpData) + DMODE_ALLOWANCE > Math.min(this.config.mtu, DMODE_LIMIT);
    if (needsMa) {
      if (querier) {
        // An MA needs the responder's SCD: run a handshake with a Stack-Proposal (s5.7.1).
        rs.wantMa = true;
        this.enqueue(now, rs, FWD, p);
        if (phase === Phase.Established) {
          rs.setPhase(FWD, Phase.AwaitingRefresh);
          this.startHandshake(now, rs);
        }
        return;
      }
      // Responder without an MA: the querier decides on MAs (s5.7.2 opens forwards only).
      this.status(now, p, p.reliable ? 'transport-failure' : 'message-too-large');
      return;
    }
    if (!this.sendDmode(now, peer, ai, writeData(true, key, rev, hops, false, nli, p.nslpData))) {
      this.status(now, p, 'transport-failure', RATE_LIMIT_DROP);
      return;
    }
    this.stats.dataSent++;
    if (querier) {
      // s4.4.6: if our D-mode Confirm was lost, the peer answers this Data with No Routing State within
      // a round trip; keep what was sent in the last 4*T1 (at most 16) to re-send after the new handshake.
      const horizon = now - 4 * this.config.t1Ms;
      let kept = rs.recent;
      if (kept === undefined) rs.recent = kept = [];
      let drop = 0;
      while (drop < kept.length && kept[drop].at < horizon) drop++;
      if (drop > 0) kept.splice(0, drop);
      if (kept.length >= 16) kept.shift();
      kept.push({ p, at: now });
      this.armState(rs);
    }
    this.status(now, p, undefined);
  }

  /** B.1 explicit routing (E=1): Data to a known peer without using local routing state. */
  private sendExplicit(now: number, key: string, h: Half, peer: Peer, p: Pending): void {
    const ma = peer.ma !== undefined && peer.ma.phase !== MaPhase.Closed ? peer.ma : undefined;
    const hops = p.gistHopCount ?? this.config.initialGistHopCount;
    const rev = h === REV;
    if (ma !== undefined) {
      this.sendOnMa(now, ma, writeData(false, key, rev, hops, true, undefined, p.nslpData));
    } else {
      // The NLI of a state with no hop count learnt (as the model this replaced: ipHops 0).
      const ai = this.addressIndex(peer.address, keyIpVersion(key));
      const bytes = writeData(true, key, rev, hops, true, this.nliTlv(ai, 0), p.nslpData);
      if (bytes.length + DMODE_ALLOWANCE > Math.min(this.config.mtu, DMODE_LIMIT)) {
        this.status(now, p, 'message-too-large');
        return;
      }
      if (!this.sendDmode(now, peer, ai, bytes)) {
        this.status(now, p, 'transport-failure', RATE_LIMIT_DROP);
        return;
      }
    }
    this.stats.dataSent++;
    this.status(now, p, undefined);
  }

  private flushQueue(now: number, rs: RoutingState, h: Half): void {
    const q = rs.queue(h);
    if (q === undefined || rs.peer(h) === undefined || rs.phase(h) === Phase.AwaitingResponse || rs.phase(h) === Phase.AwaitingConfirm) return;
    rs.setQueue(h, undefined);
    for (const p of q) {
      if (p.giveUpAt !== undefined && now > p.giveUpAt) {
        this.status(now, p, 'timeout');
        continue;
      }
      this.sendOnState(now, rs, h, p);
    }
  }

  private status(now: number, p: Pending, error: MessageStatusError | undefined, detail?: string): void {
    if (p.handle === undefined) return;
    this.events.emit('messageStatus', {
      now,
      nslpMessageHandle: p.handle,
      transfer: p.reliable ? STATUS_RELIABLE : STATUS_UNRELIABLE,
      error,
      detail,
    });
  }

  /** B.4 about one half of a row: the MRI is given in that half's direction of sending. */
  private notify(now: number, rs: RoutingState, h: Half, notification: Parameters<GistServiceEvents['networkNotification']>[0]['notification']): void {
    this.events.emit('networkNotification', { now, nslpId: keyNslpId(rs.key), mri: keyMri(rs.key, h === REV), sessionId: keySid(rs.key), notification });
  }

  // ------------------------------------------------------------------ transmission helpers

  /**
   * `ai`: the index of the address the message's NLI names (S=1: it is the IP source, s5.2.2).
   * Returns false when the s5.3.3 rate limiter dropped the datagram (see transmitUdp).
   */
  private sendDmode(now: number, peer: Peer, ai: number, bytes: Uint8Array): boolean {
    // The peer's D-mode address, built once (and again only when its port changes).
    let to = peer.dmode;
    if (to === undefined || to.port !== peer.udpPort) peer.dmode = to = { address: peer.address, port: peer.udpPort };
    return this.sendDmodeTo(now, to, ai, bytes);
  }

  /** Returns false when the s5.3.3 rate limiter dropped the datagram (see transmitUdp). */
  private sendDmodeTo(now: number, to: TransportAddress, ai: number, bytes: Uint8Array): boolean {
    return this.transmitUdp(now, { kind: 'udp', source: this.source(ai), destination: to, ipVersion: this.ipVersionOf(to.address), bytes });
  }

  private sendOnMa(now: number, ma: MessagingAssociation, bytes: Uint8Array): void {
    if (ma.phase === MaPhase.Closed) return;
    if (ma.phase === MaPhase.Connecting) {
      if (ma.outQueue === undefined) ma.outQueue = [];
      ma.outQueue.push(bytes);
      return;
    }
    ma.lastTxAt = now;
    this.transmit({ kind: 'tcp-send', connId: ma.connId, bytes });
    this.armMa(now, ma);
  }

  // ------------------------------------------------------------------ errors (s5.6, A.4)

  private originalHeader(h: GistCommonHeader, raw?: Uint8Array): OriginalCommonHeader {
    const messageLength = raw !== undefined && raw.length >= 12 ? (raw[6] << 8) | raw[7] : 0;
    return { ...h, messageLength };
  }

  /** `ai`: the index of our interface address for the NLI of an Error in D-mode; undefined in C-mode. */
  private errorMessage(ai: number | undefined, obj: GistErrorObject): ErrorMessage {
    return {
      type: 'Error',
      header: this.header('Error', 0, {}),
      unknownObjects: [],
      // s5.1: an Error sent in D-mode carries the originator's NLI.
      nli: ai !== undefined ? this.ourNli(ai, 0) : undefined,
      error: obj,
    };
  }

  private sendError(now: number, ctx: RxContext, obj: GistErrorObject, nliAddress: string | undefined, sFlag: boolean): void {
    this.stats.errorsSent++;
    if (ctx.via === 'ma') {
      this.sendOnMa(now, ctx.ma, encodeGistMessage(this.errorMessage(undefined, obj)));
      return;
    }
    // s5.6: to the NLI address of the offending message, else to its IP source if S=1.
    const address = nliAddress ?? (sFlag ? ctx.remote.address : undefined);
    if (address === undefined) return;
    // s5.2.2: our NLI names the interface towards where the Error goes (S=1: its IP source too).
    const ai = this.addressIndex(address, this.ipVersionOf(address));
    this.sendDmodeTo(now, { address, port: ctx.remote.port }, ai, encodeGistDatagram(this.errorMessage(ai, obj)));
  }

  /** Answers a message that decoded with an Error (never in reply to an Error, s5.6). */
  private replyError(now: number, ctx: RxContext, msg: GistMessage, code: number, subcode: number, ai: readonly AdditionalInfo[]): void {
    if (msg.type === 'Error') return;
    const nli = msg.type === 'MA-Hello' ? undefined : msg.nli;
    const sessionId = msg.type === 'MA-Hello' ? undefined : msg.sessionId;
    const mri = msg.type === 'MA-Hello' ? undefined : msg.mri;
    const e = new GistDecodeError({ errorCode: code, subcode, offset: 0, detail: 'core', additionalInfo: ai });
    const obj: GistErrorObject = {
      errorClass: e.errorClass,
      errorCode: code,
      errorSubcode: subcode,
      dMode: ctx.via === 'udp',
      qMode: ctx.via === 'udp' && ctx.qmode,
      commonHeader: this.originalHeader(msg.header, undefined),
      sessionId,
      mri,
      additionalInfo: ai,
    };
    this.sendError(now, ctx, obj, nli?.interfaceAddress, msg.header.sFlag);
  }

  /** s4.3.4: errors of a node that only forwards (only the common header, and for MRI checks the MRI, are looked at). */
  private errorForHeaderOnly(now: number, ctx: RxContext, msg: GistMessage | undefined, code: number): void {
    if (msg === undefined) return; // not decodable: nothing sensible to answer, and it is not ours
    const ai: AdditionalInfo[] = code === ErrorCode.MessageTooLarge ? [{ kind: 'MtuInfo', linkMtu: this.config.mtu }] : [];
    this.replyError(now, ctx, msg, code, 0, ai);
  }

  private replyDecodeError(now: number, ctx: RxContext, e: GistDecodeError): void {
    this.stats.dropped++;
    if (!e.reply || e.commonHeader === undefined) return;
    if (e.commonHeader.messageType === MessageType.Error) return;
    const isHeaderError = e.errorCode === ErrorCode.CommonHeaderParseError;
    const obj: GistErrorObject = {
      errorClass: e.errorClass,
      errorCode: e.errorCode,
      errorSubcode: e.subcode ?? 0,
      dMode: ctx.via === 'udp',
      qMode: ctx.via === 'udp' && ctx.qmode,
      commonHeader: e.commonHeader,
      // A.4.4.1: no MRI / SID for Common Header Parse Errors.
      sessionId: isHeaderError ? undefined : e.sessionId,
      mri: isHeaderError ? undefined : e.mri,
      additionalInfo: e.additionalInfo,
    };
    this.sendError(now, ctx, obj, undefined, e.commonHeader.sFlag);
  }

  private mriValueInfo(msg: QueryMessage): AdditionalInfo[] {
    // A.4.4.12: Object Value Info carrying the MRI object as received.
    const probe: DataMessage = { type: 'Data', header: msg.header, unknownObjects: [], mri: msg.mri, sessionId: msg.sessionId, nslpData: new Uint8Array(4) };
    const bytes = encodeGistMessage({ ...probe, header: { ...msg.header, messageType: MessageType.Data, cFlag: false, rFlag: false } });
    const len = ((((bytes[8 + 2] & 0x0f) << 8) | bytes[8 + 3]) + 1) * 4;
    const object = bytes.slice(8, 8 + len);
    return [{ kind: 'ObjectValueInfo', realObjectLength: len / 4, offset: 0, object }];
  }

  private cookieValueInfo(cookie: Uint8Array): AdditionalInfo {
    const len = 4 + cookie.length;
    const object = new Uint8Array(len);
    const t = ObjectType.ResponderCookie;
    object[0] = (t >> 8) & 0x0f;
    object[1] = t & 0xff;
    object[2] = ((cookie.length / 4) >> 8) & 0x0f;
    object[3] = (cookie.length / 4) & 0xff;
    object.set(cookie, 4);
    return { kind: 'ObjectValueInfo', realObjectLength: len / 4, offset: 4, object };
  }

  // ------------------------------------------------------------------ peers

  private peerKey(peerIdentity: Uint8Array, address: string): string {
    return `${toHex(peerIdentity)}|${address}`;
  }

  /**
   * A known peer with this address and identity, found without building its key text: the last
   * one found, else the one known at that address.
   */
  private cachedPeer(peerIdentity: Uint8Array, address: string): Peer | undefined {
    let c = this.lastPeer;
    if (c === undefined || c.address !== address) c = this.peersByAddress.get(address);
    if (c === undefined || !c.known || !sameBytes(c.peerIdentity, peerIdentity)) return undefined;
    this.lastPeer = c;
    return c;
  }

  private forgetPeer(peer: Peer): void {
    const known = this.peers.get(peer.key);
    if (known !== undefined) known.known = false;
    this.peers.delete(peer.key);
    this.peersByHandle.delete(peer.handle);
    if (this.peersByAddress.get(peer.address) === peer) this.peersByAddress.delete(peer.address);
  }

  private peerFor(peerIdentity: Uint8Array, address: string, udpPort: number): Peer {
    const hit = this.cachedPeer(peerIdentity, address);
    if (hit !== undefined) {
      hit.udpPort = udpPort;
      return hit;
    }
    const key = this.peerKey(peerIdentity, address);
    let p = this.peers.get(key);
    if (p === undefined) {
      const cand = this.candidates.get(key);
      if (cand !== undefined) this.candidates.delete(key);
      p = cand ?? new Peer(key, this.nextHandle++, peerIdentity.slice(), address, udpPort);
      this.peers.set(key, p);
      p.known = true;
      this.peersByAddress.set(address, p);
      this.peersByHandle.set(p.handle, p);
    }
    p.udpPort = udpPort;
    this.lastPeer = p;
    return p;
  }

  /** A peer we may not keep state for (Query senders): a bounded LRU of handles. */
  private candidate(peerIdentity: Uint8Array, address: string, udpPort: number): Peer {
    const hit = this.cachedPeer(peerIdentity, address);
    if (hit !== undefined) return hit;
    const key = this.peerKey(peerIdentity, address);
    const known = this.peers.get(key);
    if (known !== undefined) {
      this.lastPeer = known;
      return known;
    }
    let c = this.candidates.get(key);
    if (c !== undefined) {
      this.candidates.delete(key);
      c.udpPort = udpPort;
    } else {
      c = new Peer(key, this.nextHandle++, peerIdentity.slice(), address, udpPort);
      if (this.candidates.size >= PEER_CANDIDATE_CAP) {
        const oldest = this.candidates.keys().next().value;
        if (oldest !== undefined) this.candidates.delete(oldest);
      }
    }
    this.candidates.set(key, c);
    return c;
  }

  private candidateByHandle(handle: number): Peer | undefined {
    for (const c of this.candidates.values()) if (c.handle === handle) return c;
    return undefined;
  }

  private bindPeer(rs: RoutingState, h: Half, peer: Peer): void {
    if (rs.peer(h) === peer) return;
    rs.setPeer(h, peer);
    peer.refs++;
  }

  private releasePeer(peer: Peer): void {
    peer.refs--;
    if (peer.refs <= 0 && (peer.ma === undefined || peer.ma.phase === MaPhase.Closed)) {
      this.forgetPeer(peer);
    }
  }

  private liveMaTo(peerIdentity: Uint8Array, address: string): MessagingAssociation | undefined {
    const p = this.peers.get(this.peerKey(peerIdentity, address));
    const ma = p?.ma;
    return p !== undefined && ma !== undefined && ma.phase === MaPhase.Connected && ma.peer === p && sameBytes(p.peerIdentity, peerIdentity) ? ma : undefined;
  }

  // ------------------------------------------------------------------ messaging associations (s4.4.5, s6.4)

  private openMa(now: number, peer: Peer, remote: TransportAddress, peerHoldMs: number): MessagingAssociation {
    const id = this.nextConnId++;
    const ma = new MessagingAssociation(id, true, remote, new GistStreamDecoder(), now, peerHoldMs, Math.max(5000, 8 * this.config.t1Ms));
    this.mas.set(id, ma);
    this.attachMaToPeer(ma, peer);
    this.transmit({ kind: 'tcp-connect', connId: id, remote, localAddress: this.config.addresses[this.addressIndex(remote.address, this.ipVersionOf(remote.address))] });
    this.armMa(now, ma);
    return ma;
  }

  private attachMaToPeer(ma: MessagingAssociation, peer: Peer): void {
    ma.peer = peer;
    if (peer.ma === undefined || peer.ma.phase === MaPhase.Closed) peer.ma = ma;
  }

  private bindMa(rs: RoutingState, h: Half, ma: MessagingAssociation): void {
    const old = rs.ma(h);
    if (old === ma) return;
    if (old !== undefined) this.unbindMa(rs, h);
    rs.setMa(h, ma);
    ma.users++;
  }

  private unbindMa(rs: RoutingState, h: Half): void {
    const ma = rs.ma(h);
    if (ma === undefined) return;
    rs.setMa(h, undefined);
    ma.users--;
  }

  private armMa(now: number, ma: MessagingAssociation): void {
    if (ma.phase === MaPhase.Closed) return;
    let at: number;
    if (ma.phase === MaPhase.Connecting) at = ma.connectDeadline;
    else if (!ma.initiator && !ma.sawFirstMessage) at = ma.lastRxAt + this.config.maHoldTimeMs;
    else if (ma.users > 0) at = ma.lastTxAt + Math.floor(ma.peerHoldMs / 2);
    else if (this.wantsMa(now, ma)) at = Math.min(ma.lastTxAt + Math.floor(ma.peerHoldMs / 2), ma.lastUseAt + this.config.maIdleMs);
    else at = ma.lastRxAt + this.config.maHoldTimeMs;
    // Every branch above names a moment at which onMaTimer changes something; never re-arm in the past.
    this.timers.arm(ma, Math.max(at, now + 1));
  }

  private wantsMa(now: number, ma: MessagingAssociation): boolean {
    return ma.users > 0 || now - ma.lastUseAt < this.config.maIdleMs;
  }

  private onMaTimer(now: number, ma: MessagingAssociation): void {
    if (ma.phase === MaPhase.Closed) return;
    if (ma.phase === MaPhase.Connecting) {
      if (now >= ma.connectDeadline) this.failMa(now, ma, 'connect timeout', true);
      else this.armMa(now, ma);
      return;
    }
    if (!ma.initiator && !ma.sawFirstMessage) {
      if (now >= ma.lastRxAt + this.config.maHoldTimeMs) this.closeMa(now, ma, false);
      else this.armMa(now, ma);
      return;
    }
    if (this.wantsMa(now, ma)) {
      if (now >= ma.lastTxAt + Math.floor(ma.peerHoldMs / 2)) {
        // s6.4 rule 4: keep the MA alive for the peer.
        const hello: MaHelloMessage = { type: 'MA-Hello', header: this.header('MA-Hello', 0, {}), unknownObjects: [], helloId: 0 };
        this.sendOnMa(now, ma, encodeGistMessage(hello));
      }
    } else if (now >= ma.lastRxAt + this.config.maHoldTimeMs) {
      // s6.4 Idle + NoHello: neither side needs it any more.
      this.closeMa(now, ma, false);
      return;
    }
    this.armMa(now, ma);
  }

  private closeMa(now: number, ma: MessagingAssociation, abort: boolean): void {
    if (ma.phase === MaPhase.Closed) return;
    ma.phase = MaPhase.Closed;
    this.mas.delete(ma.connId);
    this.timers.arm(ma, undefined);
    this.transmit({ kind: 'tcp-close', connId: ma.connId, abort });
    this.detachMa(now, ma, false);
  }

  /** s6.4 rule 8: the MA failed: tell the routing states and, where it carried reliable traffic, the NSLP. */
  private failMa(now: number, ma: MessagingAssociation, reason: string, close: boolean): void {
    if (ma.phase === MaPhase.Closed) return;
    const wasConnecting = ma.phase === MaPhase.Connecting;
    ma.phase = MaPhase.Closed;
    this.mas.delete(ma.connId);
    this.timers.arm(ma, undefined);
    if (close) this.transmit({ kind: 'tcp-close', connId: ma.connId, abort: true });
    const lost = ma.pendingStatus;
    ma.pendingStatus = undefined;
    if (lost !== undefined) for (const p of lost) this.status(now, p, 'transport-failure', reason);
    this.detachMa(now, ma, true, wasConnecting);
  }

  private detachMa(now: number, ma: MessagingAssociation, failed: boolean, wasConnecting = false): void {
    const peer = ma.peer;
    if (peer !== undefined && peer.ma === ma) {
      peer.ma = undefined;
      if (peer.refs <= 0) {
        this.forgetPeer(peer);
      }
    }
    if (ma.users === 0) return;
    for (const rs of [...this.states.values()]) {
      for (let h: Half = FWD; ; h = REV) {
        if (rs.ma(h) === ma) this.maLost(now, rs, h, failed, wasConnecting);
        if (h === REV) break;
      }
    }
  }

  private maLost(now: number, rs: RoutingState, h: Half, failed: boolean, wasConnecting: boolean): void {
    this.unbindMa(rs, h);
    if (!failed) return;
    if (wasConnecting) {
      // The MA never came up: messages queued for it are lost.
      const q = rs.queue(h);
      rs.setQueue(h, undefined);
      if (q !== undefined) for (const p of q) this.status(now, p, 'transport-failure', 'messaging association setup failed');
    }
    this.notify(now, rs, h, { kind: 'communication-failure', siiHandle: rs.peer(h)?.handle });
    if (rs.has(h) && rs.isQuerier(h) && rs.phase(h) !== Phase.AwaitingResponse) {
      // Rebuild the state (and an MA if still wanted) with the next Query.
      rs.setPhase(FWD, Phase.AwaitingRefresh);
      this.startHandshake(now, rs);
    }
  }

  // ------------------------------------------------------------------ routing state timers

  /** Arms the row's one timer entry at the earliest deadline of its halves. */
  private armState(rs: RoutingState): void {
    if (!rs.live) return;
    let at = NEVER;
    if (rs.has(FWD)) {
      at = earliest(earliest(rs.expire0, rs.nextQueryAt), rs.inactiveAt);
      const q = rs.queue(FWD);
      if (q !== undefined) for (const p of q) if (p.giveUpAt !== undefined) at = earliest(at, p.giveUpAt);
      const iq = rs.inQuery?.giveUpAt;
      if (iq !== undefined) at = earliest(at, iq);
      // Data kept for a No-Routing-State re-send (s4.4.6) is let go once the newest is 4*T1 old.
      const r = rs.recent;
      if (r !== undefined && r.length > 0) at = earliest(at, r[r.length - 1].at + 4 * this.config.t1Ms);
    }
    if (rs.has(REV)) {
      at = earliest(at, rs.expire1);
      const q = rs.queue(REV);
      if (q !== undefined) for (const p of q) if (p.giveUpAt !== undefined) at = earliest(at, p.giveUpAt);
    }
    this.timers.arm(rs, at === NEVER ? undefined : at);
  }

  private onStateTimer(now: number, rs: RoutingState): void {
    if (!rs.live) return;
    if (rs.has(FWD)) this.onHalfTimer(now, rs, FWD);
    // The FWD half's work may have removed the row (or, through an NSLP callback, replaced it).
    if (rs.live && rs.has(REV)) this.onHalfTimer(now, rs, REV);
    if (!rs.live) return;
    this.armState(rs);
  }

  private onHalfTimer(now: number, rs: RoutingState, h: Half): void {
    if (h === FWD && due(rs.inactiveAt, now) && rs.isQuerier(FWD)) {
      // s6.2 Inactive_QNode: no NSLP traffic for the state lifetime.
      this.removeHalf(now, rs, FWD, 'timeout');
      return;
    }
    const iq = h === FWD ? rs.inQuery?.giveUpAt : undefined;
    if (iq !== undefined && now >= iq && rs.phase(FWD) === Phase.AwaitingResponse) {
      // B.1 / s5.3.3: the NSLP's timeout bounds the Query retransmissions.
      this.removeHalf(now, rs, FWD, 'timeout');
      return;
    }
    if (due(rs.expireAt(h), now)) {
      const phase = rs.phase(h);
      if (phase === Phase.AwaitingConfirm) {
        this.removeHalf(now, rs, h, 'timeout');
        return;
      }
      if (rs.role(h) === Role.Responder || phase !== Phase.AwaitingRefresh) {
        // s4.2.1: the validity time ran out without a refresh: purge the state.
        this.notify(now, rs, h, { kind: 'route-deletion', siiHandle: rs.peer(h)?.handle ?? 0 });
        this.removeHalf(now, rs, h, 'timeout');
        return;
      }
      rs.setExpireAt(h, NEVER); // querier: the refresh handshake decides
    }
    const q = rs.queue(h);
    if (q !== undefined) {
      const keep: Pending[] = [];
      for (const p of q) {
        if (p.giveUpAt !== undefined && now >= p.giveUpAt) this.status(now, p, 'timeout');
        else keep.push(p);
      }
      rs.setQueue(h, keep.length > 0 ? keep : undefined);
      if (rs.phase(h) === Phase.Queued && keep.length === 0) {
        // A session waiting for a handshake slot whose every message timed out: nothing left to set up.
        this.removeHalf(now, rs, h, undefined);
        return;
      }
    }
    if (h !== FWD) return;
    const r = rs.recent;
    if (r !== undefined && (r.length === 0 || now >= r[r.length - 1].at + 4 * this.config.t1Ms)) rs.recent = undefined;
    const phase = rs.phase(FWD);
    if (due(rs.nextQueryAt, now)) {
      if (phase === Phase.AwaitingResponse || phase === Phase.AwaitingRefresh) this.onQueryTimeout(now, rs);
      else if (phase === Phase.Established && rs.isQuerier(FWD)) {
        // s4.4.4 / s6.2 rule 8: refresh before the peer's state expires.
        rs.nextQueryAt = NEVER;
        rs.setPhase(FWD, Phase.AwaitingRefresh);
        this.startHandshake(now, rs);
      }
    }
  }

  /**
   * Purges one half of a row (the row goes when both are empty); the NSLP
   * messages still queued on it are reported with `queuedError` once the
   * state is gone (so a MessageStatus listener sees the table as it is).
   */
  private removeHalf(now: number, rs: RoutingState, h: Half, queuedError: MessageStatusError | undefined, detail?: string): void {
    if (!rs.live || !rs.has(h)) return;
    const queue = rs.queue(h);
    const q = h === FWD && rs.inQuery !== undefined ? [rs.inQuery, ...(queue ?? [])] : queue;
    rs.setQueue(h, undefined);
    if (h === FWD) {
      rs.inQuery = undefined;
      rs.recent = undefined;
      rs.lifetimeMs = NEVER;
    }
    const ma = rs.ma(h);
    if (ma !== undefined) {
      ma.lastUseAt = now;
      this.unbindMa(rs, h);
      this.armMa(now, ma);
    }
    const peer = rs.peer(h);
    if (peer !== undefined) this.releasePeer(peer);
    rs.setPeer(h, undefined);
    const slot = h === FWD && rs.holdsSlot;
    rs.close(h);
    if (rs.empty) {
      this.states.delete(rs.key);
      rs.live = false;
      if (rs.key === this.memoKey) this.memoRow = undefined;
      this.timers.arm(rs, undefined);
    } else this.armState(rs);
    if (slot) {
      this.handshakesInProgress--;
      if (this.waitingHead < this.waiting.length) this.startWaiting(now);
    }
    if (q !== undefined && queuedError !== undefined) for (const p of q) this.status(now, p, queuedError, detail);
  }
}

/** Creates a GIST node; see GistNodeConfig for the options and their RFC defaults. */
export function createGistNode(config: GistNodeConfig): GistNode {
  return new GistNode(config);
}
