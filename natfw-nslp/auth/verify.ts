/**
 * Checking a HMAC_SIGNED token (RFC 5981 s6.3.3 step 2 "HMAC signed"): the
 * MAC under the key its Key-ID names, time validity with clock skew, and the
 * binding between the token and the flow asked for. Pure; replay binding is
 * the authorizer's (it keeps state).
 */
import type { PortRange, Prefix } from '../../enforcement/types';
import { parseIp } from '../codec/address';
import { readSessionAuth, type SessionAuthObject } from './codec';
import type { KeyStore } from './keys';
import { locateAuthData, macInput, type MacCoverage, type MessageContext } from './mac';
import { parseToken, type PortGrant, type TokenView } from './token';
import { TRANSFORMS } from './transforms';
import { ipv4Number } from '../../common/ipv4';

export type AuthFailureReason = 'missing' | 'expired' | 'not-yet-valid' | 'bad-mac' | 'unknown-key' | 'not-covered' | 'replay' | 'untrusted' | 'malformed';

/**
 * A flow the token must cover. Undefined fields are not checked (the CLI
 * checks what the operator gave); `'any'` ports mean "every port", which
 * only a token without a port list for that side covers.
 */
export interface FlowQuery {
  readonly what: string;
  readonly protocol?: number;
  readonly src?: Prefix;
  readonly srcPorts?: PortRange | 'any';
  readonly dst?: Prefix;
  readonly dstPorts?: PortRange | 'any';
  readonly spi?: number;
}

export interface VerifyOptions {
  readonly coverage: MacCoverage;
  readonly clockSkewMs: number;
  readonly requireEndTime: boolean;
  readonly allowedTransforms: readonly number[];
  /** undefined = every key in the store. */
  readonly trustedKeyIds?: readonly number[];
  /** undefined = any authority (or none named). */
  readonly trustedEntityIds?: readonly string[];
}

export type VerifyResult = { ok: true; token: TokenView } | { ok: false; reason: AuthFailureReason; message: string; token?: TokenView };

const fail = (reason: AuthFailureReason, message: string, token?: TokenView): VerifyResult => ({ ok: false, reason, message, ...(token !== undefined ? { token } : {}) });

/** True if `inner` lies within `outer` (same family, at least as long, same leading bits). */
export function prefixCovers(outer: Prefix, inner: Prefix): boolean {
  const o4 = Number.isInteger(outer.length) ? ipv4Number(outer.address) : -1;
  if (o4 >= 0) {
    // IPv4 (every token and flow of an IPv4 network): compared as numbers, nothing allocated.
    const i4 = ipv4Number(inner.address);
    if (i4 < 0 || inner.length < outer.length) return false;
    const bits = Math.min(32, outer.length);
    if (bits <= 0) return true;
    const shift = 32 - bits;
    return Math.floor(o4 / 2 ** shift) === Math.floor(i4 / 2 ** shift);
  }
  const o = parseIp(outer.address);
  const i = parseIp(inner.address);
  if (o === undefined || i === undefined || o.version !== i.version) return false;
  if (inner.length < outer.length) return false;
  let bits = outer.length;
  for (let k = 0; bits > 0; k++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((o.bytes[k] & mask) !== (i.bytes[k] & mask)) return false;
  }
  return true;
}

/** A dotted-quad IPv4 address (no leading zeros, as parseIp accepts it) as a 32-bit number, or -1. */
export { ipv4Number };

function portsCovered(grant: PortGrant, protocol: number | undefined, want: PortRange | 'any' | undefined, side: string): string | undefined {
  if (want === undefined) return undefined;
  if (grant.udp === undefined && grant.tcp === undefined) return undefined; // s3.2.3: no port attribute = all ports
  const list = protocol === 17 ? grant.udp : protocol === 6 ? grant.tcp : undefined;
  if (list === undefined) return `the token grants ${side} ports only for ${grant.udp !== undefined ? 'UDP' : 'TCP'}${grant.udp !== undefined && grant.tcp !== undefined ? ' and TCP' : ''}, not protocol ${protocol ?? 'any'}`;
  if (want === 'any') return `the token grants ${side} ports ${list.join(',')}, not every port`;
  const set = new Set(list);
  for (let p = want.from; p <= want.to; p++) if (!set.has(p)) return `${side} port ${p} is not granted`;
  return undefined;
}

