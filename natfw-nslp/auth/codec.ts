/**
 * The SESSION_AUTH object of RFC 5981 s3 (NSLP object type 0x016,
 * SESSION_AUTH_OBJECT in the IANA NSLP object registry) with every attribute
 * type (X-Type) and sub-type that RFC 5981 s3.2 and the IANA registries
 * define. A codec only: signing and checking live in `hmac.ts` and
 * `authorizer.ts`.
 *
 * Number traps (rfc-traps.md): RFC 5981 s3.2 numbers AUTHENTICATION_DATA as
 * 7 and leaves NSLP_OBJECT_LIST out; s8 and the IANA registry give
 * NSLP_OBJECT_LIST = 7 and AUTHENTICATION_DATA = 8. The registry is what goes
 * on the wire. The figure's "NTP_TIME_STAMP" is the registry's NTP_TIMESTAMP (1).
 */
import { ByteWriter } from '../../common/bytes';
import { UsageError } from '../../common/errors';
import { err, ok, type Result } from '../../common/result';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../codec/address';
import { NatfwResponse, NslpObjectType, type ResponseCodeInfo } from '../codec/constants';
import { Cursor } from '../codec/cursor';
import { NatfwDecodeError } from '../codec/errors';

/** IANA "SESSION_AUTH X-Types" (RFC 5981 s8). */
export const XType = {
  AUTH_ENT_ID: 1,
  SESSION_ID: 2,
  SOURCE_ADDR: 3,
  DEST_ADDR: 4,
  START_TIME: 5,
  END_TIME: 6,
  NSLP_OBJECT_LIST: 7,
  AUTHENTICATION_DATA: 8,
  /**
   * natfw private use (RFC 5981 s8 reserves 128-255 for private or
   * experimental use): the IP protocol the token grants, one octet. RFC 5981
   * can say "UDP ports" or "TCP ports" but not "protocol 132, any port".
   */
  NATFW_IP_PROTOCOL: 128,
} as const;

/** IANA "AUTH_ENT_ID (X-Type 1) SubType values" (RFC 5981 s3.2.1). */
export const AuthEntIdSubType = {
  IPV4_ADDRESS: 1,
  IPV6_ADDRESS: 2,
  FQDN: 3,
  ASCII_DN: 4,
  UNICODE_DN: 5,
  URI: 6,
  KRB_PRINCIPAL: 7,
  X509_V3_CERT: 8,
  PGP_CERT: 9,
  HMAC_SIGNED: 10,
} as const;

/** IANA "SOURCE_ADDR / DEST_ADDR SubType values" (RFC 5981 s3.2.3, s3.2.4), plus natfw's private-use prefixes. */
export const AddrSubType = {
  IPV4_ADDRESS: 1,
  IPV6_ADDRESS: 2,
  UDP_PORT_LIST: 3,
  TCP_PORT_LIST: 4,
  SPI: 5,
  /** natfw private use (128-255): IPv4 address (4 octets) then a prefix length (1 octet). */
  IPV4_PREFIX: 128,
  /** natfw private use: IPv6 address (16 octets) then a prefix length (1 octet). */
  IPV6_PREFIX: 129,
} as const;

/** IANA "START_TIME / END_TIME SubType values". */
export const TimeSubType = { NTP_TIMESTAMP: 1 } as const;

export type AuthEntIdTextSubType = 'FQDN' | 'ASCII_DN' | 'UNICODE_DN' | 'URI' | 'KRB_PRINCIPAL' | 'X509_V3_CERT';
const TEXT_SUBTYPES: readonly AuthEntIdTextSubType[] = ['FQDN', 'ASCII_DN', 'UNICODE_DN', 'URI', 'KRB_PRINCIPAL', 'X509_V3_CERT'];

/** RFC 5981 s3.2.1 Authorizing Entity Identifier. */
export type AuthEntIdAttribute =
  | { readonly xType: 'AUTH_ENT_ID'; readonly subType: 'IPV4_ADDRESS' | 'IPV6_ADDRESS'; readonly address: string }
  | { readonly xType: 'AUTH_ENT_ID'; readonly subType: AuthEntIdTextSubType; readonly name: string }
  /** OpenPGP Public-Key Packet (RFC 4880). */
  | { readonly xType: 'AUTH_ENT_ID'; readonly subType: 'PGP_CERT'; readonly data: Uint8Array }
  /** RFC 5981 s4.4 Figure 5: 24 reserved bits, then an IKEv2 Transform Type 3 ID. */
  | { readonly xType: 'AUTH_ENT_ID'; readonly subType: 'HMAC_SIGNED'; readonly transformId: number }
  /** An unassigned or private-use sub-type, kept raw. */
  | { readonly xType: 'AUTH_ENT_ID'; readonly subType: number; readonly data: Uint8Array };

