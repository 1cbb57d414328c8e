/**
 * The NATFW NSLP protocol machine of one node (RFC 5973 s3), in every role:
 * NI / NI+ for sessions it starts, NF for sessions it intercepts as a
 * middlebox, NR / NR+ for sessions that end here. It does no I/O: GIST is the
 * `GistService` of gist/api.ts (itself a sans-I/O core), time comes in as
 * `now`, enforcement goes out as `EnforcementJob`s the driver runs and answers
 * with `enforcementDone`, timers are `nextDeadline()` / `handleTimeout(now)`.
 *
 * Session states (s3.2.8) by role; "gone" = removed with its pinholes/bindings:
 *   NI / NI+  pending --success RESPONSE--> established --refresh timer [0.5R,1.5R]--> request with MSN+1
 *             pending --error RESPONSE / GIST failure / no answer--> gone ('failed')
 *             established --error RESPONSE / lifetime ends unanswered--> gone ('refreshFailed')
 *             any --NOTIFY 0x01/0x02 or GIST route change--> refresh now; --NOTIFY 0x04/0x05--> gone
 *   NF        pending (rule remembered) --success RESPONSE + commit--> established (RESPONSE forwarded)
 *             pending --no RESPONSE within lifetime--> gone; --commit fails--> gone, error up, NOTIFY down
 *             established --refresh + commit--> established; --lifetime ends--> gone
 *             established --GIST route change / NOTIFY 0x01--> transitory (NOTIFY both ways once)
 *             any --lifetime 0 (forwarded) / NOTIFY 0x04,0x05 / error RESPONSE / operator--> gone
 *   NR        established on CREATE (RESPONSE sent), refreshed by CREATE, gone at lifetime end or lifetime 0
 *
 * Driver contract: after any call into this object (or into the GIST node it
 * sits on), drain the GIST node's transmits, run every job from
 * `pollEnforcement()` and answer it with `enforcementDone(now, ...)`, then arm
 * a timer for `nextDeadline()`. test/natfw-nslp/core/harness.ts does this on
 * sim/vnet.
 */
import EventEmitter from 'eventemitter3';
import type { GistService, MessageStatusEvent, NetworkNotificationEvent, RecvMessageEvent } from '../../gist/api';
import { invertDirection, sessionIdKey, type LooseEndMri, type Mri, type PathCoupledMri, type SessionId } from '../../gist/types';
import type { PinholeSpec, PortRange, Prefix } from '../../enforcement/types';
import type { SessionAuthObject } from '../codec';
import { isWildcardAddress, prefixContains } from './addr';
import { acceptAllAuthorizer, type SessionAuthorizer } from './authorizer';
import { CLASS_INFORMATIONAL, CLASS_SUCCESS, info, NatfwResponseError, type ResponseName } from './codes';
import type { EnforcementJob, EnforcementOp, EnforcementResult } from './enforcement-job';
import type {
  Carried,
  CreateMsg,
  DtInfo,
  Efi,
  ExternalAddress,
  ExternalBinding,
  ExternalMsg,
  InfoCode,
  NatfwMessageCodec,
  NatfwMsg,
  NotifyMsg,
  ResponseMsg,
} from './messages';
import { msnGreater, msnNext } from './msn';
import { checkRule, defaultPolicy, grantLifetime, ruleFromMri, sameRule, type NatfwPolicy, type PolicyRule } from './policy';
import type { NatfwRandom } from './random';
import { Session, type BindingSpec, type NatReservation } from './session';
import { TimerHeap } from './timers';

/** IANA NSLPID of the NATFW NSLP (RFC 5973 s7.5). */
export const NATFW_NSLPID = 33;

export type NatfwRole = 'NI' | 'NI+' | 'NF' | 'NR' | 'NR+';
/** RFC 5973 s3.2.8. */
export type SessionState = 'pending' | 'established' | 'transitory' | 'dead';

export interface NatConfig {
  /** The public address this NAT maps internal hosts to. */
  readonly externalAddress: string;
  /** Prefixes on the private side (s3.7.2: which side a message came from). */
  readonly internalPrefixes: readonly Prefix[];
  /** Pool of external ports (default 40000-49999). */
  readonly ports?: PortRange;
}

export interface MiddleboxConfig {
  readonly kind: 'firewall' | 'nat';
  /** Edge-NAT / edge-firewall (s3.7.2, s3.7.6.4: configured by the operator). */
  readonly edge?: boolean;
  readonly policy?: NatfwPolicy;
  readonly nat?: NatConfig;
}

export interface NatfwNodeConfig {
  /** This node's own addresses: a request whose flow destination is one of them ends here (NR). */
  readonly addresses: readonly string[];
  /** Present when the node is a firewall or NAT (an NF); absent for end hosts. */
  readonly middlebox?: MiddleboxConfig;
  readonly authorizer?: SessionAuthorizer;
  readonly random: NatfwRandom;
  readonly codec: NatfwMessageCodec;
  /** Largest lifetime this node grants as NR (s); default 3600. */
  readonly nrMaxLifetime?: number;
  /** RFC 2205 K of s3.4 (lt >= (K + 0.5) * 1.5 * R); default 3. */
  readonly refreshK?: number;
  /** How long an NI waits for a RESPONSE before it gives up on a request (ms); default 15000 (capped by the lifetime). */
  readonly responseTimeoutMs?: number;
  /** s3.2.8 hold time of a Transitory session (ms, default 30000); recorded only, as the core never deletes on NOTIFY 0x01. */
  readonly transitoryHoldMs?: number;
  /** Pinholes get the session expiry plus this (ms), so the core, not the backend, removes them first; default 1000. */
  readonly pinholeGraceMs?: number;
}

/** What an NI asks for (s4.3.1); the application API (natfw-nslp/index.ts) builds it. */
export interface CreateParams {
  readonly mri: PathCoupledMri;
  readonly action?: 'allow' | 'deny';
  readonly subPorts?: number;
  /** Requested lifetime (s); default 120. */
  readonly lifetime?: number;
  /** CREATE-PROXY (s3.7.6.2). */
  readonly proxy?: boolean;
  readonly edgeContinue?: boolean;
  readonly icmpTypes?: readonly number[];
  /** SESSION_AUTH objects (RFC 5981) to attach to every request of the session. */
  readonly sessionAuth?: readonly SessionAuthObject[];
  /** Explicit Session ID (default: random from the injected source). */
  readonly sessionId?: SessionId;
}

/** What an NI+ asks for (s4.3.2). */
export interface ExternalParams {
  /** LE-MRM toward the signalling destination address (DR address as source), or PC-MRM upstream. */
  readonly mri: LooseEndMri | PathCoupledMri;
  readonly dtinfo: DtInfo;
  readonly action?: 'allow' | 'deny';
  readonly subPorts?: number;
  readonly lifetime?: number;
  readonly proxy?: boolean;
  /** Ask intermediate NATs for their bindings (NATFW_EXTERNAL_BINDING, s4.2.3). */
  readonly requestBindings?: boolean;
  readonly sessionAuth?: readonly SessionAuthObject[];
  readonly sessionId?: SessionId;
}

export interface SessionInfo {
  readonly key: string;
  readonly sessionId: SessionId;
  readonly role: NatfwRole;
  readonly kind: 'CREATE' | 'EXTERNAL';
  readonly state: SessionState;
  readonly mri: Mri;
  /** Granted lifetime (s). */
  readonly lifetime: number;
  readonly expiresAt: number;
  readonly rule?: PolicyRule;
  readonly pinholeIds: readonly string[];
  readonly bindingIds: readonly string[];
  readonly externalIp?: ExternalAddress;
}

export type TerminationReason = 'teardown' | 'expired' | 'notify' | 'operator' | 'enforcement' | 'response-error';

export interface NatfwNodeEvents {
  /** NI / NI+: the first successful RESPONSE. */
  established: (ev: { now: number; key: string; lifetime: number; externalIp?: ExternalAddress; externalBinding?: ExternalBinding }) => void;
  /** NI / NI+: a refresh was answered with success. */
  refreshed: (ev: { now: number; key: string; lifetime: number }) => void;
  /** NI / NI+: the initial request was refused (error RESPONSE, GIST failure or no answer). */
  failed: (ev: { now: number; key: string; error: NatfwResponseError }) => void;
  /** NI / NI+: a refresh failed; the session is gone. */
  refreshFailed: (ev: { now: number; key: string; error: NatfwResponseError }) => void;
  /** Any role: the session ended other than by the local application's teardown. */
  terminated: (ev: { now: number; key: string; role: NatfwRole; reason: TerminationReason; info?: InfoCode }) => void;
  /** NR: a CREATE was accepted here. */
  incoming: (ev: { now: number; key: string; mri: Mri; nonce?: number; lifetime: number }) => void;
  /** NF: policy installed (or refreshed) after a successful RESPONSE. */
  installed: (ev: { now: number; key: string; rule: PolicyRule; pinholeIds: readonly string[] }) => void;
  /** Edge NF: an EXTERNAL answered here (s3.7.2), first or as a refresh; `externalIp` is what the DR was told. */
  reserved: (ev: { now: number; key: string; lifetime: number; first: boolean; externalIp?: ExternalAddress }) => void;
  log: (ev: { now: number; level: 'debug' | 'info' | 'warn'; key?: string; msg: string }) => void;
}

type JobContinuation = (now: number, result: EnforcementResult) => void;

const DEFAULT_LIFETIME = 120;

