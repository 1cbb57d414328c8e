/**
 * Configuration of a GIST node, with the RFC 5971 defaults. Everything that
 * would otherwise come from the environment (randomness, addresses, ports)
 * is injected here, so that tests and the simulator replay exactly.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { IpVersion, NslpId } from '../types';
import { GIST_QMODE_PORT } from './driver-api';

export interface GistNodeConfig {
  /**
   * This node's IP addresses (IPv4 and/or IPv6, canonical text). The NLI names the one
   * `interfaceAddressFor` answers; without it (or when it answers none of these) the first
   * of the MRI's IP version.
   */
  readonly addresses: readonly string[];
  /**
   * RFC 5971 s5.2.2: the local address the driver's routing would use to reach `destination`
   * (the interface that carries the outbound flow), or undefined when it does not know.
   * Synchronous and cheap: asked per message, and only when the node has more than one
   * address of that IP version. An answer that is not one of `addresses` of that version is
   * ignored (the first address of the version is used, as without the hook).
   */
  readonly interfaceAddressFor?: InterfaceAddressFor;
  /** Peer-Identity for the NLI (s4.4.3); default: the first address as text. */
  readonly peerIdentity?: Uint8Array;
  /** UDP port we send D-mode from and receive D-mode on (default 270). */
  readonly udpPort?: number;
  /** TCP port we accept C-mode (Forwards-TCP) connections on, advertised in the SCD of Responses (default 30270). */
  readonly tcpPort?: number;
  /** Destination UDP port of Q-mode messages (IANA 270; tests on one host may change it). */
  readonly qmodePort?: number;
  /** s5.3.3 T1: initial Query retransmission interval (default 500 ms). */
  readonly t1Ms?: number;
  /** s5.3.3 T2: maximum retransmission interval (default 64 * T1). */
  readonly t2Ms?: number;
  /** s4.4.4 RS-validity-time we advertise (default 30 s). */
  readonly routingStateValidityMs?: number;
  /** s4.4.5 MA-Hold-Time we advertise (default 30 s). */
  readonly maHoldTimeMs?: number;
  /** How long an MA with no routing state using it is kept before we stop wanting it (default = maHoldTimeMs). */
  readonly maIdleMs?: number;
  /** s6.2 Inactive_QNode default period: querier state without NSLP traffic is dropped after this (default 90 s). */
  readonly defaultStateLifetimeMs?: number;
  /**
   * s6.3 responder policy. true (default): "case 3", a Confirm is required and
   * NO per-flow state is kept before a Confirm with a valid Responder-Cookie.
   * false: "case 1", state is installed on the Query and the Response has R=0.
   */
  readonly confirmRequired?: boolean;
  /**
   * With confirmRequired: whether a refresh Query from the peer that the
   * established state already names is also answered with R=1 (default false).
   * The return routability check of s8.3 was made when the state was
   * installed; a refresh from the same peer (same NLI, same D-mode port)
   * re-checks nothing new, so by default it refreshes the state on the Query
   * (s6.3 case 1 for this Query; Expire_RNode is reset by "a Query or Confirm
   * (depending on local policy)", s6.3) and saves a third of every refresh.
   * A Query from another peer (a route change) or one that sets up an MA
   * still needs a Confirm.
   */
  readonly confirmRefreshes?: boolean;
  /**
   * s5.8.1.2: the IP source of Q-mode messages. 'signalling' (default): our own
   * address, S=1 (sendable from an ordinary socket, see shared/notes/router-alert.md);
   * 'flow': the flow's source address, S=0 (needs a driver that can spoof).
   */
  readonly qmodeSourceAddressing?: 'signalling' | 'flow';
  /** Router Alert value for Q-mode messages of an NSLPID (s4.3.1). Default: 33 (NATFW) -> 65 (IPv4) / 68 (IPv6), others 0. */
  readonly routerAlertFor?: (nslpId: NslpId, ipVersion: IpVersion) => number;
  /** Initial GIST hop count when the NSLP gives none (s4.3.3; default 64 like an IP TTL). */
  readonly initialGistHopCount?: number;
  /** IP TTL set on Q-mode messages sent downstream (reported in the NLI IP-TTL, s5.2.2; default 64). */
  readonly qmodeIpTtl?: number;
  /** s4.3.3: first-hop MTU; D-mode messages (+64 bytes allowance) must fit min(this, 576). */
  readonly mtu?: number;
  /** s8.5: lifetime of one Responder-Cookie secret generation (default 60 s; a cookie is valid for 1-2 generations). */
  readonly cookieSecretPeriodMs?: number;
  /** Randomness (cookies, secrets, refresh jitter). Default node:crypto; tests inject a seeded source. */
  readonly randomBytes?: (n: number) => Uint8Array;
  /**
   * s5.8.1.2: destination prefix lengths shorter than this make an MRI "too wild"
   * to be forwarded down one path (MRI Validation Failure, subcode 0). Default 32 / 128.
   */
  readonly minDestinationPrefix?: { readonly v4: number; readonly v6: number };
  /** s5.8.1.2 ingress filtering check on intercepted Queries; false -> MRI Validation Failure subcode 2. Default: accept. */
  readonly ingressFilter?: (sourceAddress: string, sourcePrefix: number, inboundInterface: string | undefined) => boolean;
  /** Maximum messages queued per routing state while a handshake or MA setup is running (default 64). */
  readonly maxQueuedPerState?: number;
  /**
   * s5.3.3 rate control ("bursts of ... state setup requests"): at most this
   * many new sessions' handshakes (Query sent, no Response yet) at a time
   * (default 1024). Further new sessions wait in a FIFO and start as others
   * complete or fail, so an overload does not turn into retransmitted Queries
   * and duplicate handshakes. Refreshes of established states are not counted.
   */
  readonly maxHandshakesInProgress?: number;
  /**
   * Bound of that FIFO (default 65536). A new session beyond it is refused:
   * its messages get MessageStatus 'transport-failure' and no state is kept.
   */
  readonly maxQueuedHandshakes?: number;
  /**
   * s5.3.3 D-mode rate limiter: one token bucket over the bytes (UDP payload
   * plus IP and UDP headers) of every locally generated D-mode datagram
   * (Queries, Responses, Confirms, Data, Errors; new and retransmitted).
   * Forwarded Queries and C-mode are not limited. A datagram that finds the
   * bucket empty waits in a FIFO (at most `maxQueued`; beyond it the newest is
   * dropped and its NSLP message, if any, gets MessageStatus 'transport-failure').
   * `false` disables the limiter. Default: DEFAULT_DMODE_RATE_LIMIT.
   */
  readonly dmodeRateLimit?: DmodeRateLimit | false;
}

