/**
 * `SessionAuthorizer` (CONTRACTS.md): what an NF or NR asks before it installs
 * anything for a CREATE or EXTERNAL. HMAC_SIGNED tokens (RFC 5981 s4.4) are
 * checked by `verifyToken`; this class adds the node's policy and the replay
 * rule, and holds the replaceable key store.
 *
 * Replay: tokens are issued before the session exists, so they cannot carry
 * its Session ID. The first session that presents a valid token owns it; the
 * token is refused for any other session until its END_TIME (plus skew).
 * Refreshes of the owning session (same Session ID) pass.
 *
 * Failures answer RESPONSE class 'Permanent failure' (5), code
 * 'Authorization failed' (0x02): RFC 5981 s6.3.4 prescribes exactly that for
 * the NATFW NSLP whatever the cause; `reason` says which.
 */
import type { Mri } from '../../gist/types';
import type { PortRange, Prefix } from '../../enforcement/types';
import { encodeMriValue, mriValueLength } from '../../gist/codec';
import { NATFW_NSLPID, NatfwResponse } from '../codec/constants';
import { decodeSessionAuth, encodeSessionAuth, sessionAuthWireBytes, type SessionAuthObject } from './codec';
import { MemoryKeyStore, type KeyStore } from './keys';
import { DEFAULT_COVERAGE, rawSessionAuthObjects, type MacCoverage, type MessageContext } from './mac';
import { DEFAULT_ALLOWED_TRANSFORMS } from './transforms';
import { verifyToken, type AuthFailureReason, type FlowQuery, type VerifyOptions, type VerifyResult } from './verify';

export interface AuthorizationRequest {
  messageType: 'CREATE' | 'EXTERNAL';
  sessionId: Uint8Array;
  mri: Mri;
  rule: { protocol: number; src: Prefix; srcPorts?: PortRange; dst: Prefix; dstPorts?: PortRange; action: 'allow' | 'deny' };
  sessionAuth: readonly SessionAuthObject[];
  /** The NSLP message as received; SESSION_AUTH MACs are checked over these exact octets. */
  nslpMessageBytes: Uint8Array;
}

export type AuthorizationResult =
  | { ok: true; entityId?: string }
  | { ok: false; reason: AuthFailureReason; responseClass: number; responseCode: number; message: string };

export interface SessionAuthorizer {
  authorize(now: number, req: AuthorizationRequest): AuthorizationResult;
}

export interface AuthorizationPolicy {
  /** Authorization required for CREATE / for EXTERNAL (separately). */
  readonly requireForCreate: boolean;
  readonly requireForExternal: boolean;
  /** Check tokens present in messages that need none, refusing bad ones (default false: RFC 5981 s3.1 lets a node skip the object). */
  readonly verifyWhenNotRequired?: boolean;
  /** Accept only tokens naming one of these authorities (AUTH_ENT_ID text). */
  readonly trustedEntityIds?: readonly string[];
  /** Accept only these Key-IDs (default: every key in the store). */
  readonly trustedKeyIds?: readonly number[];
  /** Clock skew allowed on START_TIME and END_TIME (default 30 s). */
  readonly clockSkewMs?: number;
  /** Refuse tokens without END_TIME (default true). */
  readonly requireEndTime?: boolean;
  /** IKEv2 Transform Type 3 IDs accepted (default 12, 13, 14). */
  readonly allowedTransforms?: readonly number[];
  readonly coverage?: MacCoverage;
  /** Added to `now` to get Unix epoch ms (token times are absolute); 0 in the daemon, the epoch of a virtual clock in the simulator. */
  readonly clockOffsetMs?: number;
  /** Most tokens remembered for replay detection (default 100000); beyond it new tokens are refused. */
  readonly maxBindings?: number;
}

