/**
 * The application-facing NATFW NSLP API for an end host (NI / NI+), over the
 * sans-I/O core (core/node.ts). Promises resolve when the core emits the
 * matching event; the driver (simulator or daemon) supplies the clock and is
 * woken after every call so that it drains GIST transmits, enforcement jobs
 * and timers:
 *
 *   const api = new NatfwClient(node, { now: () => clock.now, wake: () => driver.pump() }, { localAddress: '198.18.0.1' });
 *   const s = await api.create({ dst: '198.18.2.2', proto: 'udp', dport: 5004, lifetime: 60 });
 *   s.lifetime;            // granted, possibly lowered by the path
 *   api.on('terminated', (s, reason) => ...);
 *   api.teardown(s);
 *
 * Refreshes run inside the core by themselves until teardown. The simulator
 * may use `NatfwNode` directly instead.
 */
import EventEmitter from 'eventemitter3';
import { isIpv4Text as isIPv4, isIpv6Text as isIPv6 } from '../gist/codec/addresses';
import { UsageError } from '../common/errors';
import type { LooseEndMri, PathCoupledMri } from '../gist/types';
import { canonicalIp, type SessionAuthObject } from './codec';
import { NatfwResponseError } from './core/codes';
import type { ExternalAddress, ExternalBinding, InfoCode } from './core/messages';
import type { NatfwNode, TerminationReason } from './core/node';

export { NatfwNode, NATFW_NSLPID, sidNonce } from './core/node';
export type {
  NatfwNodeConfig,
  MiddleboxConfig,
  NatConfig,
  CreateParams,
  ExternalParams,
  SessionInfo,
  NatfwRole,
  SessionState,
  TerminationReason,
  NatfwNodeEvents,
} from './core/node';
export { NatfwResponseError, info as responseInfo, responseName, responseText } from './core/codes';
export type { NatfwPolicy, PolicyRule } from './core/policy';
export { defaultPolicy } from './core/policy';
export { acceptAllAuthorizer } from './core/authorizer';
export type { SessionAuthorizer, AuthorizationRequest, AuthorizationResult } from './core/authorizer';
export { runEnforcementJob, runEnforcementJobNow } from './core/enforcement-job';
export type { EnforcementJob, EnforcementOp, EnforcementResult } from './core/enforcement-job';
export { wireCodec } from './core/codec-adapter';
export { seededRandom } from './core/random';
export type { NatfwRandom } from './core/random';
export type { DtInfo, ExternalAddress, ExternalBinding, InfoCode, NatfwMsg } from './core/messages';

/** What the API needs from the driver. */
export interface NatfwApiDriver {
  /** The driver's clock (ms), the same the core's other inputs use. */
  now(): number;
  /** Called after every call into the core: drain GIST, run enforcement jobs, re-arm timers. */
  wake(): void;
}

export type ProtocolSpec = number | 'tcp' | 'udp' | 'sctp' | 'dccp' | 'icmp' | 'icmpv6';

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, dccp: 33, icmpv6: 58, sctp: 132 };

export interface CreateOptions {
  /** Data receiver address (the flow destination). */
  readonly dst: string;
  /** Data sender address; default: the client's local address of the same family. */
  readonly src?: string;
  readonly proto: ProtocolSpec;
  /** Destination port; 0 or absent = wildcard (policies may refuse it). */
  readonly dport?: number;
  readonly sport?: number;
  /** 0 or 1 (RFC 5973 s4.2.4: 1 adds dport + 1). */
  readonly subPorts?: number;
  readonly action?: 'allow' | 'deny';
  /** Requested lifetime (s), default 120; the path may lower it. */
  readonly lifetime?: number;
  /** SESSION_AUTH token(s) (RFC 5981) to carry in every message of the session. */
  readonly token?: SessionAuthObject | readonly SessionAuthObject[];
  /** CREATE-PROXY (P flag, s3.7.6.2). */
  readonly proxy?: boolean;
  readonly srcPrefix?: number;
  readonly dstPrefix?: number;
}

export interface ExternalOptions {
  /** Signalling destination address (s3.7.2, Appendix A): an address beyond the edge, e.g. the data sender's if known. */
  readonly sda: string;
  readonly proto: ProtocolSpec;
  /** The port the application listens on here (DR port). */
  readonly dport: number;
  /** Data sender address/prefix/port when known (default: wildcard). */
  readonly dsAddress?: string;
  readonly dsPrefix?: number;
  readonly dsPort?: number;
  readonly action?: 'allow' | 'deny';
  readonly subPorts?: number;
  readonly lifetime?: number;
  readonly token?: SessionAuthObject | readonly SessionAuthObject[];
  /** 'loose-end' (default, receiver behind a NAT) or 'path-coupled' (receiver behind firewalls, DS known). */
  readonly mrm?: 'loose-end' | 'path-coupled';
  /** Local address (the DR); default: the client's local address of the SDA's family. */
  readonly local?: string;
  readonly requestBindings?: boolean;
  readonly proxy?: boolean;
}