/** See GistNodeConfig.dmodeRateLimit. */
export interface DmodeRateLimit {
  /** Mean rate, bytes per second. */
  readonly bytesPerSecond: number;
  /** Bucket depth, bytes: what may go at once after a quiet period. */
  readonly burstBytes: number;
  /** Datagrams that may wait for tokens (default 16384). */
  readonly maxQueued?: number;
}

/**
 * s5.3.3: "RECOMMENDED that this fraction is no more than 5%" of the node's
 * lowest-speed interface; for a node whose slowest interface is 1 Gbit/s that
 * is 6.25 MB/s. The burst, 1 MB, is about 5,000 Queries of 200 bytes at once
 * (160 ms of the mean rate, 8 ms of a 1 Gbit/s link), so ordinary signalling
 * bursts never wait; only a flood (a re-probe of very many flows) is spread out.
 * A node with slower links should configure a proportionally smaller rate.
 */
export const DEFAULT_DMODE_RATE_LIMIT: Readonly<Required<DmodeRateLimit>> = Object.freeze({
  bytesPerSecond: 6_250_000,
  burstBytes: 1_000_000,
  maxQueued: 16_384,
});

/**
 * The values natfwd's configuration and simulator scenarios accept for a D-mode rate limit: the
 * burst is at least one D-mode message of the largest size (576 bytes, s4.3.3), so a message never
 * has to go into debt on an idle bucket.
 */
export const DMODE_RATE_LIMIT_RANGE = Object.freeze({
  bytesPerSecond: [1, 1e12] as const,
  burstBytes: [576, 1e12] as const,
  maxQueued: [0, 10_000_000] as const,
});

/** See GistNodeConfig.interfaceAddressFor. */
export type InterfaceAddressFor = (destination: string, ipVersion: IpVersion) => string | undefined;

export const NATFW_NSLPID = 33;

export function defaultRouterAlert(nslpId: NslpId, ipVersion: IpVersion): number {
  // RFC 5973 s7.5 (IANA): NATFW uses RAO 65 (IPv4) and 68 (IPv6).
  if (nslpId === NATFW_NSLPID) return ipVersion === 4 ? 65 : 68;
  return 0;
}

