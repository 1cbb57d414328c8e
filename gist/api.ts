/**
 * The NSLP-facing service interface of GIST, RFC 5971 s4.1 and Appendix B, as
 * TypeScript. The GIST core implements `GistService`; an NSLP (natfw-nslp/)
 * knows GIST only through this file.
 *
 * Time is a parameter: every call takes `now` (monotonic milliseconds on the
 * driver's clock) and every event carries the `now` of the input that caused
 * it. Events are emitted synchronously from inside the core's input handlers,
 * so an NSLP may call back into the service from a listener.
 */
import type EventEmitter from 'eventemitter3';
import type { Mri, NslpId, SessionId } from './types';

/** RFC 5971 s4.1.2. */
export interface TransferAttributes {
  /** 'reliable' means C-mode (TCP) is used; 'unreliable' allows D-mode (UDP). */
  readonly reliable: boolean;
  /** Security (integrity/confidentiality) requested; natfw has no TLS transport yet, so only false is honoured. */
  readonly secure?: boolean;
}

/** An opaque reference to a peer (address + interface), supplied by GIST in RecvMessage (B.2). */
export type SiiHandle = number;

/** Appendix B.1 SendMessage. */
export interface SendMessageRequest {
  readonly nslpData: Uint8Array;
  /** Reference for later MessageStatus events; undefined when the NSLP does not care. */
  readonly nslpMessageHandle?: number;
  readonly nslpId: NslpId;
  readonly sessionId: SessionId;
  readonly mri: Mri;
  /** Route explicitly to this peer (e.g. a RESPONSE back to the node a request came from). */
  readonly siiHandle?: SiiHandle;
  readonly transfer?: TransferAttributes;
  /** How long GIST may try before reporting failure through MessageStatus. */
  readonly timeoutMs?: number;
  readonly ipTtl?: number;
  readonly gistHopCount?: number;
}

/** What the NSLP answers to a RecvMessage with routingStateCheck = true (B.2, s4.3.2). */
export interface PeeringDecision {
  /** true: this node peers (a Response is sent, routing state set up); false: the Query is forwarded on. */
  readonly accept: boolean;
  /** Payload to carry in the generated Response (accept) or forwarded Query (not accept). */
  readonly payload?: Uint8Array;
}

/** Appendix B.2 RecvMessage. */
export interface RecvMessageEvent {
  readonly now: number;
  readonly nslpData: Uint8Array;
  readonly nslpId: NslpId;
  readonly sessionId: SessionId;
  readonly mri: Mri;
  /**
   * True for an intercepted Query: the listener decides by setting `peering`
   * before returning (default: accept with no payload).
   */
  readonly routingStateCheck: boolean;
  peering?: PeeringDecision;
  /** The peer the message came from; pass it to SendMessage to answer that peer. */
  readonly siiHandle: SiiHandle;
  readonly transfer: TransferAttributes & {
    /** The signalling source is a flow endpoint (first or last GIST hop). */
    readonly fromFlowEndpoint?: boolean;
    /** Explicitly routed, not checked against local routing state. */
    readonly explicitlyRouted?: boolean;
  };
  readonly ipTtl?: number;
  /** IP hops from the peer, 0 when unknown. */
  readonly ipDistance: number;
  /** After the receive-side decrement. */
  readonly gistHopCount: number;
  /** Local significance only (interface name, NAT side). */
  readonly inboundInterface?: string;
}

export type MessageStatusError =
  | 'no-next-node'
  | 'timeout'
  | 'peer-unreachable'
  | 'message-too-large'
  | 'error-from-peer'
  | 'transport-failure';

/** Appendix B.3 MessageStatus. */
export interface MessageStatusEvent {
  readonly now: number;
  readonly nslpMessageHandle: number;
  readonly transfer: TransferAttributes;
  /** undefined: the message was sent with these attributes; otherwise why it could not be delivered. */
  readonly error?: MessageStatusError;
  /** A GIST Error message received for it, when error = 'error-from-peer'. */
  readonly detail?: string;
}

/** Appendix B.4 Network-Notification-Type. */
export type NetworkNotificationType =
  | { readonly kind: 'last-node' }
  | { readonly kind: 'routing-status-change'; readonly status: 'good' | 'bad' | 'tentative'; readonly siiHandle?: SiiHandle; readonly previousSiiHandle?: SiiHandle }
  | { readonly kind: 'route-deletion'; readonly siiHandle: SiiHandle }
  | { readonly kind: 'node-authorisation-change' }
  | { readonly kind: 'communication-failure'; readonly siiHandle?: SiiHandle };

/** Appendix B.4 NetworkNotification. */
export interface NetworkNotificationEvent {
  readonly now: number;
  readonly nslpId: NslpId;
  readonly mri: Mri;
  readonly sessionId?: SessionId;
  readonly notification: NetworkNotificationType;
}

export interface GistServiceEvents {
  recvMessage: (ev: RecvMessageEvent) => void;
  messageStatus: (ev: MessageStatusEvent) => void;
  networkNotification: (ev: NetworkNotificationEvent) => void;
}

export interface InvalidateRoutingStateRequest {
  /** undefined: all NSLPs. */
  readonly nslpId?: NslpId;
  readonly mri: Mri;
  readonly status: 'bad' | 'tentative';
  readonly nslpData?: Uint8Array;
  /** Rediscover now rather than with the next message. */
  readonly urgent: boolean;
}

/** RFC 5971 Appendix B: the calls from an NSLP into GIST. */
export interface GistService {
  readonly events: EventEmitter<GistServiceEvents>;
  /** B.1. */
  sendMessage(now: number, req: SendMessageRequest): void;
  /** B.5; sessionId undefined = wildcard; lifetimeMs 0 = no further interest. */
  setStateLifetime(now: number, nslpId: NslpId, mri: Mri, sessionId: SessionId | undefined, lifetimeMs: number): void;
  /** B.6. */
  invalidateRoutingState(now: number, req: InvalidateRoutingStateRequest): void;
  /** The NSLPIDs this node intercepts Queries for; others pass through (s4.3.1). */
  registerNslp(nslpId: NslpId): void;
}