interface Binding {
  readonly sessionKey: string;
  readonly until: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The flows of a request a token must cover: the rule, and the MRI's flow for the path-coupled MRM. */
export function requestFlows(req: AuthorizationRequest): FlowQuery[] {
  const r = req.rule;
  const flows: FlowQuery[] = [
    { what: 'rule', protocol: r.protocol, src: r.src, dst: r.dst, srcPorts: r.srcPorts ?? 'any', dstPorts: r.dstPorts ?? 'any' },
  ];
  const m = req.mri;
  // The loose-end MRM's addresses are signalling addresses (RFC 5973 s4.2.8), not the flow's: only the rule is checked.
  if (m.mrm === 'path-coupled') {
    const port = (p: number | undefined): PortRange | 'any' | undefined => (p === undefined ? undefined : p === 0 ? 'any' : { from: p, to: p });
    const sp = port(m.sourcePort);
    const dp = port(m.destinationPort);
    flows.push({
      what: 'MRI',
      src: { address: m.sourceAddress, length: m.sourcePrefix },
      dst: { address: m.destinationAddress, length: m.destinationPrefix },
      ...(m.protocol !== undefined ? { protocol: m.protocol } : {}),
      ...(sp !== undefined ? { srcPorts: sp } : {}),
      ...(dp !== undefined ? { dstPorts: dp } : {}),
      ...(m.spi !== undefined ? { spi: m.spi } : {}),
    });
  }
  return flows;
}

export class HmacSessionAuthorizer implements SessionAuthorizer {
  private keys: KeyStore;
  private policy: AuthorizationPolicy;
  /** verifyToken's options for `policy`, made when the policy is set rather than per check. */
  private opts: VerifyOptions;
  private readonly bindings = new Map<string, Binding>();
  private calls = 0;

  constructor(policy: AuthorizationPolicy, keys: KeyStore = new MemoryKeyStore()) {
    this.policy = policy;
    this.keys = keys;
    this.opts = verifyOptions(policy);
  }

  /** Replaces the key store at once (a reload); tokens bound so far stay bound. */
  setKeyStore(keys: KeyStore): void {
    this.keys = keys;
  }

  setPolicy(policy: AuthorizationPolicy): void {
    this.policy = policy;
    this.opts = verifyOptions(policy);
  }

  get keyStore(): KeyStore {
    return this.keys;
  }

  /** Number of tokens currently bound to a session. */
  get boundTokens(): number {
    return this.bindings.size;
  }

  private refuse(reason: AuthFailureReason, message: string): AuthorizationResult {
    const r = NatfwResponse.AUTHORIZATION_FAILED;
    return { ok: false, reason, responseClass: r.responseClass, responseCode: r.responseCode, message };
  }

  /** Drops bindings whose token has expired (amortised: every 1024 calls, or when full). */
  private sweep(now: number, force: boolean): void {
    if (!force && ++this.calls % 1024 !== 0) return;
    for (const [k, b] of this.bindings) if (b.until < now) this.bindings.delete(k);
  }

  authorize(now: number, req: AuthorizationRequest): AuthorizationResult {
    const required = req.messageType === 'CREATE' ? this.policy.requireForCreate : this.policy.requireForExternal;
    if (!required && !this.policy.verifyWhenNotRequired) return { ok: true };
    const epochNow = now + (this.policy.clockOffsetMs ?? 0);
    // The octets as received are what the MAC covers; only without them are the decoded objects re-encoded.
    // When the message decoder's objects are those octets (an NF's CREATE), they are used as decoded.
    const pairs = decodedAsReceived(req);
    const raws = pairs !== undefined ? pairs : req.nslpMessageBytes.length > 0 ? rawSessionAuthObjects(req.nslpMessageBytes) : req.sessionAuth.map((o) => encodeSessionAuth(o));
    // Only HMAC_SIGNED objects (AUTH_ENT_ID sub-type 10) are tokens here.
    const tokens: number[] = [];
    for (let i = 0; i < raws.length; i++) if (isHmacSigned(raws[i])) tokens.push(i);
    if (tokens.length === 0) {
      if (!required) return { ok: true };
      const broken = raws.map((r) => decodeSessionAuth(r)).find((d) => !d.ok);
      if (broken !== undefined && !broken.ok) return this.refuse('malformed', broken.error.message);
      return this.refuse('missing', `${req.messageType} carries no HMAC_SIGNED SESSION_AUTH${raws.length > 0 ? ' (other SESSION_AUTH kinds are not supported)' : ''}`);
    }
    const opts = this.opts;
    const coverage = opts.coverage;
    const ctx = coverage.message ? messageContext(req) : undefined;
    const flows = requestFlows(req);
    let first: VerifyResult | undefined;
    for (const i of tokens) {
      const v = verifyToken(epochNow, raws[i], this.keys, opts, flows, ctx, pairs !== undefined ? req.sessionAuth[i] : undefined);
      if (!v.ok) {
        first ??= v;
        continue;
      }
      const bound = this.bind(epochNow, v, req.sessionId, opts.clockSkewMs);
      if (bound !== undefined) {
        first ??= { ok: false, reason: 'replay', message: bound, token: v.token };
        continue;
      }
      return v.token.entityId !== undefined ? { ok: true, entityId: v.token.entityId } : { ok: true };
    }
    const f = first as Extract<VerifyResult, { ok: false }>;
    return this.refuse(f.reason, f.message);
  }

