/**
 * The driver-facing side of a GIST node (the NSLP-facing side is `gist/api.ts`).
 *
 * The core does no I/O (DESIGN.md). A driver (the real one in `gist/driver/`,
 * the virtual network in `sim/vnet/`) feeds it events and pulls the resulting
 * actions, in the style of quinn-proto:
 *
 *   inputs   handleDatagram(now, dg)          a UDP datagram: D-mode to one of our ports,
 *                                             or a Q-mode packet intercepted on its path
 *            handleStreamAccepted(now, info)  an inbound TCP connection was accepted (C-mode)
 *            handleStreamOpened(now, id)      an outbound connection we asked for is up
 *            handleStreamData(now, id, b)     bytes arrived on a connection (any chunking)
 *            handleStreamClosed(now, id, e?)  a connection closed or failed
 *            handleTimeout(now)               nextDeadline() has passed (spurious calls are harmless)
 *   outputs  pollTransmit()                   next action to perform, undefined when drained
 *            nextDeadline()                   when to call handleTimeout next (undefined: no timer)
 *
 * WHEN TO DRAIN: after every call into the node, driver-facing (handle*) or
 * NSLP-facing (sendMessage, setStateLifetime, invalidateRoutingState, ...),
 * the driver MUST call `pollTransmit()` until it returns undefined, performing
 * each action in order, and then re-read `nextDeadline()` (it may have moved
 * earlier or later; there is only ever one deadline to arm). Actions are
 * ordered: a `tcp-connect` precedes the `tcp-send`s on that connection, and
 * the sends on one connection must be written in the order they are polled.
 * NSLP events (RecvMessage, MessageStatus, NetworkNotification) are emitted
 * synchronously from inside the handle* calls, so an NSLP listener may call
 * back into the node; its actions are queued behind the ones already pending.
 *
 * `now` is monotonic milliseconds on the driver's clock and must never go
 * backwards between calls.
 */
import type { IpVersion } from '../types';

/** An IP address (canonical text, see gist/types.ts) and a UDP/TCP port. */
export interface TransportAddress {
  readonly address: string;
  readonly port: number;
}

/** A C-mode connection, numbered by the core (outbound and inbound alike). */
export type ConnId = number;

/** What the IP layer told the driver about a Q-mode (intercepted) datagram. */
export interface QmodeInfo {
  /** The Router Alert Option value (RFC 2113 / RFC 2711), when the packet carried one. */
  readonly routerAlert?: number;
  /** The IP TTL / hop limit as received, before any decrement for forwarding. */
  readonly ipTtl?: number;
  /** Inbound interface name (local significance only). */
  readonly interface?: string;
}

export interface InboundDatagram {
  /**
   * The IP destination address and UDP destination port. For an intercepted
   * Q-mode packet the address is usually NOT one of ours (it is the flow's
   * destination, RFC 5971 s5.8.1.2).
   */
  readonly local: TransportAddress;
  /** The IP source address and UDP source port. */
  readonly remote: TransportAddress;
  /** The UDP payload (for GIST: magic number, common header, objects). */
  readonly bytes: Uint8Array;
  /**
   * Present exactly when the packet was intercepted on its path (Router Alert
   * / port 270 filter) rather than addressed to one of our sockets. An
   * intercepted packet that GIST does not consume must be forwarded (see
   * `DatagramDisposition`).
   */
  readonly qmode?: QmodeInfo;
  /** IP TTL as received on a normally addressed datagram, when the driver can read it (for IP-hop-count-to-peer, s5.2.2). */
  readonly ipTtl?: number;
}

/**
 * What the driver must do with an inbound datagram, returned synchronously by
 * `handleDatagram` (the decision never depends on anything asynchronous: the
 * NSLP answers the peering question inside its RecvMessage listener).
 *
 * - `consume`: GIST took it (or dropped it); a packet that was intercepted
 *   must NOT be forwarded.
 * - `forward`: an intercepted packet that this node does not peer on (NSLPID
 *   not run here, NSLP declined to peer, not a GIST packet at all): forward it
 *   at the IP level as a normal IP datagram, decrementing the IP TTL as for any
 *   forwarded packet (RFC 5971 s4.3.4). If `payload` is given it replaces the
 *   UDP payload (GIST hop count decremented, s4.3.4 case 3, or an NSLP-updated
 *   payload, s4.3.2); the driver must then recompute the UDP checksum. Without
 *   `payload` the packet goes on unchanged. For a datagram that was addressed
 *   to us (no `qmode`), `forward` never occurs.
 */