/** What a CREATE becomes downstream of this node (s3.7.1, s3.8); mriDown undefined = as received. */
type NatForCreate =
  | { readonly ok: true; readonly value: { readonly mriDown?: PathCoupledMri; readonly binding?: BindingSpec; readonly allocatedPort?: number } }
  | { readonly ok: false; readonly name: ResponseName; readonly detail: string };

/** Distinct address texts shared between sessions before the table starts over. */
const ADDRESS_TEXT_CACHE = 4096;

/** A firewall changes nothing in a CREATE it forwards. */
const FIREWALL_PASS: NatForCreate = { ok: true, value: {} };

export class NatfwNode {
  readonly events = new EventEmitter<NatfwNodeEvents>();
  private readonly sessions = new Map<string, Session>();
  private readonly timers = new TimerHeap<Session>();
  private readonly jobs: EnforcementJob[] = [];
  private readonly waiting = new Map<number, JobContinuation>();
  private readonly handles = new Map<number, string>();
  private readonly usedPorts = new Set<number>();
  /** Address text shared by the sessions' MRIs (sharedMri). */
  private readonly addressText = new Map<string, string>();
  /** Sessions holding an EXTERNAL reservation (NAT), so that matching a CREATE does not scan every session. */
  private readonly reservations = new Set<Session>();
  private nextJobId = 1;
  private nextHandle = 1;
  private readonly policy: NatfwPolicy;
  private readonly authorizer: SessionAuthorizer;
  private readonly K: number;
  private readonly addresses: Set<string>;

  constructor(
    readonly gist: GistService,
    readonly config: NatfwNodeConfig,
  ) {
    this.policy = config.middlebox?.policy ?? defaultPolicy;
    this.authorizer = config.authorizer ?? acceptAllAuthorizer;
    this.K = config.refreshK ?? 3;
    this.addresses = new Set(config.addresses);
    gist.registerNslp(NATFW_NSLPID);
    gist.events.on('recvMessage', (ev) => this.onRecv(ev));
    gist.events.on('messageStatus', (ev) => this.onMessageStatus(ev));
    gist.events.on('networkNotification', (ev) => this.onNetworkNotification(ev));
  }

  // ---------------------------------------------------------------- queries

  get sessionCount(): number {
    return this.sessions.size;
  }

  session(key: string): SessionInfo | undefined {
    const s = this.sessions.get(key);
    return s === undefined ? undefined : this.info(s);
  }

