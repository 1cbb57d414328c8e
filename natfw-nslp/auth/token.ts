/**
 * natfw authorization tokens: HMAC_SIGNED SESSION_AUTH objects (RFC 5981
 * s4.4) that an authority issues in advance and an end host attaches to its
 * CREATE or EXTERNAL. `TokenView` is what a token grants; `issueToken` builds
 * and signs one; `parseToken` reads one back.
 *
 * Attributes of an issued token, in order:
 *   AUTH_ENT_ID/HMAC_SIGNED (Transform ID), AUTH_ENT_ID naming the authority
 *   (optional: IPV4/IPV6_ADDRESS, URI or FQDN by its form), SOURCE_ADDR and
 *   DEST_ADDR (IPV4/IPV6_ADDRESS for a host, natfw's private-use
 *   IPV4/IPV6_PREFIX sub-types 128/129 for a shorter prefix), NATFW_IP_PROTOCOL
 *   (private X-Type 128, optional), DEST_ADDR and SOURCE_ADDR UDP/TCP_PORT_LIST
 *   (optional), START_TIME, END_TIME (NTP), NSLP_OBJECT_LIST (empty: the
 *   token signs itself only), AUTHENTICATION_DATA (Key-ID, MAC).
 */
import { UsageError } from '../../common/errors';
import { err, ok, type Result } from '../../common/result';
import type { PortRange, Prefix } from '../../enforcement/types';
import { canonicalIp, parseIp } from '../codec/address';
import {
  encodeSessionAuth,
  ntpToUnixMs,
  splitKeyedAuthData,
  unixMsToNtp,
  type SessionAuthAttribute,
  type SessionAuthObject,
} from './codec';
import { DEFAULT_COVERAGE, locateAuthData, macInput, type MacCoverage, type MessageContext } from './mac';
import { DEFAULT_TRANSFORM_ID, PreparedHmac, TRANSFORMS } from './transforms';

export interface PortGrant {
  readonly udp?: readonly number[];
  readonly tcp?: readonly number[];
}

/** What a HMAC_SIGNED SESSION_AUTH grants. Times are Unix epoch ms. */
export interface TokenView {
  readonly transformId: number;
  readonly keyId: number;
  readonly mac: Uint8Array;
  /** The authority named by a second AUTH_ENT_ID, as text. */
  readonly entityId?: string;
  readonly src: readonly Prefix[];
  readonly dst: readonly Prefix[];
  readonly srcPorts: PortGrant;
  readonly dstPorts: PortGrant;
  readonly srcSpi: readonly number[];
  readonly dstSpi: readonly number[];
  readonly protocol?: number;
  readonly notBefore?: number;
  readonly notAfter?: number;
  readonly objectList: readonly number[];
  /** RFC 5981 s3.2.2 SESSION_ID attribute (the authority's own id), if any. */
  readonly authoritySessionId?: Uint8Array;
}