/** RFC 5981 s3.2.3 / s3.2.4 address specifications. */
export type AddrAttribute = { readonly xType: 'SOURCE_ADDR' | 'DEST_ADDR' } & (
  | { readonly subType: 'IPV4_ADDRESS' | 'IPV6_ADDRESS'; readonly address: string }
  | { readonly subType: 'IPV4_PREFIX' | 'IPV6_PREFIX'; readonly address: string; readonly prefixLength: number }
  | { readonly subType: 'UDP_PORT_LIST' | 'TCP_PORT_LIST'; readonly ports: readonly number[] }
  | { readonly subType: 'SPI'; readonly spi: number }
  | { readonly subType: number; readonly data: Uint8Array }
);

/** RFC 5981 s3.2.5 / s3.2.6; NTP timestamp format of RFC 5905 (seconds since 1900, 32-bit fraction). */
export type TimeAttribute = { readonly xType: 'START_TIME' | 'END_TIME' } & (
  | { readonly subType: 'NTP_TIMESTAMP'; readonly seconds: number; readonly fraction: number }
  | { readonly subType: number; readonly data: Uint8Array }
);

export type SessionAuthAttribute =
  | AuthEntIdAttribute
  /** RFC 5981 s3.2.2: opaque to everybody but the authorizing entity (not GIST's Session ID). */
  | { readonly xType: 'SESSION_ID'; readonly data: Uint8Array }
  | AddrAttribute
  | TimeAttribute
  /** RFC 5981 s3.2.7: 12-bit NSLP object types, in hashing order. */
  | { readonly xType: 'NSLP_OBJECT_LIST'; readonly objectTypes: readonly number[] }
  /** RFC 5981 s3.2.8; with shared keys and HMAC_SIGNED the first 4 octets are a Key-ID (s4.1.1), see `splitKeyedAuthData`. */
  | { readonly xType: 'AUTHENTICATION_DATA'; readonly data: Uint8Array }
  | { readonly xType: 'NATFW_IP_PROTOCOL'; readonly protocol: number }
  /** An unassigned or private-use X-Type, kept raw. */
  | { readonly xType: number; readonly subType: number; readonly data: Uint8Array };

export interface SessionAuthObject {
  readonly attributes: readonly SessionAuthAttribute[];
}

/** RFC 5981 s3.1: SESSION_AUTH always travels with AB=10 ("Forward"). */
export const SESSION_AUTH_AB = 2;
/** The object length field has 12 bits of 32-bit words (RFC 5973 s4.2). */
export const MAX_OBJECT_VALUE_BYTES = 0xfff * 4;

const subTypeName = <T extends Record<string, number>>(table: T, v: number): keyof T | undefined => {
  for (const k in table) if (table[k] === v) return k;
  return undefined;
};

// ---------------------------------------------------------------- encoding

function subTypeNumber(table: Record<string, number>, s: string | number): number {
  if (typeof s === 'number') {
    if (!Number.isInteger(s) || s < 0 || s > 255) throw new UsageError('SESSION_AUTH_BAD_VALUE', `sub-type ${s} out of range`);
    return s;
  }
  const n = table[s];
  if (n === undefined) throw new UsageError('SESSION_AUTH_BAD_VALUE', `unknown sub-type ${s}`);
  return n;
}

function addressBytes(subType: string, address: string): Uint8Array {
  const b = subType.startsWith('IPV4') ? parseIpv4(address) : parseIpv6(address);
  if (b === undefined) throw new UsageError('SESSION_AUTH_BAD_VALUE', `${subType} attribute with invalid address '${address}'`);
  return b;
}

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new UsageError('SESSION_AUTH_BAD_VALUE', `${what} ${v} is not a 32-bit unsigned integer`);
  return v;
}