  /** Binds the token to the session, or says why it is another session's. */
  private bind(now: number, v: Extract<VerifyResult, { ok: true }>, sessionId: Uint8Array, skew: number): string | undefined {
    this.sweep(now, false);
    const tokenKey = hex(v.token.mac);
    const sessionKey = hex(sessionId);
    const b = this.bindings.get(tokenKey);
    if (b !== undefined && b.until >= now) {
      if (b.sessionKey === sessionKey) return undefined;
      return `token already used by session ${b.sessionKey.slice(0, 8)}...`;
    }
    const max = this.policy.maxBindings ?? 100_000;
    if (this.bindings.size >= max) {
      this.sweep(now, true);
      if (this.bindings.size >= max) return `replay cache full (${max} tokens bound)`;
    }
    // Without END_TIME (only if policy allows it) the token stays bound for a day.
    const until = (v.token.notAfter ?? now + 86_400_000) + skew;
    this.bindings.set(tokenKey, { sessionKey, until });
    return undefined;
  }
}

/**
 * The raw SESSION_AUTH objects of `nslpMessageBytes` when the request's decoded
 * objects are exactly those octets, one for one and in order (as the message
 * decoder makes them): then `req.sessionAuth[i]` is `raws[i]` decoded. Else undefined.
 */
function decodedAsReceived(req: AuthorizationRequest): Uint8Array[] | undefined {
  if (req.sessionAuth.length === 0 || req.nslpMessageBytes.length === 0) return undefined;
  const raws = rawSessionAuthObjects(req.nslpMessageBytes);
  if (raws.length !== req.sessionAuth.length) return undefined;
  for (let i = 0; i < raws.length; i++) {
    const wire = sessionAuthWireBytes(req.sessionAuth[i]);
    if (wire === undefined || !sameOctets(wire, raws[i])) return undefined;
  }
  return raws;
}

function sameOctets(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function verifyOptions(p: AuthorizationPolicy): VerifyOptions {
  return {
    coverage: p.coverage ?? DEFAULT_COVERAGE,
    clockSkewMs: p.clockSkewMs ?? 30_000,
    requireEndTime: p.requireEndTime ?? true,
    allowedTransforms: p.allowedTransforms ?? DEFAULT_ALLOWED_TRANSFORMS,
    ...(p.trustedKeyIds !== undefined ? { trustedKeyIds: p.trustedKeyIds } : {}),
    ...(p.trustedEntityIds !== undefined ? { trustedEntityIds: p.trustedEntityIds } : {}),
  };
}

/** RFC 5981 s3.2.7 context from a request: Session ID, NSLPID 33, the MRI value (RFC 5971 A.3.1). */
export function messageContext(req: AuthorizationRequest): MessageContext {
  const mriValue = new Uint8Array(mriValueLength(req.mri));
  encodeMriValue(req.mri, mriValue, 0);
  return { sessionId: req.sessionId, nslpId: NATFW_NSLPID, mriValue, nslpMessage: req.nslpMessageBytes };
}

/** True if a raw SESSION_AUTH object has an AUTH_ENT_ID attribute of sub-type HMAC_SIGNED (X-Type 1, sub-type 10). */
export function isHmacSigned(raw: Uint8Array): boolean {
  let at = 4;
  for (let i = 0; at + 4 <= raw.length && i < 4096; i++) {
    const len = (raw[at] << 8) | raw[at + 1];
    if (len <= 4) return false;
    if (raw[at + 2] === 1 && raw[at + 3] === 10) return true;
    at += (len + 3) & ~3;
  }
  return false;
}