export interface ResolvedConfig {
  readonly addresses: readonly string[];
  readonly interfaceAddressFor: InterfaceAddressFor | undefined;
  readonly peerIdentity: Uint8Array;
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly qmodePort: number;
  readonly t1Ms: number;
  readonly t2Ms: number;
  readonly routingStateValidityMs: number;
  readonly maHoldTimeMs: number;
  readonly maIdleMs: number;
  readonly defaultStateLifetimeMs: number;
  readonly confirmRequired: boolean;
  readonly confirmRefreshes: boolean;
  readonly qmodeSourceAddressing: 'signalling' | 'flow';
  readonly routerAlertFor: (nslpId: NslpId, ipVersion: IpVersion) => number;
  readonly initialGistHopCount: number;
  readonly qmodeIpTtl: number;
  readonly mtu: number;
  readonly cookieSecretPeriodMs: number;
  readonly randomBytes: (n: number) => Uint8Array;
  readonly minDestinationPrefix: { readonly v4: number; readonly v6: number };
  readonly ingressFilter: ((sourceAddress: string, sourcePrefix: number, inboundInterface: string | undefined) => boolean) | undefined;
  readonly maxQueuedPerState: number;
  readonly maxHandshakesInProgress: number;
  readonly maxQueuedHandshakes: number;
  readonly dmodeRateLimit: Readonly<Required<DmodeRateLimit>> | false;
}

export function resolveConfig(c: GistNodeConfig): ResolvedConfig {
  if (c.addresses.length === 0) throw new RangeError('GistNodeConfig.addresses: at least one address is needed');
  const t1Ms = c.t1Ms ?? 500;
  const maHoldTimeMs = c.maHoldTimeMs ?? 30_000;
  return {
    addresses: [...c.addresses],
    interfaceAddressFor: c.interfaceAddressFor,
    peerIdentity: c.peerIdentity ?? new Uint8Array(Buffer.from(c.addresses[0], 'utf8')),
    udpPort: c.udpPort ?? GIST_QMODE_PORT,
    tcpPort: c.tcpPort ?? 30270,
    qmodePort: c.qmodePort ?? GIST_QMODE_PORT,
    t1Ms,
    t2Ms: c.t2Ms ?? 64 * t1Ms,
    routingStateValidityMs: c.routingStateValidityMs ?? 30_000,
    maHoldTimeMs,
    maIdleMs: c.maIdleMs ?? maHoldTimeMs,
    defaultStateLifetimeMs: c.defaultStateLifetimeMs ?? 90_000,
    confirmRequired: c.confirmRequired ?? true,
    confirmRefreshes: c.confirmRefreshes ?? false,
    qmodeSourceAddressing: c.qmodeSourceAddressing ?? 'signalling',
    routerAlertFor: c.routerAlertFor ?? defaultRouterAlert,
    initialGistHopCount: c.initialGistHopCount ?? 64,
    qmodeIpTtl: c.qmodeIpTtl ?? 64,
    mtu: c.mtu ?? 1500,
    cookieSecretPeriodMs: c.cookieSecretPeriodMs ?? 60_000,
    randomBytes: c.randomBytes ?? ((n: number) => new Uint8Array(cryptoRandomBytes(n))),
    minDestinationPrefix: c.minDestinationPrefix ?? { v4: 32, v6: 128 },
    ingressFilter: c.ingressFilter,
    maxQueuedPerState: c.maxQueuedPerState ?? 64,
    maxHandshakesInProgress: Math.max(1, c.maxHandshakesInProgress ?? 1024),
    maxQueuedHandshakes: Math.max(0, c.maxQueuedHandshakes ?? 65_536),
    dmodeRateLimit: resolveRateLimit(c.dmodeRateLimit),
  };
}

function resolveRateLimit(r: DmodeRateLimit | false | undefined): Readonly<Required<DmodeRateLimit>> | false {
  if (r === false) return false;
  if (r === undefined) return DEFAULT_DMODE_RATE_LIMIT;
  const positive = (v: number): boolean => Number.isFinite(v) && v > 0;
  if (!positive(r.bytesPerSecond) || !positive(r.burstBytes)) {
    throw new RangeError('GistNodeConfig.dmodeRateLimit: bytesPerSecond and burstBytes must be positive numbers');
  }
  const maxQueued = r.maxQueued ?? DEFAULT_DMODE_RATE_LIMIT.maxQueued;
  if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new RangeError('GistNodeConfig.dmodeRateLimit.maxQueued must be a non-negative integer');
  return { bytesPerSecond: r.bytesPerSecond, burstBytes: r.burstBytes, maxQueued };
}