/** The attribute's X-Type, sub-type and value octets (without header or padding). */
const enc = new TextEncoder();

/** Writes the attribute header with Length 0 (patched by the caller) and returns nothing. */
function head(w: ByteWriter, x: number, sub: number): void {
  w.u16(0).u8(x).u8(sub);
}

function writeAddress(w: ByteWriter, subType: string, address: string): number {
  const b = addressBytes(subType, address);
  w.bytes(b);
  return b.length;
}

/** Writes header and value (not the padding) of one attribute. */
function writeAttributeBody(w: ByteWriter, a: SessionAuthAttribute): void {
  if (typeof a.xType === 'number') {
    const raw = a as { xType: number; subType: number; data: Uint8Array };
    if (!Number.isInteger(raw.xType) || raw.xType < 0 || raw.xType > 255) throw new UsageError('SESSION_AUTH_BAD_VALUE', `X-Type ${raw.xType} out of range`);
    head(w, raw.xType, subTypeNumber({}, raw.subType));
    w.bytes(raw.data);
    return;
  }
  switch (a.xType) {
    case 'AUTH_ENT_ID': {
      head(w, XType.AUTH_ENT_ID, subTypeNumber(AuthEntIdSubType, a.subType));
      if ('address' in a) writeAddress(w, a.subType, a.address);
      else if ('name' in a) w.bytes(enc.encode(a.name));
      else if ('transformId' in a) {
        if (!Number.isInteger(a.transformId) || a.transformId < 0 || a.transformId > 255)
          throw new UsageError('SESSION_AUTH_BAD_VALUE', `transform ID ${a.transformId} out of range`);
        w.u8(0).u8(0).u8(0).u8(a.transformId);
      } else w.bytes(a.data);
      return;
    }
    case 'SESSION_ID':
      head(w, XType.SESSION_ID, 0);
      w.bytes(a.data);
      return;
    case 'SOURCE_ADDR':
    case 'DEST_ADDR': {
      head(w, XType[a.xType], subTypeNumber(AddrSubType, a.subType));
      if ('prefixLength' in a) {
        const n = writeAddress(w, String(a.subType), a.address);
        if (!Number.isInteger(a.prefixLength) || a.prefixLength < 0 || a.prefixLength > n * 8)
          throw new UsageError('SESSION_AUTH_BAD_VALUE', `prefix length ${a.prefixLength} out of range`);
        w.u8(a.prefixLength);
      } else if ('address' in a) writeAddress(w, String(a.subType), a.address);
      else if ('ports' in a) {
        for (const p of a.ports) {
          if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new UsageError('SESSION_AUTH_BAD_VALUE', `port ${p} out of range`);
          w.u16(p);
        }
      } else if ('spi' in a) w.u32(u32(a.spi, 'SPI'));
      else w.bytes(a.data);
      return;
    }
    case 'START_TIME':
    case 'END_TIME':
      head(w, XType[a.xType], subTypeNumber(TimeSubType, a.subType));
      if ('seconds' in a) w.u32(u32(a.seconds, 'NTP seconds')).u32(u32(a.fraction, 'NTP fraction'));
      else w.bytes(a.data);
      return;
    case 'NSLP_OBJECT_LIST':
      // RFC 5981 s3.2.7: count, then 12-bit types in 16-bit slots; the 16-bit
      // padding (present when the count is even) is not counted in Length (s3.2).
      if (a.objectTypes.length > 0xffff) throw new UsageError('SESSION_AUTH_BAD_VALUE', 'too many NSLP object types');
      head(w, XType.NSLP_OBJECT_LIST, 0);
      w.u16(a.objectTypes.length);
      for (const t of a.objectTypes) {
        if (!Number.isInteger(t) || t < 0 || t > 0xfff) throw new UsageError('SESSION_AUTH_BAD_VALUE', `NSLP object type ${t} is not 12 bits`);
        w.u16(t);
      }
      return;
    case 'AUTHENTICATION_DATA':
      head(w, XType.AUTHENTICATION_DATA, 0);
      w.bytes(a.data);
      return;
    case 'NATFW_IP_PROTOCOL':
      if (!Number.isInteger(a.protocol) || a.protocol < 0 || a.protocol > 255) throw new UsageError('SESSION_AUTH_BAD_VALUE', `protocol ${a.protocol} out of range`);
      head(w, XType.NATFW_IP_PROTOCOL, 0);
      w.u8(a.protocol);
      return;
  }
}