export interface NatfwSession {
  readonly key: string;
  readonly sessionId: Uint8Array;
  readonly kind: 'CREATE' | 'EXTERNAL';
  /** Granted lifetime (s) of the last successful RESPONSE. */
  lifetime: number;
  /** EXTERNAL: the reserved public address and port (NATFW_EXTERNAL_IP). */
  readonly externalIp?: ExternalAddress;
  readonly externalBinding?: ExternalBinding;
}

export interface NatfwClientEvents {
  refreshed: (s: NatfwSession) => void;
  /** A refresh failed; the session is gone (no more refreshes). */
  refreshFailed: (s: NatfwSession, error: NatfwResponseError) => void;
  /** The path ended the session (NOTIFY, expiry, ...), not the application. */
  terminated: (s: NatfwSession, reason: TerminationReason, info?: InfoCode) => void;
}

interface Waiter {
  resolve: (s: NatfwSession) => void;
  reject: (e: NatfwResponseError) => void;
  kind: 'CREATE' | 'EXTERNAL';
}

export class NatfwClient extends EventEmitter<NatfwClientEvents> {
  private readonly waiting = new Map<string, Waiter>();
  private readonly live = new Map<string, NatfwSession>();

  constructor(
    readonly node: NatfwNode,
    private readonly driver: NatfwApiDriver,
    private readonly opts: { readonly localAddresses: readonly string[] },
  ) {
    super();
    node.events.on('established', (e) => {
      const w = this.waiting.get(e.key);
      if (w === undefined) return;
      this.waiting.delete(e.key);
      const info = node.session(e.key);
      const s: NatfwSession = {
        key: e.key,
        sessionId: info?.sessionId ?? new Uint8Array(0),
        kind: w.kind,
        lifetime: e.lifetime,
        externalIp: e.externalIp,
        externalBinding: e.externalBinding,
      };
      this.live.set(e.key, s);
      w.resolve(s);
    });
    node.events.on('failed', (e) => {
      const w = this.waiting.get(e.key);
      if (w === undefined) return;
      this.waiting.delete(e.key);
      w.reject(e.error);
    });
    node.events.on('refreshed', (e) => {
      const s = this.live.get(e.key);
      if (s === undefined) return;
      s.lifetime = e.lifetime;
      this.emit('refreshed', s);
    });
    node.events.on('refreshFailed', (e) => {
      const s = this.live.get(e.key);
      if (s === undefined) return;
      this.live.delete(e.key);
      this.emit('refreshFailed', s, e.error);
    });
    node.events.on('terminated', (e) => {
      const s = this.live.get(e.key);
      if (s === undefined) return;
      this.live.delete(e.key);
      this.emit('terminated', s, e.reason, e.info);
    });
  }

  /** Sessions established and not yet ended. */
  get sessions(): readonly NatfwSession[] {
    return [...this.live.values()];
  }

  /** CREATE (s3.7.1): resolves with the granted lifetime, or rejects with the RESPONSE code as a NatfwResponseError. */
  create(o: CreateOptions): Promise<NatfwSession> {
    let mri: PathCoupledMri;
    try {
      checkCommon(o.subPorts, o.lifetime);
      const dst = canon(o.dst, 'dst');
      const src = canon(o.src ?? this.local(dst), 'src');
      const v = family(dst, 'dst');
      if (family(src, 'src') !== v) throw new UsageError('NATFW_BAD_ARGUMENT', 'src and dst are of different address families');
      const protocol = protocolNumber(o.proto);
      const ports = protocol === 6 || protocol === 17 || protocol === 33 || protocol === 132;
      if (!ports && (o.dport !== undefined || o.sport !== undefined)) throw new UsageError('NATFW_BAD_ARGUMENT', `protocol ${protocol} has no ports`);
      checkPort(o.dport, 'dport');
      checkPort(o.sport, 'sport');
      const full = v === 4 ? 32 : 128;
      mri = {
        mrm: 'path-coupled',
        ipVersion: v,
        sourceAddress: src,
        destinationAddress: dst,
        sourcePrefix: o.srcPrefix ?? full,
        destinationPrefix: o.dstPrefix ?? full,
        protocol,
        ...(ports ? { sourcePort: o.sport ?? 0, destinationPort: o.dport ?? 0 } : {}),
        direction: 'downstream',
      };
    } catch (e) {
      return Promise.reject(e);
    }
    return this.start('CREATE', () =>
      this.node.create(this.driver.now(), {
        mri,
        action: o.action,
        subPorts: o.subPorts,
        lifetime: o.lifetime,
        proxy: o.proxy,
        sessionAuth: tokens(o.token),
      }),
    );
  }