  listSessions(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => this.info(s));
  }

  private info(s: Session): SessionInfo {
    return {
      key: s.key,
      sessionId: sidOf(s),
      role: s.role,
      kind: s.kind,
      state: s.state,
      mri: s.mriUp,
      lifetime: s.lifetime,
      expiresAt: s.expiresAt,
      rule: installedRule(s),
      pinholeIds: [...s.pinholeIds],
      bindingIds: [...s.bindingIds],
      externalIp: s.externalIp,
    };
  }

  // ---------------------------------------------------------------- driver side

  /** Earliest time `handleTimeout` has something to do. */
  nextDeadline(): number | undefined {
    return this.timers.next();
  }

  /** Fires everything due by `now`; spurious calls are harmless. */
  handleTimeout(now: number): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const s = this.timers.popDue(now);
      if (s === undefined) return;
      if (this.sessions.get(s.key) === s) this.onSessionTimer(now, s);
    }
  }

  /** Number of enforcement transactions waiting for `pollEnforcement` (a driver can skip polling when 0). */
  get queuedEnforcement(): number {
    return this.jobs.length;
  }

  /** Next enforcement transaction to run (runEnforcementJob), then answer with `enforcementDone`. */
  pollEnforcement(): EnforcementJob | undefined {
    return this.jobs.shift();
  }

  enforcementDone(now: number, jobId: number, result: EnforcementResult): void {
    const k = this.waiting.get(jobId);
    if (k === undefined) return;
    this.waiting.delete(jobId);
    k(now, result);
  }

  private submit(ops: EnforcementOp[], k: JobContinuation): void {
    const jobId = this.nextJobId++;
    this.jobs.push({ jobId, ops });
    this.waiting.set(jobId, k);
  }

  // ---------------------------------------------------------------- application (NI / NI+)

  /** NI: starts a CREATE session (s3.7.1). Results come as `established` / `failed` events. */
  create(now: number, params: CreateParams): string {
    checkInitiatorParams(params);
    const s = this.newInitiatorSession(now, 'NI', 'CREATE', params.mri, params, params.sessionId);
    s.proxy = params.proxy === true;
    // s3.7.6.2 leaves the CREATE-PROXY nonce open: a fresh random value (rfc-traps.md).
    if (s.proxy) s.nonce = this.config.random.u32();
    this.sendRequest(now, s, params.lifetime ?? DEFAULT_LIFETIME);
    return s.key;
  }

  /** NI+: reserves at the edge (s3.7.2). Results come as `established` (with externalIp) / `failed` events. */
  external(now: number, params: ExternalParams): string {
    checkInitiatorParams(params);
    const s = this.newInitiatorSession(now, 'NI+', 'EXTERNAL', params.mri, params, params.sessionId);
    s.proxy = params.proxy === true;
    // s3.7.6.1: the NI+ takes the SID as nonce; NATFW_NONCE is 32 bits, so its first 32 bits (rfc-traps.md).
    if (s.proxy) s.nonce = sidNonce(sidOf(s));
    this.sendRequest(now, s, params.lifetime ?? DEFAULT_LIFETIME);
    return s.key;
  }

  /** NI / NI+: teardown = request with lifetime 0 (s3.7.4); state goes at once, no RESPONSE comes. */
  teardown(now: number, key: string): boolean {
    const s = this.sessions.get(key);
    if (s === undefined || (s.role !== 'NI' && s.role !== 'NI+')) return false;
    s.msn = msnNext(s.msn);
    this.sendInitiatorMessage(now, s, 0);
    this.dropSession(now, s);
    return true;
  }

  private newInitiatorSession(now: number, role: NatfwRole, kind: 'CREATE' | 'EXTERNAL', mri: Mri, params: CreateParams | ExternalParams, sid?: SessionId): Session {
    let sessionId = sid ?? this.config.random.bytes(16);
    let key = sessionIdKey(sessionId);
    for (let i = 0; this.sessions.has(key) && i < 8; i++) {
      sessionId = this.config.random.bytes(16);
      key = sessionIdKey(sessionId);
    }
    const s = new Session(key, role, kind, mri, now, this.intern);
    // s3.5: the initial MSN is random
    s.msn = this.config.random.u32();
    s.params = params;
    this.sessions.set(key, s);
    return s;
  }

  private sendRequest(now: number, s: Session, lifetime: number): void {
    s.pendingMsn = s.msn;
    this.sendInitiatorMessage(now, s, lifetime);
    const timeout = Math.min(this.config.responseTimeoutMs ?? 15000, Math.max(1, lifetime) * 1000);
    s.requestDeadline = now + timeout;
    this.arm(s);
  }

  private sendInitiatorMessage(now: number, s: Session, lifetime: number): void {
    const p = s.params;
    if (p === undefined) return;
    const efi: Efi = { ruleAction: p.action === 'deny' ? 2 : 1, subPorts: p.subPorts ?? 0 };
    const carried: Carried | undefined = p.sessionAuth !== undefined ? { sessionAuth: p.sessionAuth, forward: [] } : undefined;
    let msg: NatfwMsg;
    if (s.kind === 'CREATE') {
      const cp = p as CreateParams;
      msg = {
        type: 'CREATE',
        proxy: s.proxy,
        edgeContinue: s.proxy && cp.edgeContinue === true,
        lifetime,
        msn: s.msn,
        efi,
        nonce: s.nonce,
        icmpTypes: cp.icmpTypes,
        carried,
      };
    } else {
      const ep = p as ExternalParams;
      msg = {
        type: 'EXTERNAL',
        proxy: s.proxy,
        edgeContinue: false,
        lifetime,
        msn: s.msn,
        efi,
        nonce: s.nonce,
        dtinfo: ep.dtinfo,
        externalBinding: ep.requestBindings === true ? { port: 0, addresses: [] } : undefined,
        carried,
      };
    }
    this.sendDown(now, s, msg);
  }

  // ---------------------------------------------------------------- operator

  /** Asynchronous teardown by the operator (s3.7.5): pinholes go, NOTIFY 1/0x05 both ways. */
  terminate(now: number, key: string, reason: TerminationReason = 'operator'): boolean {
    const s = this.sessions.get(key);
    if (s === undefined) return false;
    const n = info('SESSION_TERMINATED');
    this.notifyBothWays(now, s, n);
    this.emitTerminated(now, s, reason, n);
    this.killSession(now, s);
    return true;
  }

  /**
   * The enforcement backend lost or refused state outside a transaction the
   * core asked for (e.g. a reconcile found pinholes gone): every session that
   * owns one of `pinholeIds` is terminated with NOTIFY (s3.7.5).
   */
  enforcementFailure(now: number, pinholeIds: readonly string[]): void {
    const ids = new Set(pinholeIds);
    for (const s of [...this.sessions.values()]) {
      if (s.pinholeIds.some((id) => ids.has(id)) || s.bindingIds.some((id) => ids.has(id))) {
        s.pinholeIds = s.pinholeIds.filter((id) => !ids.has(id));
        s.bindingIds = s.bindingIds.filter((id) => !ids.has(id));
        this.terminate(now, s.key, 'enforcement');
      }
    }
  }

  // ---------------------------------------------------------------- GIST input

  private onRecv(ev: RecvMessageEvent): void {
    if (ev.nslpId !== NATFW_NSLPID) return;
    const now = ev.now;
    const key = sessionIdKey(ev.sessionId);
    rememberSid(key, ev.sessionId);
    if (ev.nslpData.length === 0) {
      // No NSLP payload: a GIST Query that only refreshes routing state (RFC 5971 s4.3.2, NSLP-Data is
      // optional). There is no NATFW message to answer (s3.2.7); only the peering decision is ours.
      if (ev.routingStateCheck) ev.peering = { accept: this.wouldTakePart(key, ev.mri) };
      return;
    }
    const dec = this.config.codec.decode(ev.nslpData);
    if (!dec.ok) {
      // s3.3: syntax errors on requests answer 3/xx; RESPONSE and NOTIFY are never answered (s3.2.7).
      const t = dec.error.messageType;
      if (t === 3 || t === 4) return;
      if (ev.routingStateCheck && !this.wouldTakePart(key, ev.mri)) {
        ev.peering = { accept: false };
        return;
      }
      this.log(now, 'info', `undecodable NATFW message: ${dec.error.message}`, key);
      this.sendResponseUp(now, ev.sessionId, ev.mri, ev.siiHandle, {
        type: 'RESPONSE',
        info: { responseClass: dec.error.responseClass, responseCode: dec.error.responseCode, objectType: dec.error.objectType ?? 0 },
        msn: dec.error.msn ?? 0,
      });
      return;
    }
    const msg = dec.value;
    switch (msg.type) {
      case 'CREATE':
        this.onCreate(ev, key, msg);
        return;
      case 'EXTERNAL':
        this.onExternal(ev, key, msg);
        return;
      case 'RESPONSE':
        if (ev.routingStateCheck) ev.peering = { accept: this.sessions.has(key) };
        this.onResponse(now, ev, key, msg);
        return;
      case 'NOTIFY':
        if (ev.routingStateCheck) ev.peering = { accept: this.sessions.has(key) };
        this.onNotify(now, ev, key, msg);
        return;
    }
  }

  /** Whether this node joins a new session for this MRI (NR by address, or NF as a middlebox). */
  private wouldTakePart(key: string, mri: Mri): boolean {
    if (this.sessions.has(key)) return true;
    if (this.config.middlebox !== undefined) return true;
    return this.isOwnFlowDestination(mri);
  }

  private isNatExternal(address: string): boolean {
    const mb = this.config.middlebox;
    return mb?.kind === 'nat' && mb.nat?.externalAddress === address;
  }

  private isOwnFlowDestination(mri: Mri): boolean {
    // CREATE: the data receiver is the MRI destination (s4.3.1). EXTERNAL with LE-MRM: the SDA.
    return this.addresses.has(mri.destinationAddress);
  }

  // ---------------------------------------------------------------- CREATE

  /** A CREATE is refused: the error RESPONSE goes back over the reverse routing state (s3.7.1), nothing is kept. */
  private refuseCreate(ev: RecvMessageEvent, key: string, msn: number, name: ResponseName, detail: string, lifetime?: number): void {
    this.log(ev.now, 'info', `CREATE refused: ${name} (${detail})`, key);
    this.sendResponseUp(ev.now, ev.sessionId, ev.mri, ev.siiHandle, { type: 'RESPONSE', info: info(name), msn, lifetime });
  }

  private onCreate(ev: RecvMessageEvent, key: string, msg: CreateMsg): void {
    const now = ev.now;
    const existing = this.sessions.get(key);
    if (existing !== undefined && (existing.role === 'NI' || existing.role === 'NI+')) {
      // s3.7.1: an NI never receives CREATE and MUST discard it.
      if (ev.routingStateCheck) ev.peering = { accept: false };
      return;
    }
    if (existing !== undefined && existing.kind !== 'CREATE') return;
    if (existing !== undefined && !msnGreater(msg.msn, existing.msn)) {
      // s3.5: equal or lower MSN = duplicate, delayed or replayed: discard.
      this.log(now, 'debug', `CREATE msn ${msg.msn} not newer than ${existing.msn}: discarded`, key);
      return;
    }
    if (msg.lifetime === 0) {
      this.onDelete(ev, key, existing, msg);
      return;
    }
    let role: NatfwRole;
    let terminating = false;
    if (existing !== undefined) {
      role = existing.role;
      terminating = existing.terminating;
    } else if (this.isOwnFlowDestination(ev.mri) && !this.isNatExternal(ev.mri.destinationAddress)) {
      // A CREATE to the NAT's external address is for a host behind it (s3.8), not for the NAT.
      role = 'NR';
    } else if (this.config.middlebox !== undefined) {
      role = 'NF';
      // s3.7.6.2: CREATE-PROXY ends at the edge device, which acts as NR.
      terminating = msg.proxy && this.config.middlebox.edge === true;
    } else {
      if (ev.routingStateCheck) ev.peering = { accept: false };
      return;
    }
    if (ev.routingStateCheck) ev.peering = { accept: true };
    if (msg.proxy && msg.nonce === undefined) return this.refuseCreate(ev, key, msg.msn, 'MANDATORY_OBJECT_MISSING', 'CREATE-PROXY without NATFW_NONCE (s4.3.1)');
    if (ev.mri.mrm !== 'path-coupled' || ev.mri.direction !== 'downstream') {
      return this.refuseCreate(ev, key, msg.msn, 'UNKNOWN_FIELD_VALUE', 'CREATE must use the path-coupled MRM, downstream (s4.3.1)');
    }
    if (role === 'NR') {
      this.createAtResponder(ev, key, existing, msg);
      return;
    }
    this.createAtForwarder(ev, key, existing, msg, terminating);
  }

  private createAtResponder(
    ev: RecvMessageEvent,
    key: string,
    existing: Session | undefined,
    msg: CreateMsg,
  ): void {
    const now = ev.now;
    const mri = ev.mri as PathCoupledMri;
    if (msg.efi.ruleAction !== 1 && msg.efi.ruleAction !== 2) return this.refuseCreate(ev, key, msg.msn, 'UNKNOWN_RULE_ACTION', `rule action ${msg.efi.ruleAction}`);
    if (msg.efi.subPorts !== 0 && msg.efi.subPorts !== 1) return this.refuseCreate(ev, key, msg.msn, 'SUB_PORTS_NOT_PERMITTED', `sub_ports ${msg.efi.subPorts}`);
    const maxLt = this.config.nrMaxLifetime ?? 3600;
    const lt = Math.min(msg.lifetime, maxLt);
    const rule = ruleFromMri(mri, msg.efi);
    if (rule.ok) {
      const auth = this.authorize(now, 'CREATE', ev, mri, rule.value, msg.carried);
      if (auth !== undefined) return this.refuseCreate(ev, key, msg.msn, auth.name, auth.detail);
    }
    const s = existing ?? this.newSession(key, 'NR', 'CREATE', mri);
    if (existing !== undefined && !existing.isUp(mri)) existing.setUp(mri, this.intern);
    s.setDown(undefined);
    s.upSii = ev.siiHandle;
    s.msn = msg.msn;
    s.nonce = msg.nonce;
    s.lifetime = lt;
    s.state = 'established';
    s.expiresAt = now + lt * 1000;
    this.arm(s);
    this.gist.setStateLifetime(now, NATFW_NSLPID, mri, ev.sessionId, lt * 1000);
    this.sendResponseUp(now, ev.sessionId, mri, s.upSii, { type: 'RESPONSE', info: info('SUCCESS'), msn: msg.msn, lifetime: lt });
    if (existing === undefined) this.events.emit('incoming', { now, key, mri, nonce: msg.nonce, lifetime: lt });
  }

  private createAtForwarder(
    ev: RecvMessageEvent,
    key: string,
    existing: Session | undefined,
    msg: CreateMsg,
    terminating: boolean,
  ): void {
    const now = ev.now;
    const mriUp = ev.mri as PathCoupledMri;
    if (existing !== undefined && existing.jobBusy) {
      // One transaction per session at a time; the NI's next refresh retries.
      this.log(now, 'debug', 'CREATE while an enforcement job runs: discarded', key);
      return;
    }
    const efiCheck = ruleFromMri(mriUp, msg.efi);
    if (!efiCheck.ok) return this.refuseCreate(ev, key, msg.msn, efiCheck.name, efiCheck.detail);
    // NAT: rewrite the MRI as the CREATE crosses the NAT (s3.7.1, s3.8).
    const nat = this.config.middlebox?.kind === 'nat' ? this.natForCreate(mriUp, existing) : FIREWALL_PASS;
    if (!nat.ok) return this.refuseCreate(ev, key, msg.msn, nat.name, nat.detail);
    const mriDown = nat.value.mriDown ?? mriUp;
    // A firewall forwards the MRI as received: the rule is the one just made.
    const ruleRes = mriDown === mriUp ? efiCheck : ruleFromMri(mriDown, msg.efi);
    if (!ruleRes.ok) return this.refuseCreate(ev, key, msg.msn, ruleRes.name, ruleRes.detail);
    const checked = checkRule(this.policy, ruleRes.value, msg.icmpTypes);
    if (!checked.ok) return this.refuseCreate(ev, key, msg.msn, checked.name, checked.detail);
    const lt = grantLifetime(this.policy, msg.lifetime);
    if (!lt.ok) return this.refuseCreate(ev, key, msg.msn, lt.name, lt.detail, lt.name === 'LIFETIME_TOO_BIG' ? this.policy.maxLifetime : this.policy.minLifetime);
    if (existing === undefined && this.policy.maxSessions !== undefined && this.sessions.size >= this.policy.maxSessions) {
      return this.refuseCreate(ev, key, msg.msn, 'RESOURCES_UNAVAILABLE', `session limit ${this.policy.maxSessions}`);
    }
    const auth = this.authorize(now, 'CREATE', ev, mriUp, ruleRes.value, msg.carried);
    if (auth !== undefined) return this.refuseCreate(ev, key, msg.msn, auth.name, auth.detail);

    // A refresh names the same flow: the session's MRI stays as it is.
    const s = existing ?? this.newSession(key, 'NF', 'CREATE', mriUp);
    if (existing !== undefined && !existing.isUp(mriUp)) existing.setUp(mriUp, this.intern);
    s.terminating = terminating;
    s.proxy = msg.proxy;
    if (msg.nonce !== undefined || s.nonce !== undefined) s.nonce = msg.nonce;
    s.setDown(mriDown === mriUp ? undefined : this.sharedMri(mriDown));
    s.upSii = ev.siiHandle;
    // s3.5: store the MSN once the security checks passed.
    s.msn = msg.msn;
    s.pendingMsn = msg.msn;
    s.acceptLt = lt.value;
    // s3.7.1: the rule is remembered as the EFI; it is made again from mriDown when installed.
    s.pendingEfi = msg.efi.ruleAction * 2 + msg.efi.subPorts;
    if (nat.value.binding !== undefined || s.pendingBinding !== undefined) s.pendingBinding = nat.value.binding;
    if (nat.value.allocatedPort !== undefined) this.usedPorts.add(nat.value.allocatedPort);
    if (terminating) {
      // Proxy NR at the edge: install now, then answer as the NR would (s3.7.6.2).
      this.commitPending(now, s, lt.value, (ok) => {
        if (!ok) return;
        this.sendUp(now, s, { type: 'RESPONSE', info: info('SUCCESS'), msn: msg.msn, lifetime: lt.value });
      });
      // s3.7.6.3: with E set the edge also sends it on toward the NR.
      if (msg.edgeContinue) this.sendDown(now, s, lt.value === msg.lifetime ? msg : { ...msg, lifetime: lt.value }, mriDown);
      s.pendingMsn = undefined;
      return;
    }
    if (existing === undefined) {
      // s3.2.8: Pending becomes Dead if no RESPONSE comes within the granted lifetime.
      s.requestDeadline = now + lt.value * 1000;
      this.arm(s);
    }
    this.sendDown(now, s, lt.value === msg.lifetime ? msg : { ...msg, lifetime: lt.value }, mriDown);
  }

  /** s3.7.4: lifetime 0 deletes the session here at once and goes on to the NR; no RESPONSE. */
  private onDelete(ev: RecvMessageEvent, key: string, existing: Session | undefined, msg: CreateMsg | ExternalMsg): void {
    const now = ev.now;
    if (existing === undefined) {
      if (ev.routingStateCheck) ev.peering = { accept: false };
      return;
    }
    if (ev.routingStateCheck) ev.peering = { accept: true };
    existing.msn = msg.msn;
    if (existing.role === 'NF' && !existing.terminating) this.sendDown(now, existing, msg);
    this.emitTerminated(now, existing, 'teardown');
    this.killSession(now, existing);
  }

  private natForCreate(
    mri: PathCoupledMri,
    existing: Session | undefined,
  ): NatForCreate {
    const nat = this.config.middlebox?.kind === 'nat' ? this.config.middlebox.nat : undefined;
    if (nat === undefined) return { ok: true, value: { mriDown: mri } };
    const proto = mri.protocol ?? 0;
    if (mri.destinationAddress === nat.externalAddress) {
      // Public side: the CREATE must match a reservation made by EXTERNAL (s3.7.1, Table 1 of s3.8).
      const r = this.findReservation(mri);
      if (r === undefined) return { ok: false, name: 'NO_RESERVATION', detail: `no EXTERNAL reservation for ${mri.destinationAddress}:${mri.destinationPort ?? '*'}` };
      const internalPort = r.internalPort !== 0 ? r.internalPort : mri.destinationPort;
      const mriDown: PathCoupledMri = { ...mri, destinationAddress: r.internalAddress, destinationPrefix: mri.destinationPrefix, destinationPort: internalPort };
      return {
        ok: true,
        value: {
          mriDown,
          binding: { protocol: proto, external: { address: nat.externalAddress, port: r.externalPort }, internal: { address: r.internalAddress, port: internalPort ?? 0 } },
        },
      };
    }
    const fromInside = nat.internalPrefixes.some((p) => prefixContains(p, mri.sourceAddress));
    const toInside = nat.internalPrefixes.some((p) => prefixContains(p, mri.destinationAddress));
    if (fromInside && !toInside) {
      // Private side, data sender behind the NAT: allocate a binding, rewrite the source (s3.7.1, NAT case).
      const existingUp = existing?.binding !== undefined ? existing.mriUp : undefined;
      if (existing?.binding !== undefined && existingUp?.mrm === 'path-coupled' && existingUp.sourcePort === mri.sourcePort) {
        const b = existing.binding;
        return { ok: true, value: { mriDown: { ...mri, sourceAddress: b.external.address, sourcePrefix: mri.sourcePrefix, sourcePort: b.external.port }, binding: b } };
      }
      if (mri.sourcePort === undefined || mri.sourcePort === 0) return { ok: false, name: 'SRC_PORT_RANGE_TOO_LARGE', detail: 'a NAT binding needs the source port' };
      const port = this.allocatePort();
      if (port === undefined) return { ok: false, name: 'RESOURCES_UNAVAILABLE', detail: 'no free external port' };
      return {
        ok: true,
        value: {
          mriDown: { ...mri, sourceAddress: nat.externalAddress, sourcePort: port },
          binding: { protocol: proto, external: { address: nat.externalAddress, port }, internal: { address: mri.sourceAddress, port: mri.sourcePort } },
          allocatedPort: port,
        },
      };
    }
    return { ok: true, value: { mriDown: mri } };
  }

  private findReservation(mri: PathCoupledMri): NatReservation | undefined {
    for (const s of this.reservations) {
      const r = s.reservation;
      if (r === undefined || s.state === 'dead') continue;
      if (s.ipVersion !== mri.ipVersion) continue;
      if (r.protocol !== undefined && r.protocol !== mri.protocol) continue;
      if (r.senderPrefix > 0 && !isWildcardAddress(r.senderAddress) && !prefixContains({ address: r.senderAddress, length: r.senderPrefix }, mri.sourceAddress)) continue;
      if (r.dsPort !== 0 && r.dsPort !== mri.sourcePort) continue;
      if (r.externalPort !== 0 && r.externalPort !== mri.destinationPort) continue;
      return r;
    }
    return undefined;
  }

  private allocatePort(): number | undefined {
    const range = this.config.middlebox?.nat?.ports ?? { from: 40000, to: 49999 };
    const size = range.to - range.from + 1;
    if (size <= 0) return undefined;
    const start = this.config.random.u32() % size;
    for (let i = 0; i < Math.min(size, 65536); i++) {
      const p = range.from + ((start + i) % size);
      if (!this.usedPorts.has(p)) return p;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- EXTERNAL

  private onExternal(ev: RecvMessageEvent, key: string, msg: ExternalMsg): void {
    const now = ev.now;
    const existing = this.sessions.get(key);
    if (existing !== undefined && (existing.role === 'NI' || existing.role === 'NI+')) {
      // s3.7.2: the NI silently discards EXTERNAL.
      if (ev.routingStateCheck) ev.peering = { accept: false };
      return;
    }
    if (existing !== undefined && existing.kind !== 'EXTERNAL') return;
    if (existing !== undefined && !msnGreater(msg.msn, existing.msn)) return;
    if (msg.lifetime === 0) {
      this.onDelete(ev, key, existing, msg);
      return;
    }
    const mb = this.config.middlebox;
    if (ev.routingStateCheck) ev.peering = { accept: mb !== undefined || this.isOwnFlowDestination(ev.mri) || existing !== undefined };
    if (mb === undefined && existing === undefined && !this.isOwnFlowDestination(ev.mri)) return;
    const refuse = (name: ResponseName, detail: string, lifetime?: number): void => {
      this.log(now, 'info', `EXTERNAL refused: ${name} (${detail})`, key);
      this.sendResponseUp(now, ev.sessionId, ev.mri, ev.siiHandle, { type: 'RESPONSE', info: info(name), msn: msg.msn, lifetime });
    };
    if (mb === undefined) {
      // s3.7.2: an NR+ never gets EXTERNAL: 5/0x06.
      return refuse('NO_EDGE_DEVICE', 'EXTERNAL reached an end host');
    }
    if (existing?.jobBusy === true) return;
    if (msg.proxy && msg.nonce === undefined) return refuse('MANDATORY_OBJECT_MISSING', 'EXTERNAL-PROXY without NATFW_NONCE');
    if (msg.efi.ruleAction !== 1 && msg.efi.ruleAction !== 2) return refuse('UNKNOWN_RULE_ACTION', `rule action ${msg.efi.ruleAction}`);
    if (msg.efi.subPorts !== 0 && msg.efi.subPorts !== 1) return refuse('SUB_PORTS_NOT_PERMITTED', `sub_ports ${msg.efi.subPorts}`);
    const dt = msg.dtinfo;
    if (dt === undefined) return refuse('DTINFO_REQUIRED', 'EXTERNAL without NATFW_DTINFO (s4.3.2)');
    const action = msg.efi.ruleAction === 1 ? 'allow' : 'deny';
    if (action === 'deny' && !this.policy.allowDeny) return refuse('RULE_ACTION_NOT_APPLICABLE', 'deny rules not allowed here');
    if (dt.protocol !== undefined && this.policy.protocols !== undefined && !this.policy.protocols.includes(dt.protocol)) {
      return refuse('PROTOCOL_NOT_SUPPORTED', `protocol ${dt.protocol}`);
    }
    const lt = grantLifetime(this.policy, msg.lifetime);
    if (!lt.ok) return refuse(lt.name, lt.detail, lt.name === 'LIFETIME_TOO_BIG' ? this.policy.maxLifetime : this.policy.minLifetime);
    if (existing === undefined && this.policy.maxSessions !== undefined && this.sessions.size >= this.policy.maxSessions) {
      return refuse('RESOURCES_UNAVAILABLE', `session limit ${this.policy.maxSessions}`);
    }
    // The DR (NI+) address: LE-MRM source, or the PC-MRM destination of the inbound flow (s4.3.2).
    const drAddress = ev.mri.mrm === 'loose-end' ? ev.mri.sourceAddress : ev.mri.destinationAddress;
    const flowRule: PolicyRule = {
      protocol: dt.protocol ?? 0,
      src: { address: dt.senderAddress, length: dt.senderPrefix },
      srcPorts: dt.dsPort !== undefined && dt.dsPort !== 0 ? { from: dt.dsPort, to: dt.dsPort } : undefined,
      dst: { address: drAddress, length: ev.mri.ipVersion === 4 ? 32 : 128 },
      dstPorts: dt.drPort !== undefined && dt.drPort !== 0 ? { from: dt.drPort, to: dt.drPort + msg.efi.subPorts } : undefined,
      action,
    };
    const auth = this.authorize(now, 'EXTERNAL', ev, ev.mri, flowRule, msg.carried);
    if (auth !== undefined) return refuse(auth.name, auth.detail);

    const edge = mb.edge === true;
    let mriDown: Mri = ev.mri;
    let dtDown: DtInfo = dt;
    let externalIp: ExternalAddress | undefined;
    let reservation: NatReservation | undefined = existing?.reservation;
    let bindingDown = msg.externalBinding;
    if (mb.kind === 'nat' && mb.nat !== undefined) {
      const nat = mb.nat;
      const fromInside = nat.internalPrefixes.some((p) => prefixContains(p, drAddress));
      // s3.7.2: EXTERNAL arriving on the external side is 3/0x0B; deny at a NAT is "rule action not
      // applicable", taken as 7/0x06 (the s4.2.5 table; rfc-traps.md on the class mix-up).
      if (!fromInside) return refuse('EXTERNAL_ON_EXTERNAL_SIDE', `DR ${drAddress} is not on the private side`);
      if (action === 'deny') return refuse('RULE_ACTION_NOT_APPLICABLE', 'a NAT cannot reserve a deny rule');
      if (reservation === undefined) {
        const port = dt.drPort !== undefined && dt.drPort !== 0 ? this.allocatePort() : 0;
        if (port === undefined) return refuse('RESOURCES_UNAVAILABLE', 'no free external port');
        if (port !== 0) this.usedPorts.add(port);
        reservation = {
          protocol: dt.protocol,
          senderAddress: dt.senderAddress,
          senderPrefix: dt.senderPrefix,
          dsPort: dt.dsPort ?? 0,
          externalPort: port,
          internalAddress: drAddress,
          internalPort: dt.drPort ?? 0,
        };
      }
      externalIp = { address: nat.externalAddress, port: reservation.externalPort };
      if (!edge) {
        // Not the edge: go on with the translated address and port (s3.7.2 NAT case).
        mriDown = ev.mri.mrm === 'loose-end' ? { ...ev.mri, sourceAddress: nat.externalAddress } : { ...ev.mri, destinationAddress: nat.externalAddress };
        dtDown = { ...dt, drPort: reservation.externalPort !== 0 ? reservation.externalPort : dt.drPort };
        if (bindingDown !== undefined) bindingDown = { port: reservation.externalPort, addresses: [...bindingDown.addresses, nat.externalAddress] };
      }
    } else if (edge && action === 'allow' && ev.mri.mrm === 'loose-end') {
      // Edge firewall: NATFW_EXTERNAL_IP from the LE source and DTINFO's DR port (s3.7.2).
      externalIp = { address: drAddress, port: dt.drPort ?? 0 };
    }

    const s = existing ?? this.newSession(key, 'NF', 'EXTERNAL', ev.mri);
    if (existing !== undefined && !existing.isUp(ev.mri)) existing.setUp(ev.mri, this.intern);
    s.setDown(mriDown === ev.mri ? undefined : mriDown);
    s.upSii = ev.siiHandle;
    s.msn = msg.msn;
    s.proxy = msg.proxy;
    s.nonce = msg.nonce;
    s.acceptLt = lt.value;
    s.reservation = reservation;
    if (reservation !== undefined) this.reservations.add(s);
    s.externalIp = externalIp;
    s.terminating = edge;
    if (edge) {
      const respond = (): void => {
        const first = !s.everEstablished;
        s.state = 'established';
        s.everEstablished = true;
        s.lifetime = lt.value;
        s.expiresAt = now + lt.value * 1000;
        this.arm(s);
        this.gist.setStateLifetime(now, NATFW_NSLPID, s.mriUp, sidOf(s), lt.value * 1000);
        this.sendUp(now, s, {
          type: 'RESPONSE',
          info: info('SUCCESS'),
          msn: msg.msn,
          lifetime: lt.value,
          externalIp: action === 'allow' ? externalIp : undefined,
          // s3.7.2: the edge copies NATFW_EXTERNAL_BINDING into the RESPONSE.
          externalBinding: msg.externalBinding,
        });
        if (this.events.listenerCount('reserved') > 0) {
          this.events.emit('reserved', { now, key: s.key, lifetime: lt.value, first, ...(action === 'allow' && externalIp !== undefined ? { externalIp } : {}) });
        }
      };
      // s3.7.2: an edge firewall loads a deny rule at once. s3.7.6.1: for EXTERNAL-PROXY the edge
      // acts for an NSIS-unaware data sender, so it activates the reservation itself.
      const proxied = msg.proxy && action === 'allow';
      if ((action === 'deny' && mb.kind === 'firewall') || proxied) {
        s.pendingRule = flowRule;
        const r = s.reservation;
        const nat = mb.nat;
        if (proxied && nat !== undefined && r !== undefined && r.externalPort !== 0 && r.internalPort !== 0 && dt.protocol !== undefined) {
          s.pendingBinding = { protocol: dt.protocol, external: { address: nat.externalAddress, port: r.externalPort }, internal: { address: r.internalAddress, port: r.internalPort } };
        }
        s.pendingMsn = msg.msn;
        this.commitPending(now, s, lt.value, (ok, errInfo) => {
          if (!ok) {
            this.sendResponseUp(now, ev.sessionId, ev.mri, ev.siiHandle, { type: 'RESPONSE', info: errInfo ?? info('INTERNAL_ERROR'), msn: msg.msn });
            return;
          }
          respond();
          if (proxied) this.proxyCreate(now, s, dt, drAddress, msg.nonce ?? 0);
        });
        s.pendingMsn = undefined;
      } else {
        respond();
      }
      return;
    }
    s.pendingMsn = msg.msn;
    if (existing === undefined) {
      s.requestDeadline = now + lt.value * 1000;
      this.arm(s);
    }
    this.sendDown(now, s, { ...msg, lifetime: lt.value, dtinfo: dtDown, externalBinding: bindingDown });
  }

  /**
   * s3.7.6.1: the edge that accepted an EXTERNAL-PROXY sends a CREATE (never a CREATE-PROXY) toward
   * the DR with the same NATFW_NONCE, refreshed only when the EXTERNAL-PROXY is refreshed.
   */
  private proxyCreate(now: number, parent: Session, dt: DtInfo, drAddress: string, nonce: number): void {
    const child = parent.proxyChild !== undefined ? this.sessions.get(parent.proxyChild) : undefined;
    if (child !== undefined) {
      this.refreshNow(now, child);
      return;
    }
    const v = parent.ipVersion;
    const wildcard = dt.senderPrefix === 0 || isWildcardAddress(dt.senderAddress);
    const ports = dt.protocol === 6 || dt.protocol === 17 || dt.protocol === 33 || dt.protocol === 132;
    const mri: PathCoupledMri = {
      mrm: 'path-coupled',
      ipVersion: v,
      sourceAddress: wildcard ? (v === 4 ? '0.0.0.0' : '::') : dt.senderAddress,
      sourcePrefix: wildcard ? 0 : dt.senderPrefix,
      destinationAddress: drAddress,
      destinationPrefix: v === 4 ? 32 : 128,
      ...(dt.protocol !== undefined ? { protocol: dt.protocol } : {}),
      ...(ports ? { sourcePort: dt.dsPort ?? 0, destinationPort: dt.drPort ?? 0 } : {}),
      direction: 'downstream',
    };
    const c = this.newInitiatorSession(now, 'NI', 'CREATE', mri, { mri, lifetime: parent.lifetime, action: 'allow' });
    c.nonce = nonce;
    c.proxyParent = parent.key;
    parent.proxyChild = c.key;
    this.sendRequest(now, c, parent.lifetime);
  }

  // ---------------------------------------------------------------- RESPONSE

  private onResponse(now: number, ev: RecvMessageEvent, key: string, msg: ResponseMsg): void {
    const s = this.sessions.get(key);
    if (s === undefined) return;
    // s3.7.1: the NR silently drops RESPONSEs; s3.5: a RESPONSE must match the request's MSN.
    if (s.role === 'NR' || s.role === 'NR+') return;
    if (s.pendingMsn === undefined || msg.msn !== s.pendingMsn) {
      this.log(now, 'debug', `RESPONSE msn ${msg.msn} matches no outstanding request`, key);
      return;
    }
    s.downSii = ev.siiHandle;
    // The request is answered: its GIST message handle is of no more use.
    if (s.handle !== 0) {
      this.handles.delete(s.handle);
      s.handle = 0;
    }
    if (s.role === 'NI' || s.role === 'NI+') {
      this.responseAtInitiator(now, s, msg);
      return;
    }
    if (s.terminating) return;
    s.pendingMsn = undefined;
    s.requestDeadline = undefined;
    if (msg.info.responseClass !== CLASS_SUCCESS) {
      // s3.7.1: error RESPONSE: session Dead, nothing installed, RESPONSE goes on toward the NI.
      this.sendUp(now, s, msg);
      this.killSession(now, s);
      return;
    }
    const lt = msg.lifetime ?? s.acceptLt;
    if (lt > s.acceptLt || lt < this.policy.minLifetime) {
      // s3.4: a granted lifetime outside what this node accepted: 7/0x11 or 7/0x12 upstream with the
      // limit, and NOTIFY 1/0x05 outbound.
      const big = lt > s.acceptLt;
      this.sendUp(now, s, {
        type: 'RESPONSE',
        info: info(big ? 'MODIFIED_LIFETIME_TOO_BIG' : 'MODIFIED_LIFETIME_TOO_SMALL'),
        msn: msg.msn,
        lifetime: big ? s.acceptLt : this.policy.minLifetime,
      });
      this.sendNotifyDown(now, s, info('SESSION_TERMINATED'));
      this.killSession(now, s);
      return;
    }
    if (s.kind === 'EXTERNAL') {
      // Reservations are activated by a later CREATE (s3.7.2); a non-edge firewall only remembers.
      s.state = 'established';
      s.lifetime = lt;
      s.expiresAt = now + lt * 1000;
      this.arm(s);
      this.gist.setStateLifetime(now, NATFW_NSLPID, s.mriUp, sidOf(s), lt * 1000);
      this.sendUp(now, s, msg);
      return;
    }
    this.commitPending(now, s, lt, (ok, errInfo) => {
      if (ok) {
        this.sendUp(now, s, msg);
        return;
      }
      this.sendUp(now, s, { type: 'RESPONSE', info: errInfo ?? info('INTERNAL_ERROR'), msn: msg.msn });
    });
  }

  /**
   * Installs (or refreshes / replaces) the remembered rule of `s` for `lt` s
   * in one transaction, then calls `k`. On failure nothing changed in the
   * backend; the session is torn down (old pinholes removed), NOTIFY 1/0x05 goes
   * downstream, and `k(false, code)` tells the caller what to answer upstream.
   */
  private commitPending(now: number, s: Session, lt: number, k: (ok: boolean, errInfo?: InfoCode) => void): void {
    const expiresAt = now + lt * 1000;
    const pinExpiry = expiresAt + (this.config.pinholeGraceMs ?? 1000);
    const pendingEfi = s.pendingEfi;
    const hasPinholes = s.pinholeId !== undefined || s.pinholeIds.length > 0;
    let rule: PolicyRule | undefined;
    let reuse: boolean;
    if (pendingEfi !== 0 && pendingEfi === s.installedEfi && s.rule === undefined && s.installedFromDown) {
      // A refresh of the CREATE rule installed from this very MRI: nothing to build or compare.
      reuse = hasPinholes;
    } else {
      const current = installedRule(s);
      rule = pendingRuleOf(s) ?? current;
      reuse = sameRule(rule, current) && hasPinholes;
    }
    const binding = s.pendingBinding ?? s.binding;
    const ops: EnforcementOp[] = [];
    if (reuse) {
      if (s.pinholeId !== undefined) ops.push({ op: 'refresh', id: s.pinholeId, expiresAt: pinExpiry });
      else for (const id of s.pinholeIds) ops.push({ op: 'refresh', id, expiresAt: pinExpiry });
    } else {
      for (const id of s.pinholeIds) ops.push({ op: 'remove', id });
      rule ??= pendingRuleOf(s) ?? installedRule(s);
      // Built field by field: an object spread here was the costliest line of a setup at the NF.
      if (rule !== undefined) {
        const spec: PinholeSpec = { protocol: rule.protocol, src: rule.src, srcPorts: rule.srcPorts, dst: rule.dst, dstPorts: rule.dstPorts, action: rule.action, owner: s.key, expiresAt: pinExpiry };
        ops.push({ op: 'add', spec });
      }
    }
    const reuseBinding = binding !== undefined && s.binding !== undefined && sameBinding(binding, s.binding) && s.bindingIds.length > 0;
    if (reuseBinding) {
      for (const id of s.bindingIds) ops.push({ op: 'refreshBinding', id, expiresAt: pinExpiry });
    } else {
      for (const id of s.bindingIds) ops.push({ op: 'removeBinding', id });
      if (binding !== undefined) ops.push({ op: 'addBinding', spec: { ...binding, owner: s.key, expiresAt: pinExpiry } });
    }
    s.jobBusy = true;
    this.submit(ops, (doneAt, result) => {
      s.jobBusy = false;
      if (s.deleteAfterJob || !this.sessions.has(s.key)) {
        // Torn down while the job ran: undo whatever it installed.
        if (result.ok) this.removeIds(result.pinholeIds, result.bindingIds);
        if (result.ok && reuse) this.removeIds(s.pinholeIds, []);
        if (result.ok && reuseBinding) this.removeIds([], s.bindingIds);
        return;
      }
      if (!result.ok) {
        this.log(doneAt, 'warn', `enforcement failed: ${result.code} ${result.message}`, s.key);
        const errInfo = info(result.code === 'ENF_BACKEND_UNAVAILABLE' ? 'RESOURCES_UNAVAILABLE' : 'INTERNAL_ERROR');
        k(false, errInfo);
        // s3.7.5: the backend failure is reported downstream; the old rules go too (no half state).
        this.sendNotifyDown(doneAt, s, info('SESSION_TERMINATED'));
        this.emitTerminated(doneAt, s, 'enforcement');
        this.killSession(doneAt, s);
        return;
      }
      if (!reuse) s.pinholeIds = result.pinholeIds;
      if (!reuseBinding) s.bindingIds = result.bindingIds;
      if (pendingEfi !== 0 && s.kind === 'CREATE') {
        // Made from mriDown + EFI: kept as just that (installedRule derives it again).
        s.setInstalledFromDown(pendingEfi);
        if (s.rule !== undefined) s.rule = undefined;
      } else if (rule !== undefined) {
        const derived = s.kind === 'CREATE' ? ruleFromMri(s.mriDown, efiOf(rule)) : undefined;
        if (derived !== undefined && derived.ok && sameRule(derived.value, rule)) {
          s.setInstalledFromDown(efiOf(rule).ruleAction * 2 + efiOf(rule).subPorts);
          if (s.rule !== undefined) s.rule = undefined;
        } else {
          s.rule = rule;
        }
      }
      if (binding !== undefined || s.binding !== undefined) s.binding = binding;
      s.pendingEfi = 0;
      if (s.pendingRule !== undefined) s.pendingRule = undefined;
      if (s.pendingBinding !== undefined) s.pendingBinding = undefined;
      s.state = 'established';
      s.everEstablished = true;
      if (s.holdUntil !== undefined) s.holdUntil = undefined;
      s.lifetime = lt;
      s.expiresAt = expiresAt;
      this.arm(s);
      const sid = sidOf(s);
      this.gist.setStateLifetime(doneAt, NATFW_NSLPID, s.mriUp, sid, lt * 1000);
      if (s.translated) this.gist.setStateLifetime(doneAt, NATFW_NSLPID, s.mriDown, sid, lt * 1000);
      if (this.events.listenerCount('installed') > 0) {
        const installed = rule ?? installedRule(s);
        if (installed !== undefined) this.events.emit('installed', { now: doneAt, key: s.key, rule: installed, pinholeIds: s.pinholeIds });
      }
      k(true);
    });
  }

  private responseAtInitiator(now: number, s: Session, msg: ResponseMsg): void {
    s.pendingMsn = undefined;
    s.requestDeadline = undefined;
    if (msg.info.responseClass !== CLASS_SUCCESS) {
      const error = new NatfwResponseError(msg.info.responseClass, msg.info.responseCode, undefined, msg.lifetime);
      if (s.everEstablished) this.events.emit('refreshFailed', { now, key: s.key, error });
      else this.events.emit('failed', { now, key: s.key, error });
      this.dropSession(now, s);
      return;
    }
    const lt = msg.lifetime ?? (s.params?.lifetime ?? DEFAULT_LIFETIME);
    s.lifetime = lt;
    s.expiresAt = now + lt * 1000;
    s.state = 'established';
    s.holdUntil = undefined;
    if (msg.externalIp !== undefined) s.externalIp = msg.externalIp;
    // s3.4 / RFC 2205: refresh after a random time in [0.5R, 1.5R], R = lt / ((K + 0.5) * 1.5).
    const R = (lt * 1000) / ((this.K + 0.5) * 1.5);
    // s3.7.6.1: an edge's proxy CREATE is refreshed only when its EXTERNAL-PROXY is.
    s.refreshAt = s.proxyParent !== undefined ? undefined : now + Math.max(1, Math.floor(R * (0.5 + this.config.random.float())));
    this.arm(s);
    this.gist.setStateLifetime(now, NATFW_NSLPID, s.mriUp, sidOf(s), lt * 1000);
    if (!s.everEstablished) {
      s.everEstablished = true;
      this.events.emit('established', { now, key: s.key, lifetime: lt, externalIp: msg.externalIp, externalBinding: msg.externalBinding });
    } else {
      this.events.emit('refreshed', { now, key: s.key, lifetime: lt });
    }
  }

  // ---------------------------------------------------------------- NOTIFY

  private onNotify(now: number, ev: RecvMessageEvent, key: string, msg: NotifyMsg): void {
    const s = this.sessions.get(key);
    if (s === undefined) return;
    // s3.7.5: NOTIFY only through established associations, i.e. from this session's peers.
    const fromDown = s.downSii !== undefined && ev.siiHandle === s.downSii;
    const fromUp = s.upSii !== undefined && ev.siiHandle === s.upSii;
    if (!fromDown && !fromUp) {
      this.log(now, 'debug', 'NOTIFY from a peer that is not in this session: discarded', key);
      return;
    }
    if (msg.info.responseClass !== CLASS_INFORMATIONAL) return;
    const code = msg.info.responseCode;
    // s3.7.5: 0x02 travels inbound only; received outbound it is discarded.
    if (code === 0x02 && fromUp) return;
    if (s.role === 'NI' || s.role === 'NI+') {
      if (code === 0x01 || code === 0x02) {
        // s3.9: the NI answers a route change with a new request on the same SID.
        this.refreshNow(now, s);
      } else if (code === 0x04 || code === 0x05) {
        this.emitTerminated(now, s, 'notify', msg.info);
        this.dropSession(now, s);
      }
      return;
    }
    if (code === 0x01) {
      if (s.state === 'transitory') return; // s3.7.5: discarded in Transitory
      this.markTransitory(now, s);
    }
    // Forward in the direction it travels (s3.7.5).
    if (s.role === 'NF' && !s.terminating) {
      if (fromDown) this.sendUp(now, s, msg);
      else this.sendNotifyDown(now, s, msg.info);
    }
    if (code === 0x04 || code === 0x05) {
      this.emitTerminated(now, s, 'notify', msg.info);
      this.killSession(now, s);
    }
  }

  // ---------------------------------------------------------------- GIST status

  private onMessageStatus(ev: MessageStatusEvent): void {
    const key = this.handles.get(ev.nslpMessageHandle);
    if (key === undefined) return;
    this.handles.delete(ev.nslpMessageHandle);
    if (ev.error === undefined) return;
    const s = this.sessions.get(key);
    if (s === undefined || s.handle !== ev.nslpMessageHandle) return;
    const now = ev.now;
    this.log(now, 'info', `GIST could not deliver: ${ev.error}`, key);
    if (s.role === 'NI' || s.role === 'NI+') {
      if (s.pendingMsn === undefined) return;
      const error = new NatfwResponseError(5, 0x07, `did not reach the NR (GIST: ${ev.error})`);
      if (s.everEstablished) this.events.emit('refreshFailed', { now, key, error });
      else this.events.emit('failed', { now, key, error });
      this.dropSession(now, s);
      return;
    }
    if (s.role === 'NF' && s.pendingMsn !== undefined) {
      // s3.7.1: an NF that cannot forward answers 5/0x07.
      this.sendUp(now, s, { type: 'RESPONSE', info: info('DID_NOT_REACH_NR'), msn: s.pendingMsn });
      if (!s.everEstablished) this.killSession(now, s);
      else s.pendingMsn = undefined;
    }
  }

  private onNetworkNotification(ev: NetworkNotificationEvent): void {
    if (ev.nslpId !== NATFW_NSLPID || ev.sessionId === undefined) return;
    const n = ev.notification;
    const routeChanged =
      (n.kind === 'routing-status-change' && n.status !== 'good') || n.kind === 'route-deletion' || (n.kind === 'routing-status-change' && n.previousSiiHandle !== undefined);
    if (!routeChanged) return;
    const s = this.sessions.get(sessionIdKey(ev.sessionId));
    if (s === undefined) return;
    const now = ev.now;
    if (s.role === 'NI' || s.role === 'NI+') {
      // The NI's own path changed: signal again along the new path (s3.9).
      if (s.state !== 'pending') this.refreshNow(now, s);
      return;
    }
    if (s.state === 'transitory') return;
    // s3.9: a node other than the NI that sees a route change sends NOTIFY 1/0x01 both ways.
    this.notifyBothWays(now, s, info('ROUTE_CHANGE'));
    this.markTransitory(now, s);
  }

  private markTransitory(now: number, s: Session): void {
    s.state = 'transitory';
    // s3.2.8: a Transitory session is not deleted because of the NOTIFY before the hold time; it is
    // never deleted because of it at all here, and s3.4 (MUST remove at lifetime end) still applies.
    s.holdUntil = now + (this.config.transitoryHoldMs ?? 30000);
  }

  private refreshNow(now: number, s: Session): void {
    s.refreshAt = now;
    this.arm(s);
  }

  // ---------------------------------------------------------------- timers

  private arm(s: Session): void {
    let at = s.expiresAt;
    if (s.state === 'pending' && s.requestDeadline !== undefined) at = s.requestDeadline;
    else {
      if (s.refreshAt !== undefined) at = Math.min(at, s.refreshAt);
      if (s.requestDeadline !== undefined) at = Math.min(at, s.requestDeadline);
    }
    this.timers.set(s, at);
  }

  private onSessionTimer(now: number, s: Session): void {
    if (s.role === 'NI' || s.role === 'NI+') {
      if (s.state === 'pending') {
        if (s.requestDeadline !== undefined && now >= s.requestDeadline) {
          this.events.emit('failed', { now, key: s.key, error: new NatfwResponseError(5, 0x07, 'no RESPONSE before the request timed out') });
          this.dropSession(now, s);
          return;
        }
      } else {
        if (now >= s.expiresAt) {
          // No successful refresh before the lifetime ran out.
          const error = new NatfwResponseError(5, 0x07, 'no successful refresh before the lifetime ended');
          this.events.emit('refreshFailed', { now, key: s.key, error });
          this.emitTerminated(now, s, 'expired');
          this.dropSession(now, s);
          return;
        }
        if (s.refreshAt !== undefined && now >= s.refreshAt) {
          // s3.7.3: refresh = same SID, MSN + 1, the originally requested lifetime.
          s.msn = msnNext(s.msn);
          s.refreshAt = undefined;
          const lt = s.params?.lifetime ?? DEFAULT_LIFETIME;
          s.pendingMsn = s.msn;
          this.sendInitiatorMessage(now, s, lt);
          // Without an answer, the next try comes after another refresh period (or the lifetime ends).
          const R = (s.lifetime * 1000) / ((this.K + 0.5) * 1.5);
          s.refreshAt = s.proxyParent !== undefined ? undefined : now + Math.max(1, Math.floor(R * (0.5 + this.config.random.float())));
        }
      }
      this.arm(s);
      return;
    }
    if (s.state === 'pending' && s.requestDeadline !== undefined && now >= s.requestDeadline) {
      // s3.2.8: Pending -> Dead when no RESPONSE came within the lifetime.
      this.killSession(now, s);
      return;
    }
    if (s.requestDeadline !== undefined && now >= s.requestDeadline) s.requestDeadline = undefined;
    if (now >= s.expiresAt) {
      // s3.4: no refresh within the lifetime: session and policy rules go.
      this.emitTerminated(now, s, 'expired');
      this.killSession(now, s);
      return;
    }
    this.arm(s);
  }

  // ---------------------------------------------------------------- helpers

  /**
   * The MRI a session keeps: a copy whose address texts are shared with the
   * other sessions between the same hosts (a decoder makes new strings for
   * every message). The table is a bounded cache: when full it starts over,
   * which only loses sharing, never state.
   */
  private sharedMri<M extends Mri>(m: M): M {
    // Always a copy: equal strings compare equal, so whether m's are already the shared ones cannot be told.
    return { ...m, sourceAddress: this.sharedAddress(m.sourceAddress), destinationAddress: this.sharedAddress(m.destinationAddress) };
  }

  /** sharedAddress as a function value, for Session.setUp. */
  private readonly intern = (a: string): string => this.sharedAddress(a);

  private sharedAddress(a: string): string {
    const t = this.addressText.get(a);
    if (t !== undefined) return t;
    if (this.addressText.size >= ADDRESS_TEXT_CACHE) this.addressText.clear();
    this.addressText.set(a, a);
    return a;
  }

  private newSession(key: string, role: NatfwRole, kind: 'CREATE' | 'EXTERNAL', mri: Mri): Session {
    const s = new Session(key, role, kind, mri, 0, this.intern);
    this.sessions.set(key, s);
    return s;
  }

  /** Removes the session and everything it installed (NF/NR); the enforcement removal is fire-and-forget. */
  private killSession(now: number, s: Session): void {
    if (s.state === 'dead') return;
    s.state = 'dead';
    // s3.7.6.1 fate sharing: the proxy CREATE goes with its EXTERNAL-PROXY.
    if (s.proxyChild !== undefined && this.sessions.has(s.proxyChild)) this.teardown(now, s.proxyChild);
    if (s.proxyParent !== undefined) {
      const parent = this.sessions.get(s.proxyParent);
      if (parent !== undefined) parent.proxyChild = undefined;
    }
    this.sessions.delete(s.key);
    this.timers.cancel(s);
    if (s.handle !== 0) this.handles.delete(s.handle);
    if (s.reservation !== undefined && s.reservation.externalPort !== 0) this.usedPorts.delete(s.reservation.externalPort);
    this.reservations.delete(s);
    const b = s.binding ?? s.pendingBinding;
    if (b !== undefined && this.config.middlebox?.nat?.externalAddress === b.external.address && b.internal.address === (s.mriUp.mrm === 'path-coupled' ? s.mriUp.sourceAddress : '')) {
      this.usedPorts.delete(b.external.port);
    }
    if (s.jobBusy) {
      s.deleteAfterJob = true;
    } else {
      this.removeIds(s.pinholeIds, s.bindingIds);
    }
    this.gist.setStateLifetime(now, NATFW_NSLPID, s.mriUp, sidOf(s), 0);
    if (s.translated) this.gist.setStateLifetime(now, NATFW_NSLPID, s.mriDown, sidOf(s), 0);
  }

  /** NI side: forget the session (nothing installed locally). */
  private dropSession(now: number, s: Session): void {
    this.killSession(now, s);
  }

  private removeIds(pinholeIds: readonly string[], bindingIds: readonly string[]): void {
    if (pinholeIds.length === 0 && bindingIds.length === 0) return;
    const ops: EnforcementOp[] = [...pinholeIds.map((id) => ({ op: 'remove' as const, id })), ...bindingIds.map((id) => ({ op: 'removeBinding' as const, id }))];
    this.submit(ops, (now, result) => {
      if (!result.ok) this.log(now, 'warn', `removing pinholes failed (${result.code}); the backend expires them`);
    });
  }

  private emitTerminated(now: number, s: Session, reason: TerminationReason, i?: InfoCode): void {
    this.events.emit('terminated', { now, key: s.key, role: s.role, reason, info: i });
  }

  private authorize(
    now: number,
    messageType: 'CREATE' | 'EXTERNAL',
    ev: RecvMessageEvent,
    mri: Mri,
    rule: PolicyRule,
    carried: Carried | undefined,
  ): { name: ResponseName; detail: string } | undefined {
    // Without an authorizer configured there is nothing to ask (and no request object to build).
    if (this.authorizer === acceptAllAuthorizer) return undefined;
    const r = this.authorizer.authorize(now, {
      messageType,
      sessionId: ev.sessionId,
      mri,
      rule,
      sessionAuth: carried?.sessionAuth ?? [],
      nslpMessageBytes: ev.nslpData,
    });
    if (r.ok) return undefined;
    const name = r.responseClass === 5 && r.responseCode === 0x01 ? 'AUTHENTICATION_FAILED' : 'AUTHORIZATION_FAILED';
    return { name, detail: `${r.reason}: ${r.message}` };
  }

  private notifyBothWays(now: number, s: Session, i: InfoCode): void {
    if (s.role === 'NI' || s.role === 'NI+') return; // s3.7.5: NIs never generate NOTIFY
    if (s.upSii !== undefined) this.sendUp(now, s, { type: 'NOTIFY', info: i });
    if (s.role === 'NF' && !s.terminating) this.sendNotifyDown(now, s, i);
  }

  private sendNotifyDown(now: number, s: Session, i: InfoCode): void {
    if (s.downSii === undefined) return;
    // s3.7.5: outbound NOTIFY with explicit routing (SII handle).
    this.gist.sendMessage(now, {
      nslpData: this.config.codec.encode({ type: 'NOTIFY', info: i }),
      nslpId: NATFW_NSLPID,
      sessionId: sidOf(s),
      mri: s.mriDown,
      siiHandle: s.downSii,
      transfer: { reliable: false },
    });
  }

  /** A message of session `s` toward the NI (a RESPONSE: s4.3.3), over the reverse routing state. */
  private sendUp(now: number, s: Session, msg: NatfwMsg): void {
    this.gist.sendMessage(now, {
      nslpData: this.config.codec.encode(msg),
      nslpId: NATFW_NSLPID,
      sessionId: sidOf(s),
      mri: s.mriReply,
      siiHandle: s.upSii,
      transfer: { reliable: false },
    });
  }

  private sendResponseUp(now: number, sid: SessionId, mri: Mri, siiHandle: number | undefined, msg: ResponseMsg): void {
    // s4.3.3: same MRM as the request, toward the NI over the reverse routing state.
    this.gist.sendMessage(now, {
      nslpData: this.config.codec.encode(msg),
      nslpId: NATFW_NSLPID,
      sessionId: sid,
      mri: invertDirection(mri),
      siiHandle,
      transfer: { reliable: false },
    });
  }


  /** `mri`: the session's mriDown, when the caller holds it already (no need to build it). */
  private sendDown(now: number, s: Session, msg: NatfwMsg, mri: Mri = s.mriDown): void {
    const handle = this.nextHandle++;
    if (this.nextHandle > 0x7fffffff) this.nextHandle = 1;
    if (s.handle !== 0) this.handles.delete(s.handle);
    s.handle = handle;
    this.handles.set(handle, s.key);
    this.gist.sendMessage(now, {
      nslpData: this.config.codec.encode(msg),
      nslpMessageHandle: handle,
      nslpId: NATFW_NSLPID,
      sessionId: sidOf(s),
      mri,
      transfer: { reliable: false },
    });
  }

  private log(now: number, level: 'debug' | 'info' | 'warn', msg: string, key?: string): void {
    if (this.events.listenerCount('log') > 0) this.events.emit('log', { now, level, key, msg });
  }
}

/** Local checks before anything is sent: what the path would refuse anyway (s4.2.4) or cannot be encoded. */
function checkInitiatorParams(p: CreateParams | ExternalParams): void {
  if (p.subPorts !== undefined && p.subPorts !== 0 && p.subPorts !== 1) throw new NatfwResponseError(7, 0x08);
  if (p.lifetime !== undefined && (!Number.isInteger(p.lifetime) || p.lifetime < 1 || p.lifetime > 0xffffffff)) {
    throw new NatfwResponseError(7, 0x10, `lifetime ${p.lifetime} s cannot be requested`);
  }
}

function sameBinding(a: BindingSpec, b: BindingSpec): boolean {
  return (
    a.protocol === b.protocol &&
    a.external.address === b.external.address &&
    a.external.port === b.external.port &&
    a.internal.address === b.internal.address &&
    a.internal.port === b.internal.port
  );
}

function efiOf(r: PolicyRule): Efi {
  return { ruleAction: r.action === 'allow' ? 1 : 2, subPorts: r.dstPorts !== undefined ? r.dstPorts.to - r.dstPorts.from : 0 };
}

/** The rule a session will install on its successful RESPONSE (s3.7.1 "remembered"): a CREATE's from mriDown + EFI. */
function pendingRuleOf(s: Session): PolicyRule | undefined {
  const efi = s.pendingEfi;
  if (efi === 0) return s.pendingRule;
  const r = ruleFromMri(s.mriDown, { ruleAction: efi >> 1, subPorts: efi & 1 });
  return r.ok ? r.value : undefined;
}

/** The rule installed for a session (stored, or derived from the MRI it was installed for). */
function installedRule(s: Session): PolicyRule | undefined {
  if (s.rule !== undefined) return s.rule;
  if (s.installedMri === undefined || s.installedEfi === 0) return undefined;
  const r = ruleFromMri(s.installedMri, { ruleAction: s.installedEfi >> 1, subPorts: s.installedEfi & 1 });
  return r.ok ? r.value : undefined;
}

/**
 * The Session ID bytes of a session, derived from its key (sessions keep no
 * buffer). One entry is remembered: a message's handling sends and sets state
 * lifetimes for one session several times, and onRecv seeds it with the bytes
 * GIST delivered. Nobody writes into a Session ID, so sharing one is safe.
 */
let lastSidKey = '';
let lastSid: SessionId = new Uint8Array(16);

function sidOf(s: { readonly key: string }): SessionId {
  if (s.key !== lastSidKey) {
    lastSid = Buffer.from(s.key, 'hex');
    lastSidKey = s.key;
  }
  return lastSid;
}

function rememberSid(key: string, sid: SessionId): void {
  lastSidKey = key;
  lastSid = sid;
}

/** s3.7.6.1 nonce of an EXTERNAL-PROXY session: the first 32 bits of its SID (rfc-traps.md). */
export function sidNonce(sid: SessionId): number {
  return (((sid[0] ?? 0) << 24) | ((sid[1] ?? 0) << 16) | ((sid[2] ?? 0) << 8) | (sid[3] ?? 0)) >>> 0;
}