/** Why `t` does not cover `q`, or undefined if it does. */
export function notCovered(t: TokenView, q: FlowQuery): string | undefined {
  const pfx = (p: Prefix): string => `${p.address}/${p.length}`;
  if (q.src !== undefined) {
    if (t.src.length === 0) return `${q.what}: the token names no source address`;
    if (!t.src.some((g) => prefixCovers(g, q.src as Prefix))) return `${q.what}: source ${pfx(q.src)} not within ${t.src.map(pfx).join(', ')}`;
  }
  if (q.dst !== undefined) {
    if (t.dst.length === 0) return `${q.what}: the token names no destination address`;
    if (!t.dst.some((g) => prefixCovers(g, q.dst as Prefix))) return `${q.what}: destination ${pfx(q.dst)} not within ${t.dst.map(pfx).join(', ')}`;
  }
  if (q.protocol !== undefined && t.protocol !== undefined && q.protocol !== t.protocol) return `${q.what}: protocol ${q.protocol}, the token grants ${t.protocol}`;
  const d = portsCovered(t.dstPorts, q.protocol ?? t.protocol, q.dstPorts, 'destination');
  if (d !== undefined) return `${q.what}: ${d}`;
  const s = portsCovered(t.srcPorts, q.protocol ?? t.protocol, q.srcPorts, 'source');
  if (s !== undefined) return `${q.what}: ${s}`;
  const spis = [...t.srcSpi, ...t.dstSpi];
  if (spis.length > 0 && (q.spi === undefined || !spis.includes(q.spi))) return `${q.what}: the token is bound to SPI ${spis.join(',')}`;
  return undefined;
}

/**
 * Verifies one raw SESSION_AUTH object (header included). Order: structure,
 * transform, key, MAC (nothing else is believed before the MAC holds),
 * authority, time, coverage. `decoded`: `raw` decoded already (the message
 * decoder's object, whose wire bytes `raw` are), so that it is not decoded twice.
 */
export function verifyToken(
  now: number,
  raw: Uint8Array,
  keys: KeyStore,
  opts: VerifyOptions,
  flows: readonly FlowQuery[],
  ctx?: MessageContext,
  decoded?: SessionAuthObject,
): VerifyResult {
  let obj = decoded;
  if (obj === undefined) {
    const d = readSessionAuth(raw);
    if (!d.ok) return fail('malformed', d.error.message);
    obj = d.value;
  }
  const p = parseToken(obj);
  if (!p.ok) return fail('malformed', p.error);
  const t = p.value;
  const transform = TRANSFORMS.get(t.transformId);
  if (transform === undefined) return fail('malformed', `transform ID ${t.transformId} is not supported`, t);
  if (!opts.allowedTransforms.includes(t.transformId)) return fail('untrusted', `transform ${transform.name} (${t.transformId}) is not allowed by policy`, t);
  if (opts.trustedKeyIds !== undefined && !opts.trustedKeyIds.includes(t.keyId)) return fail('untrusted', `Key-ID ${t.keyId} is not trusted by policy`, t);
  const hm = keys.prepared(t.keyId, transform);
  if (hm === undefined) return fail('unknown-key', `no key with Key-ID ${t.keyId}`, t);
  // s6.3.3: "Verify that the indicated length of the authentication data is consistent with the configured table entry".
  if (t.mac.length !== transform.macLength) return fail('bad-mac', `MAC of ${t.mac.length} octets, ${transform.name} has ${transform.macLength}`, t);
  const loc = locateAuthData(raw);
  if (loc === undefined) return fail('malformed', 'AUTHENTICATION_DATA not found', t);
  const parts = macInput(raw, loc, opts.coverage, t.objectList, ctx);
  if (!parts.ok) return fail('malformed', parts.error, t);
  if (!hm.verify(parts.value, t.mac)) return fail('bad-mac', `MAC does not verify under Key-ID ${t.keyId}`, t);
  if (opts.trustedEntityIds !== undefined && (t.entityId === undefined || !opts.trustedEntityIds.includes(t.entityId)))
    return fail('untrusted', `authority ${t.entityId === undefined ? '(none named)' : `'${t.entityId}'`} is not trusted`, t);
  if (t.notBefore !== undefined && now + opts.clockSkewMs < t.notBefore) return fail('not-yet-valid', `valid from ${new Date(t.notBefore).toISOString()}`, t);
  if (t.notAfter === undefined) {
    if (opts.requireEndTime) return fail('malformed', 'no END_TIME', t);
  } else if (now - opts.clockSkewMs > t.notAfter) return fail('expired', `expired at ${new Date(t.notAfter).toISOString()}`, t);
  for (const q of flows) {
    const why = notCovered(t, q);
    if (why !== undefined) return fail('not-covered', why, t);
  }
  return { ok: true, token: t };
}