/** Appends one attribute (RFC 5981 s3.2: Length counts header and value, not padding; padding is zeros). */
export function writeAttribute(w: ByteWriter, a: SessionAuthAttribute): void {
  const at = w.length;
  writeAttributeBody(w, a);
  const length = w.length - at;
  // RFC 5981 s3.2.x: "Length ... MUST be > 4".
  if (length <= 4) throw new UsageError('SESSION_AUTH_BAD_VALUE', `${String(a.xType)} attribute with an empty value`);
  if (length > 0xffff) throw new UsageError('SESSION_AUTH_BAD_VALUE', `${String(a.xType)} attribute too long`);
  w.setU16(at, length);
  w.pad4();
}

/** Appends the attribute list (the object's value), padded to 32 bits; returns its length in octets. */
export function writeSessionAuthValue(w: ByteWriter, obj: SessionAuthObject): number {
  const start = w.length;
  for (const a of obj.attributes) writeAttribute(w, a);
  const n = w.length - start;
  if (n > MAX_OBJECT_VALUE_BYTES) throw new UsageError('SESSION_AUTH_BAD_VALUE', `SESSION_AUTH of ${n} octets exceeds the 12-bit object length`);
  return n;
}

/** The attribute list (the object's value), padded to 32 bits. */
export function encodeSessionAuthValue(obj: SessionAuthObject): Uint8Array {
  const w = new ByteWriter(128);
  writeSessionAuthValue(w, obj);
  return w.finish();
}

/**
 * The octets each decoded SESSION_AUTH arrived as (header included). RFC
 * 5981 s3.1 gives the object AB=10: a node that forwards it must retain it
 * unchanged, and its MAC covers those exact octets. So an object that came
 * off the wire is re-encoded as it came (another implementation's reserved
 * bits or padding-inside NSLP_OBJECT_LIST Length survive a hop); objects
 * built in code are encoded canonically. Decoded objects are immutable, so
 * the two cannot disagree.
 */
const ARRIVED_AS = new WeakMap<SessionAuthObject, Uint8Array>();

/**
 * What the decoder makes: a SessionAuthObject whose wire octets ride along in
 * a private field, invisible to equality, JSON and spreading (a spread copy is
 * a new object, encoded canonically, as a copy in the weak map would be). A
 * weak-map entry per decoded object cost an NF more than verifying the token
 * (ephemeron bookkeeping in every GC); objects made elsewhere still use it.
 */
class DecodedSessionAuth implements SessionAuthObject {
  #wire: Uint8Array | undefined = undefined;

  constructor(readonly attributes: readonly SessionAuthAttribute[]) {}

  static wire(obj: SessionAuthObject): Uint8Array | undefined {
    return #wire in obj ? obj.#wire : ARRIVED_AS.get(obj);
  }