/** Reads the grant out of a decoded HMAC_SIGNED SESSION_AUTH; an error string says what is malformed. */
export function parseToken(obj: SessionAuthObject): Result<TokenView, string> {
  let transformId: number | undefined;
  let entityId: string | undefined;
  let authData: Uint8Array | undefined;
  let protocol: number | undefined;
  let notBefore: number | undefined;
  let notAfter: number | undefined;
  let objectList: readonly number[] | undefined;
  let authoritySessionId: Uint8Array | undefined;
  const src: Prefix[] = [];
  const dst: Prefix[] = [];
  const ports = { src: {} as { udp?: readonly number[]; tcp?: readonly number[] }, dst: {} as { udp?: readonly number[]; tcp?: readonly number[] } };
  const srcSpi: number[] = [];
  const dstSpi: number[] = [];
  for (const a of obj.attributes) {
    if (typeof a.xType === 'number') continue; // unassigned X-Types carry nothing natfw grants on
    switch (a.xType) {
      case 'AUTH_ENT_ID':
        if (a.subType === 'HMAC_SIGNED' && 'transformId' in a) {
          if (transformId !== undefined) return err('two AUTH_ENT_ID HMAC_SIGNED attributes');
          transformId = a.transformId;
        } else if (entityId === undefined) {
          if ('address' in a) entityId = a.address;
          else if ('name' in a) entityId = a.name;
        }
        break;
      case 'SESSION_ID':
        authoritySessionId = a.data;
        break;
      case 'SOURCE_ADDR':
      case 'DEST_ADDR': {
        const side = a.xType === 'SOURCE_ADDR' ? 'src' : 'dst';
        const list = side === 'src' ? src : dst;
        if ('prefixLength' in a) list.push({ address: a.address, length: a.prefixLength });
        else if ('address' in a) list.push({ address: a.address, length: a.subType === 'IPV4_ADDRESS' ? 32 : 128 });
        else if ('ports' in a) {
          const key = a.subType === 'UDP_PORT_LIST' ? 'udp' : 'tcp';
          // s3.2.3/s3.2.4: at most one UDP and one TCP port list per object.
          if (ports[side][key] !== undefined) return err(`two ${a.xType} ${a.subType} attributes`);
          ports[side][key] = a.ports;
        } else if ('spi' in a) (side === 'src' ? srcSpi : dstSpi).push(a.spi);
        else return err(`${a.xType} with unknown sub-type ${String(a.subType)}`);
        break;
      }
      case 'START_TIME':
      case 'END_TIME': {
        if (!('seconds' in a)) return err(`${a.xType} with unknown sub-type ${String(a.subType)}`);
        const t = ntpToUnixMs(a);
        if (a.xType === 'START_TIME') {
          if (notBefore !== undefined) return err('two START_TIME attributes');
          notBefore = t;
        } else {
          if (notAfter !== undefined) return err('two END_TIME attributes');
          notAfter = t;
        }
        break;
      }
      case 'NSLP_OBJECT_LIST':
        if (objectList !== undefined) return err('two NSLP_OBJECT_LIST attributes');
        objectList = a.objectTypes;
        break;
      case 'AUTHENTICATION_DATA':
        authData = a.data;
        break;
      case 'NATFW_IP_PROTOCOL':
        if (protocol !== undefined) return err('two NATFW_IP_PROTOCOL attributes');
        protocol = a.protocol;
        break;
    }
  }
  if (transformId === undefined) return err('no AUTH_ENT_ID of sub-type HMAC_SIGNED');
  // s3.2.1: HMAC_SIGNED needs an NSLP_OBJECT_LIST; s4.4 lists the mandatory attributes.
  if (objectList === undefined) return err('HMAC_SIGNED without NSLP_OBJECT_LIST (RFC 5981 s3.2.1)');
  if (authData === undefined) return err('HMAC_SIGNED without AUTHENTICATION_DATA');
  const keyed = splitKeyedAuthData(authData);
  if (keyed === undefined) return err('AUTHENTICATION_DATA shorter than its Key-ID');
  return ok({
    transformId,
    keyId: keyed.keyId,
    mac: keyed.mac,
    ...(entityId !== undefined ? { entityId } : {}),
    src,
    dst,
    srcPorts: ports.src,
    dstPorts: ports.dst,
    srcSpi,
    dstSpi,
    ...(protocol !== undefined ? { protocol } : {}),
    ...(notBefore !== undefined ? { notBefore } : {}),
    ...(notAfter !== undefined ? { notAfter } : {}),
    objectList,
    ...(authoritySessionId !== undefined ? { authoritySessionId } : {}),
  });
}

export interface IssueOptions {
  readonly key: Uint8Array;
  readonly keyId: number;
  readonly transformId?: number;
  readonly entityId?: string;
  readonly src: readonly Prefix[];
  readonly dst: readonly Prefix[];
  readonly protocol?: number;
  readonly dstPorts?: PortRange;
  readonly srcPorts?: PortRange;
  /** Unix ms. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly coverage?: MacCoverage;
  /** Only with `coverage.message`: the objects to sign and the message context. */
  readonly objectList?: readonly number[];
  readonly context?: MessageContext;
}