export type DatagramDisposition =
  | { readonly kind: 'consume' }
  | { readonly kind: 'forward'; readonly payload?: Uint8Array };

/** Q-mode encapsulation details of an outgoing datagram (RFC 5971 s5.3.2, s5.8). */
export interface QmodeTransmit {
  /** Router Alert Option value to put in the IP header (per NSLPID and IP version). */
  readonly routerAlert: number;
  /** IP TTL / hop limit to set; undefined = the system default. 255 for upstream Queries (s5.8.1.3). */
  readonly ipTtl?: number;
  /** Diffserv codepoint to mimic the flow (6 bits), when the MRI has one (s5.8.1.2). */
  readonly dscp?: number;
  /** IPv6 flow label to mimic the flow, when the MRI has one. */
  readonly flowLabel?: number;
  /** Set the IPv4 Don't Fragment bit (always true for Q-mode, s5.3.2.1). */
  readonly dontFragment: boolean;
}

/**
 * An action for the driver, pulled with `pollTransmit()`.
 *
 * `udp`: send `bytes` as one UDP datagram from `source` to `destination`.
 *   `source.address` is the IP source to use; for a Q-mode message sent with
 *   S=0 it is the flow's source address and may not be local (the driver then
 *   needs a raw socket or must fall back; the core's default is S=1, a local
 *   address, see GistNodeConfig.qmodeSourceAddressing). `source.port` is one
 *   of the node's configured UDP ports. With `qmode` present the datagram is
 *   Q-mode encapsulated (Router Alert, TTL, DF).
 * `tcp-connect`: open a TCP connection to `remote` (Forwards-TCP, s5.7.2),
 *   numbered `connId`; report success with handleStreamOpened(now, connId) or
 *   failure with handleStreamClosed(now, connId, reason).
 * `tcp-send`: write `bytes` on connection `connId` (framing is GIST's own:
 *   whole messages back to back, s5.4).
 * `tcp-close`: close connection `connId` (gracefully; `abort` = reset). The
 *   driver does not report it back with handleStreamClosed (but doing so is
 *   harmless).
 */
export type Transmit =
  | {
      readonly kind: 'udp';
      readonly source: TransportAddress;
      readonly destination: TransportAddress;
      readonly ipVersion: IpVersion;
      readonly bytes: Uint8Array;
      readonly qmode?: QmodeTransmit;
    }
  | { readonly kind: 'tcp-connect'; readonly connId: ConnId; readonly remote: TransportAddress; readonly localAddress?: string }
  | { readonly kind: 'tcp-send'; readonly connId: ConnId; readonly bytes: Uint8Array }
  | { readonly kind: 'tcp-close'; readonly connId: ConnId; readonly abort?: boolean };

export interface AcceptedStream {
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
}

/** The driver-facing interface of one GIST node. */
export interface GistDriverFacing {
  /** A UDP datagram arrived (D-mode to our port, or an intercepted Q-mode packet). Never throws on bad input. */
  handleDatagram(now: number, dg: InboundDatagram): DatagramDisposition;
  /** An inbound TCP connection on our C-mode listening port was accepted; returns the id to use for it from now on. */
  handleStreamAccepted(now: number, info: AcceptedStream): ConnId;
  /** An outbound connection from a `tcp-connect` action is established. */
  handleStreamOpened(now: number, connId: ConnId): void;
  /** Bytes arrived on a connection, in order, chunked arbitrarily. */
  handleStreamData(now: number, connId: ConnId, bytes: Uint8Array): void;
  /** The connection closed (reason undefined) or failed (connect refused, reset, ...). */
  handleStreamClosed(now: number, connId: ConnId, reason?: string): void;
  /** Fires every timer due at `now`. */
  handleTimeout(now: number): void;
  /** The next action to perform; undefined when the queue is empty. */
  pollTransmit(): Transmit | undefined;
  /** The earliest timer deadline (ms, driver clock), or undefined when no timer is armed. */
  nextDeadline(): number | undefined;
  /** The node's local ports the driver must listen on. */
  readonly listen: { readonly udpPort: number; readonly tcpPort: number; readonly qmodePort: number };
}

/** IANA: GIST's well-known UDP port for Q-mode encapsulation (RFC 5971 s9). */
export const GIST_QMODE_PORT = 270;