  static remember(obj: SessionAuthObject, raw: Uint8Array): void {
    if (#wire in obj) obj.#wire = raw;
    else ARRIVED_AS.set(obj, raw);
  }
}

/** The octets a decoded object arrived as, if it was decoded. */
export function sessionAuthWireBytes(obj: SessionAuthObject): Uint8Array | undefined {
  return DecodedSessionAuth.wire(obj);
}

/** Records the octets `obj` was decoded from (message decoder). */
export function rememberWireBytes(obj: SessionAuthObject, raw: Uint8Array): void {
  DecodedSessionAuth.remember(obj, raw);
}

/** Appends the whole object (header and attributes) to `w`. */
export function writeSessionAuth(w: ByteWriter, obj: SessionAuthObject): void {
  const arrived = DecodedSessionAuth.wire(obj);
  if (arrived !== undefined) {
    w.bytes(arrived);
    return;
  }
  const at = w.length;
  w.u16((SESSION_AUTH_AB << 14) | NslpObjectType.SESSION_AUTH).u16(0);
  const n = writeSessionAuthValue(w, obj);
  w.setU16(at + 2, n / 4);
}

/** The whole NSLP object: header (AB=10, type 0x016, length in words) and attributes. */
export function encodeSessionAuth(obj: SessionAuthObject): Uint8Array {
  const w = new ByteWriter(128);
  writeSessionAuth(w, obj);
  return w.finish();
}

// ---------------------------------------------------------------- decoding

const fail = (r: ResponseCodeInfo, offset: number, message: string): { ok: false; error: NatfwDecodeError } =>
  err(new NatfwDecodeError(r, offset, `SESSION_AUTH: ${message}`, NslpObjectType.SESSION_AUTH));

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(b: Uint8Array): string | undefined {
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}

/**
 * One attribute whose value is `buf[s, s + len)`; `view` spans all of `buf`.
 * Fixed-size values are read in place; octet strings are copied.
 */
function decodeAttribute(x: number, sub: number, buf: Uint8Array, view: DataView, s: number, len: number, at: number): Result<SessionAuthAttribute, NatfwDecodeError> {
  const badLen = (what: string) => fail(NatfwResponse.WRONG_OBJECT_LENGTH, at, `${what} attribute with a value of ${len} octets`);
  const copy = (): Uint8Array => buf.slice(s, s + len);
  switch (x) {
    case XType.AUTH_ENT_ID: {
      const name = subTypeName(AuthEntIdSubType, sub);
      if (name === 'IPV4_ADDRESS' || name === 'IPV6_ADDRESS') {
        if (len !== (name === 'IPV4_ADDRESS' ? 4 : 16)) return badLen(`AUTH_ENT_ID ${name}`);
        return ok({ xType: 'AUTH_ENT_ID', subType: name, address: len === 4 ? formatIpv4(buf, s) : formatIpv6(buf, s) });
      }
      if (name === 'HMAC_SIGNED') {
        if (len !== 4) return badLen('AUTH_ENT_ID HMAC_SIGNED');
        // Figure 5: 24 reserved bits are ignored on receipt.
        return ok({ xType: 'AUTH_ENT_ID', subType: 'HMAC_SIGNED', transformId: buf[s + 3] });
      }
      if (name === 'PGP_CERT') return ok({ xType: 'AUTH_ENT_ID', subType: 'PGP_CERT', data: copy() });
      if (name !== undefined && (TEXT_SUBTYPES as readonly string[]).includes(name)) {
        const text = decodeText(buf.subarray(s, s + len));
        if (text === undefined) return fail(NatfwResponse.UNKNOWN_OBJECT_FIELD_VALUE, at, `AUTH_ENT_ID ${name} is not valid UTF-8`);
        return ok({ xType: 'AUTH_ENT_ID', subType: name as AuthEntIdTextSubType, name: text });
      }
      return ok({ xType: 'AUTH_ENT_ID', subType: sub, data: copy() });
    }
    case XType.SESSION_ID:
      // s3.2.2: the sub-type MUST be zero; it is ignored on receipt.
      return ok({ xType: 'SESSION_ID', data: copy() });
    case XType.SOURCE_ADDR:
    case XType.DEST_ADDR: {
      const xType = x === XType.SOURCE_ADDR ? 'SOURCE_ADDR' : 'DEST_ADDR';
      const name = subTypeName(AddrSubType, sub);
      switch (name) {
        case 'IPV4_ADDRESS':
        case 'IPV6_ADDRESS':
          if (len !== (name === 'IPV4_ADDRESS' ? 4 : 16)) return badLen(`${xType} ${name}`);
          return ok({ xType, subType: name, address: len === 4 ? formatIpv4(buf, s) : formatIpv6(buf, s) });
        case 'IPV4_PREFIX':
        case 'IPV6_PREFIX': {
          const n = name === 'IPV4_PREFIX' ? 4 : 16;
          if (len !== n + 1) return badLen(`${xType} ${name}`);
          if (buf[s + n] > n * 8) return fail(NatfwResponse.UNKNOWN_OBJECT_FIELD_VALUE, at, `${xType} prefix length ${buf[s + n]} exceeds ${n * 8}`);
          return ok({ xType, subType: name, address: n === 4 ? formatIpv4(buf, s) : formatIpv6(buf, s), prefixLength: buf[s + n] });
        }
        case 'UDP_PORT_LIST':
        case 'TCP_PORT_LIST': {
          if (len % 2 !== 0) return badLen(`${xType} ${name}`);
          const ports: number[] = [];
          for (let i = 0; i < len; i += 2) ports.push(view.getUint16(s + i));
          return ok({ xType, subType: name, ports });
        }
        case 'SPI':
          if (len !== 4) return badLen(`${xType} SPI`);
          return ok({ xType, subType: 'SPI', spi: view.getUint32(s) });
        default:
          return ok({ xType, subType: sub, data: copy() });
      }
    }
    case XType.START_TIME:
    case XType.END_TIME: {
      const xType = x === XType.START_TIME ? 'START_TIME' : 'END_TIME';
      if (sub === TimeSubType.NTP_TIMESTAMP) {
        if (len !== 8) return badLen(`${xType} NTP_TIMESTAMP`);
        return ok({ xType, subType: 'NTP_TIMESTAMP', seconds: view.getUint32(s), fraction: view.getUint32(s + 4) });
      }
      return ok({ xType, subType: sub, data: copy() });
    }
    case XType.NSLP_OBJECT_LIST: {
      if (len < 2) return badLen('NSLP_OBJECT_LIST');
      const n = view.getUint16(s);
      // s3.2 says Length excludes padding; the s3.2.7 figure draws the 16-bit
      // padding inside. Accept both; we send the s3.2 form (rfc-traps.md).
      const exact = 2 + 2 * n;
      if (len !== exact && !(n % 2 === 0 && len === exact + 2)) return badLen(`NSLP_OBJECT_LIST with ${n} types`);
      const objectTypes: number[] = [];
      for (let i = 0; i < n; i++) objectTypes.push(view.getUint16(s + 2 + 2 * i) & 0xfff);
      return ok({ xType: 'NSLP_OBJECT_LIST', objectTypes });
    }
    case XType.AUTHENTICATION_DATA:
      return ok({ xType: 'AUTHENTICATION_DATA', data: copy() });
    case XType.NATFW_IP_PROTOCOL:
      if (len !== 1) return badLen('NATFW_IP_PROTOCOL');
      return ok({ xType: 'NATFW_IP_PROTOCOL', protocol: buf[s] });
    default:
      return ok({ xType: x, subType: sub, data: copy() });
  }
}

/** Most attributes a SESSION_AUTH can hold (each takes at least 8 octets of the 16380). */
const MAX_ATTRIBUTES = MAX_OBJECT_VALUE_BYTES / 8;

/**
 * Decodes the attribute list in `buf[start, end)`. Offsets in errors are
 * relative to `buf`. Never throws; every loop is bounded by the bytes present.
 */
export function decodeSessionAuthValue(
  buf: Uint8Array,
  start: number,
  end: number,
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
): Result<SessionAuthObject, NatfwDecodeError> {
  const r = new Cursor(buf, start, end, view);
  const attributes: SessionAuthAttribute[] = [];
  let sawAuthData = false;
  for (let i = 0; r.remaining > 0; i++) {
    if (i >= MAX_ATTRIBUTES) return fail(NatfwResponse.WRONG_OBJECT_LENGTH, r.offset, 'too many attributes');
    const at = r.offset;
    if (!r.has(4)) return fail(NatfwResponse.WRONG_OBJECT_LENGTH, at, `${r.remaining} octets left, too few for an attribute header`);
    const length = r.u16();
    const x = r.u8();
    const sub = r.u8();
    if (length <= 4) return fail(NatfwResponse.WRONG_OBJECT_LENGTH, at, `attribute Length ${length} (must be > 4)`);
    const padded = (length + 3) & ~3;
    if (!r.has(padded - 4)) return fail(NatfwResponse.WRONG_OBJECT_LENGTH, at, `attribute Length ${length} runs past the object end`);
    // s3.2.8: AUTHENTICATION_DATA MUST be the last attribute.
    if (sawAuthData) return fail(NatfwResponse.INVALID_FLAG_FIELD_COMBINATION, at, 'attribute after AUTHENTICATION_DATA');
    const valueStart = r.offset;
    r.offset += padded - 4; // padding: "MUST have a value of zero", ignored on receipt (covered by the MAC when signed)
    const a = decodeAttribute(x, sub, buf, r.view, valueStart, length - 4, at);
    if (!a.ok) return a;
    if (x === XType.AUTHENTICATION_DATA) sawAuthData = true;
    attributes.push(a.value);
  }
  return ok(new DecodedSessionAuth(attributes));
}

/** Decodes a whole SESSION_AUTH NSLP object (header included); re-encoding it gives these octets back. */
export function decodeSessionAuth(bytes: Uint8Array): Result<SessionAuthObject, NatfwDecodeError> {
  const r = readSessionAuth(bytes);
  if (r.ok) DecodedSessionAuth.remember(r.value, bytes.slice());
  return r;
}

/**
 * Decodes a whole SESSION_AUTH NSLP object without remembering its octets: for
 * a check that holds the raw bytes itself (verify.ts) and forwards nothing, so
 * that it pays for no copy per message.
 */
export function readSessionAuth(bytes: Uint8Array): Result<SessionAuthObject, NatfwDecodeError> {
  if (bytes.length < 4) return fail(NatfwResponse.WRONG_OBJECT_LENGTH, 0, `${bytes.length} octets, too few for an object header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w0 = view.getUint16(0);
  const type = w0 & 0xfff;
  if (type !== NslpObjectType.SESSION_AUTH) return fail(NatfwResponse.UNKNOWN_OBJECT_FIELD_VALUE, 0, `object type 0x${type.toString(16)} is not SESSION_AUTH (0x016)`);
  if (w0 >> 14 === 3) return fail(NatfwResponse.INVALID_FLAG_FIELD_COMBINATION, 0, 'AB=11 must not be used');
  const words = view.getUint16(2) & 0xfff;
  if (4 + words * 4 !== bytes.length) return fail(NatfwResponse.WRONG_OBJECT_LENGTH, 2, `object length ${words} words, ${bytes.length - 4} octets present`);
  return decodeSessionAuthValue(bytes, 4, bytes.length, view);
}

// ---------------------------------------------------------------- helpers

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2208988800;

/**
 * Unix ms -> NTP timestamp (RFC 5905). Era 0 ends in 2036; like RFC 4330
 * s3, a seconds value with the top bit clear is read as era 1 (2036-2104).
 */
export function unixMsToNtp(ms: number): { seconds: number; fraction: number } {
  const secs = Math.floor(ms / 1000);
  const seconds = (secs + NTP_UNIX_OFFSET) % 2 ** 32;
  const fraction = Math.floor(((ms - secs * 1000) / 1000) * 2 ** 32) >>> 0;
  return { seconds, fraction };
}

export function ntpToUnixMs(t: { seconds: number; fraction: number }): number {
  const era = t.seconds >= 2 ** 31 ? 0 : 1;
  const secs = t.seconds + era * 2 ** 32 - NTP_UNIX_OFFSET;
  return secs * 1000 + Math.round((t.fraction / 2 ** 32) * 1000);
}

/** RFC 5981 s4.1.1 / s4.4: the first 32 bits of AUTHENTICATION_DATA are a Key-ID, the rest is the MAC. */
export function splitKeyedAuthData(data: Uint8Array): { keyId: number; mac: Uint8Array } | undefined {
  if (data.length < 4) return undefined;
  // Read by hand: a DataView per token cost more than the rest of this function.
  const keyId = ((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) >>> 0;
  return { keyId, mac: data.subarray(4) };
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** JSON with the RFC's names (X-Type and sub-type names, values decoded). */
export function sessionAuthToJson(obj: SessionAuthObject): object {
  return {
    type: 'SESSION_AUTH_OBJECT',
    attributes: obj.attributes.map((a) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(a)) out[k] = v instanceof Uint8Array ? hex(v) : v;
      if (typeof a.xType === 'number') out.xTypeName = a.xType >= 128 ? 'private-use' : 'unassigned';
      if ((a.xType === 'START_TIME' || a.xType === 'END_TIME') && a.subType === 'NTP_TIMESTAMP' && 'seconds' in a)
        out.time = new Date(ntpToUnixMs(a)).toISOString();
      if (a.xType === 'NSLP_OBJECT_LIST') out.objectTypes = a.objectTypes.map((t) => `0x${t.toString(16).padStart(3, '0')}`);
      if (a.xType === 'AUTHENTICATION_DATA') {
        const k = splitKeyedAuthData(a.data);
        if (k !== undefined) {
          out.keyId = k.keyId;
          out.mac = hex(k.mac);
        }
      }
      return out;
    }),
  };
}