/** Most ports one port-list attribute may carry here (the SESSION_AUTH value is at most 16380 octets). */
export const MAX_PORTS_PER_LIST = 4096;

function prefixAttribute(xType: 'SOURCE_ADDR' | 'DEST_ADDR', p: Prefix): SessionAuthAttribute {
  const ip = parseIp(p.address);
  if (ip === undefined) throw new UsageError('TOKEN_BAD_PREFIX', `'${p.address}' is not an IP address`);
  const full = ip.version === 4 ? 32 : 128;
  if (!Number.isInteger(p.length) || p.length < 0 || p.length > full) throw new UsageError('TOKEN_BAD_PREFIX', `prefix length ${p.length} out of range for ${p.address}`);
  const address = canonicalIp(p.address) ?? p.address;
  if (p.length === full) return { xType, subType: ip.version === 4 ? 'IPV4_ADDRESS' : 'IPV6_ADDRESS', address };
  return { xType, subType: ip.version === 4 ? 'IPV4_PREFIX' : 'IPV6_PREFIX', address, prefixLength: p.length };
}

function portList(xType: 'SOURCE_ADDR' | 'DEST_ADDR', protocol: number | undefined, r: PortRange): SessionAuthAttribute {
  if (protocol !== 6 && protocol !== 17) throw new UsageError('TOKEN_BAD_PORTS', 'ports can only be granted with protocol udp or tcp (RFC 5981 has UDP and TCP port lists only)');
  if (!Number.isInteger(r.from) || !Number.isInteger(r.to) || r.from < 0 || r.to > 0xffff || r.from > r.to)
    throw new UsageError('TOKEN_BAD_PORTS', `port range ${r.from}-${r.to} is invalid`);
  if (r.to - r.from + 1 > MAX_PORTS_PER_LIST) throw new UsageError('TOKEN_BAD_PORTS', `port range ${r.from}-${r.to} has more than ${MAX_PORTS_PER_LIST} ports`);
  const ports: number[] = [];
  for (let p = r.from; p <= r.to; p++) ports.push(p);
  return { xType, subType: protocol === 17 ? 'UDP_PORT_LIST' : 'TCP_PORT_LIST', ports };
}

/** An AUTH_ENT_ID for an authority name: an address, a URI (scheme:...), else an FQDN-like name. */
export function entityIdAttribute(id: string): SessionAuthAttribute {
  const ip = parseIp(id);
  if (ip !== undefined) return { xType: 'AUTH_ENT_ID', subType: ip.version === 4 ? 'IPV4_ADDRESS' : 'IPV6_ADDRESS', address: canonicalIp(id) ?? id };
  if (/^[a-z][a-z0-9+.-]*:/i.test(id)) return { xType: 'AUTH_ENT_ID', subType: 'URI', name: id };
  if (/^[A-Za-z0-9.-]+$/.test(id)) return { xType: 'AUTH_ENT_ID', subType: 'FQDN', name: id };
  return { xType: 'AUTH_ENT_ID', subType: 'UNICODE_DN', name: id };
}