  /** EXTERNAL (s3.7.2): resolves with the session and, behind a NAT, `externalIp` to hand to the peer. */
  external(o: ExternalOptions): Promise<NatfwSession> {
    let mri: LooseEndMri | PathCoupledMri;
    let protocol: number;
    try {
      checkCommon(o.subPorts, o.lifetime);
      const sda = canon(o.sda, 'sda');
      const v = family(sda, 'sda');
      const local = canon(o.local ?? this.local(sda), 'local');
      protocol = protocolNumber(o.proto);
      checkPort(o.dport, 'dport');
      checkPort(o.dsPort, 'dsPort');
      if ((o.mrm ?? 'loose-end') === 'loose-end') {
        mri = { mrm: 'loose-end', ipVersion: v, sourceAddress: local, destinationAddress: sda, direction: 'towards-edge' };
      } else {
        // s3.7.2 case 1: PC-MRM upstream, the data sender as flow source.
        const full = v === 4 ? 32 : 128;
        mri = {
          mrm: 'path-coupled',
          ipVersion: v,
          sourceAddress: o.dsAddress !== undefined ? canon(o.dsAddress, 'dsAddress') : sda,
          destinationAddress: local,
          sourcePrefix: o.dsPrefix ?? full,
          destinationPrefix: full,
          protocol,
          sourcePort: o.dsPort ?? 0,
          destinationPort: o.dport,
          direction: 'upstream',
        };
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const wildcard = family(o.sda, 'sda') === 4 ? '0.0.0.0' : '::';
    return this.start('EXTERNAL', () =>
      this.node.external(this.driver.now(), {
        mri,
        dtinfo: {
          protocol,
          drPort: o.dport,
          dsPort: o.dsPort ?? 0,
          senderPrefix: o.dsAddress === undefined ? 0 : (o.dsPrefix ?? 32),
          senderAddress: o.dsAddress !== undefined ? (canonicalIp(o.dsAddress) ?? o.dsAddress) : wildcard,
        },
        action: o.action,
        subPorts: o.subPorts,
        lifetime: o.lifetime,
        proxy: o.proxy,
        requestBindings: o.requestBindings,
        sessionAuth: tokens(o.token),
      }),
    );
  }

  /** Teardown (s3.7.4): lifetime 0 along the path; local state goes at once. */
  teardown(s: NatfwSession | string): void {
    const key = typeof s === 'string' ? s : s.key;
    this.live.delete(key);
    const w = this.waiting.get(key);
    this.waiting.delete(key);
    if (this.node.teardown(this.driver.now(), key)) this.driver.wake();
    w?.reject(new NatfwResponseError(1, 0x05, 'torn down by the application before the RESPONSE'));
  }

  private start(kind: 'CREATE' | 'EXTERNAL', go: () => string): Promise<NatfwSession> {
    return new Promise<NatfwSession>((resolve, reject) => {
      let key: string;
      try {
        key = go();
      } catch (e) {
        reject(e);
        return;
      }
      this.waiting.set(key, { resolve, reject, kind });
      this.driver.wake();
    });
  }

  private local(peer: string): string {
    const v6 = isIPv6(peer);
    const a = this.opts.localAddresses.find((x) => isIPv6(x) === v6);
    if (a === undefined) throw new UsageError('NATFW_BAD_ARGUMENT', `no local IPv${v6 ? 6 : 4} address to signal from`);
    return a;
  }
}

/** Canonical text (gist/types.ts: addresses are compared as strings everywhere). */
function canon(a: string, what: string): string {
  const c = canonicalIp(a);
  if (c === undefined) throw new UsageError('NATFW_BAD_ARGUMENT', `${what}: '${a}' is not an IP address`);
  return c;
}

function family(a: string, what: string): 4 | 6 {
  if (isIPv4(a)) return 4;
  if (isIPv6(a)) return 6;
  throw new UsageError('NATFW_BAD_ARGUMENT', `${what}: '${a}' is not an IP address`);
}

function checkPort(p: number | undefined, what: string): void {
  if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > 65535)) throw new UsageError('NATFW_BAD_ARGUMENT', `${what}: ${p} is not a port`);
}

function checkCommon(subPorts: number | undefined, lifetime: number | undefined): void {
  // s4.2.4: sub_ports other than 0/1 are refused with 7/0x08, here before anything is sent.
  if (subPorts !== undefined && subPorts !== 0 && subPorts !== 1) throw new NatfwResponseError(7, 0x08);
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 0xffffffff)) {
    throw new UsageError('NATFW_BAD_ARGUMENT', `lifetime: ${lifetime} is not a positive number of seconds`);
  }
}

export function protocolNumber(p: ProtocolSpec): number {
  if (typeof p === 'number') {
    if (!Number.isInteger(p) || p < 0 || p > 255) throw new UsageError('NATFW_BAD_ARGUMENT', `proto: ${p} is not 0-255`);
    return p;
  }
  const n = PROTOCOLS[p];
  if (n === undefined) throw new UsageError('NATFW_BAD_ARGUMENT', `proto: unknown protocol '${String(p)}'`);
  return n;
}

function tokens(t: SessionAuthObject | readonly SessionAuthObject[] | undefined): readonly SessionAuthObject[] | undefined {
  if (t === undefined) return undefined;
  return Array.isArray(t) ? (t as readonly SessionAuthObject[]) : [t as SessionAuthObject];
}