/** Builds and signs a token; returns the raw SESSION_AUTH object (header included). Throws UsageError on bad options. */
export function issueToken(o: IssueOptions): Uint8Array {
  const transform = TRANSFORMS.get(o.transformId ?? DEFAULT_TRANSFORM_ID);
  if (transform === undefined) throw new UsageError('TOKEN_BAD_TRANSFORM', `transform ID ${o.transformId} is not supported`);
  if (o.src.length === 0 || o.dst.length === 0) throw new UsageError('TOKEN_BAD_PREFIX', 'a token needs a source and a destination prefix');
  if (!(o.notAfter > o.notBefore)) throw new UsageError('TOKEN_BAD_TIME', 'not-after must be later than not-before');
  const coverage = o.coverage ?? DEFAULT_COVERAGE;
  const attrs: SessionAuthAttribute[] = [{ xType: 'AUTH_ENT_ID', subType: 'HMAC_SIGNED', transformId: transform.id }];
  if (o.entityId !== undefined && o.entityId !== '') attrs.push(entityIdAttribute(o.entityId));
  for (const p of o.src) attrs.push(prefixAttribute('SOURCE_ADDR', p));
  for (const p of o.dst) attrs.push(prefixAttribute('DEST_ADDR', p));
  if (o.protocol !== undefined) attrs.push({ xType: 'NATFW_IP_PROTOCOL', protocol: o.protocol });
  if (o.dstPorts !== undefined) attrs.push(portList('DEST_ADDR', o.protocol, o.dstPorts));
  if (o.srcPorts !== undefined) attrs.push(portList('SOURCE_ADDR', o.protocol, o.srcPorts));
  attrs.push({ xType: 'START_TIME', subType: 'NTP_TIMESTAMP', ...unixMsToNtp(o.notBefore) });
  attrs.push({ xType: 'END_TIME', subType: 'NTP_TIMESTAMP', ...unixMsToNtp(o.notAfter) });
  const objectList = coverage.message ? (o.objectList ?? []) : [];
  attrs.push({ xType: 'NSLP_OBJECT_LIST', objectTypes: objectList });
  if (!Number.isInteger(o.keyId) || o.keyId < 0 || o.keyId > 0xffffffff) throw new UsageError('TOKEN_BAD_KEY', `Key-ID ${o.keyId} is not a 32-bit unsigned integer`);
  const authData = new Uint8Array(4 + transform.macLength);
  new DataView(authData.buffer).setUint32(0, o.keyId);
  attrs.push({ xType: 'AUTHENTICATION_DATA', data: authData });
  const raw = encodeSessionAuth({ attributes: attrs });
  const loc = locateAuthData(raw);
  if (loc === undefined) throw new UsageError('TOKEN_INTERNAL', 'AUTHENTICATION_DATA not found in the encoded token');
  const parts = macInput(raw, loc, coverage, objectList, o.context);
  if (!parts.ok) throw new UsageError('TOKEN_BAD_CONTEXT', parts.error);
  const mac = new PreparedHmac(transform, o.key).mac(parts.value);
  raw.set(mac, loc.valueStart + 4);
  return raw;
}

/** JSON of what a token grants (for `natfw token show`). */
export function tokenToJson(t: TokenView): Record<string, unknown> {
  const tr = TRANSFORMS.get(t.transformId);
  const prefix = (p: Prefix): string => `${p.address}/${p.length}`;
  const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
  const ports = (g: PortGrant): Record<string, string> | undefined => {
    const out: Record<string, string> = {};
    if (g.udp !== undefined) out.udp = compactPorts(g.udp);
    if (g.tcp !== undefined) out.tcp = compactPorts(g.tcp);
    return Object.keys(out).length === 0 ? undefined : out;
  };
  const out: Record<string, unknown> = {
    keyId: t.keyId,
    transform: { id: t.transformId, name: tr?.name ?? 'unsupported' },
    entityId: t.entityId,
    src: t.src.map(prefix),
    dst: t.dst.map(prefix),
    protocol: t.protocol,
    srcPorts: ports(t.srcPorts),
    dstPorts: ports(t.dstPorts),
    srcSpi: t.srcSpi.length > 0 ? t.srcSpi : undefined,
    dstSpi: t.dstSpi.length > 0 ? t.dstSpi : undefined,
    notBefore: iso(t.notBefore),
    notAfter: iso(t.notAfter),
    signedNslpObjects: t.objectList.map((x) => `0x${x.toString(16).padStart(3, '0')}`),
    mac: Buffer.from(t.mac).toString('hex'),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** "5004-5010,6000" from a port list. */
export function compactPorts(ports: readonly number[]): string {
  const s = [...new Set(ports)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
