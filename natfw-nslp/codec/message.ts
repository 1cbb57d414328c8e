/**
 * NATFW NSLP messages (RFC 5973 s4.1 header, s4.3 message formats): a 32-bit
 * NSLP header and TLV objects in any order. Table driven: which objects each
 * message may carry and which it must carry are in `RULES`.
 */
import { ByteWriter } from '../../common/bytes';
import { Cursor } from './cursor';
import { UsageError } from '../../common/errors';
import { err, ok, type Result } from '../../common/result';
import { decodeSessionAuthValue, rememberWireBytes, writeSessionAuth, type SessionAuthObject } from '../auth/codec';
import { AbFlags, NatfwMessageType, NatfwResponse, NSLP_OBJECT_NAMES, NslpObjectType, ResponseClass, type NatfwMessageTypeName, type ResponseCodeInfo } from './constants';
import { NatfwDecodeError } from './errors';
import {
  readDtinfo,
  readEfi,
  readExternalBinding,
  readExternalIp,
  readIcmpTypes,
  readInfo,
  readU32Object,
  writeDtinfo,
  writeEfi,
  writeExternalBinding,
  writeExternalIp,
  writeIcmpTypes,
  writeInfo,
  writeU32Object,
  type NatfwDtinfo,
  type NatfwEfi,
  type NatfwExternalBinding,
  type NatfwExternalIp,
  type NatfwInfo,
} from './objects';

/** s4.1: Message type | P | E | reserved (6 bits) | reserved (16 bits). */
export interface NatfwHeader {
  readonly messageType: number;
  /** P flag: proxy mode (CREATE and EXTERNAL only; ignored, and decoded as false, in RESPONSE and NOTIFY). */
  readonly proxy: boolean;
  /** E flag: in proxy mode, the edge device continues the message to the NR (needs P; else ignored and decoded as false). */
  readonly edge: boolean;
}

/** An object this node does not understand, kept because its AB flags say "Forward" (s4.2, AB=10). */
export interface NatfwRawObject {
  readonly ab: number;
  readonly type: number;
  /** The value (after the 32-bit object header), a multiple of 4 octets. */
  readonly value: Uint8Array;
}

interface Common {
  readonly header: NatfwHeader;
  /** RFC 5981 SESSION_AUTH objects (AB=10), in message order; there may be several (RFC 5981 s4.2). */
  readonly sessionAuth: readonly SessionAuthObject[];
  readonly unknownObjects: readonly NatfwRawObject[];
}

/** s4.3.1 */
export interface NatfwCreate extends Common {
  readonly type: 'CREATE';
  /** NATFW_LT, seconds. */
  readonly lifetime: number;
  readonly efi: NatfwEfi;
  readonly msn: number;
  /** NATFW_NONCE, mandatory when P is set. */
  readonly nonce?: number;
  readonly icmpTypes?: readonly number[];
}

/** s4.3.2 (the drafts' REA/EXT). */
export interface NatfwExternal extends Common {
  readonly type: 'EXTERNAL';
  readonly lifetime: number;
  readonly msn: number;
  readonly efi: NatfwEfi;
  readonly dtinfo: NatfwDtinfo;
  readonly nonce?: number;
  readonly icmpTypes?: readonly number[];
  readonly externalBinding?: NatfwExternalBinding;
}

/** s4.3.3: NATFW_LT is mandatory for class Success (2), optional otherwise; the external address objects only with Success. */
export interface NatfwResponseMessage extends Common {
  readonly type: 'RESPONSE';
  readonly msn: number;
  readonly info: NatfwInfo;
  readonly lifetime?: number;
  readonly externalIp?: NatfwExternalIp;
  readonly externalBinding?: NatfwExternalBinding;
}

/** s4.3.4 */
export interface NatfwNotify extends Common {
  readonly type: 'NOTIFY';
  readonly info: NatfwInfo;
}

export type NatfwMessage = NatfwCreate | NatfwExternal | NatfwResponseMessage | NatfwNotify;

const T = NslpObjectType;
type Field = 'lifetime' | 'externalIp' | 'externalBinding' | 'efi' | 'info' | 'nonce' | 'msn' | 'dtinfo' | 'icmpTypes';

/** Object type -> message field. */
const FIELD_OF: ReadonlyMap<number, Field> = new Map<number, Field>([
  [T.NATFW_LT, 'lifetime'],
  [T.NATFW_EXTERNAL_IP, 'externalIp'],
  [T.NATFW_EXTERNAL_BINDING, 'externalBinding'],
  [T.NATFW_EFI, 'efi'],
  [T.NATFW_INFO, 'info'],
  [T.NATFW_NONCE, 'nonce'],
  [T.NATFW_MSN, 'msn'],
  [T.NATFW_DTINFO, 'dtinfo'],
  [T.NATFW_ICMP_TYPES, 'icmpTypes'],
]);

/**
 * s4.3: the objects each message may carry, in the RFC's order (which is
 * also our encoding order), and the mandatory ones. SESSION_AUTH (RFC 5981)
 * may travel in every message (s6.4 protects responses too).
 */
const RULES: Record<NatfwMessageTypeName, { allowed: readonly number[]; mandatory: readonly number[] }> = {
  CREATE: { allowed: [T.NATFW_LT, T.NATFW_EFI, T.NATFW_MSN, T.NATFW_NONCE, T.NATFW_ICMP_TYPES], mandatory: [T.NATFW_LT, T.NATFW_EFI, T.NATFW_MSN] },
  EXTERNAL: {
    allowed: [T.NATFW_LT, T.NATFW_MSN, T.NATFW_EFI, T.NATFW_DTINFO, T.NATFW_NONCE, T.NATFW_ICMP_TYPES, T.NATFW_EXTERNAL_BINDING],
    mandatory: [T.NATFW_LT, T.NATFW_MSN, T.NATFW_EFI, T.NATFW_DTINFO],
  },
  RESPONSE: { allowed: [T.NATFW_LT, T.NATFW_MSN, T.NATFW_INFO, T.NATFW_EXTERNAL_IP, T.NATFW_EXTERNAL_BINDING], mandatory: [T.NATFW_MSN, T.NATFW_INFO] },
  NOTIFY: { allowed: [T.NATFW_INFO], mandatory: [T.NATFW_INFO] },
};

const TYPE_NAMES: Record<number, NatfwMessageTypeName> = { 1: 'CREATE', 2: 'EXTERNAL', 3: 'RESPONSE', 4: 'NOTIFY' };

export const objectName = (t: number): string => NSLP_OBJECT_NAMES[t] ?? `0x${t.toString(16).padStart(3, '0')}`;

// ---------------------------------------------------------------- encoding

function writeObjectHeader(w: ByteWriter, ab: number, type: number, valueLength: number): void {
  if (valueLength % 4 !== 0 || valueLength / 4 > 0xfff) throw new UsageError('NATFW_BAD_VALUE', `object 0x${type.toString(16)} of ${valueLength} octets cannot be encoded`);
  w.u16(((ab & 3) << 14) | (type & 0xfff)).u16(valueLength / 4);
}

/** Writes one object: header with a placeholder length, value, then the length patched in. */
function writeObject(w: ByteWriter, type: number, body: (w: ByteWriter) => void): void {
  const at = w.length;
  w.u16(T.NATFW_LT).u16(0);
  body(w);
  const words = (w.length - at - 4) / 4;
  if (!Number.isInteger(words) || words > 0xfff) throw new UsageError('NATFW_BAD_VALUE', `object ${objectName(type)} too long`);
  w.setU16(at, (AbFlags.MANDATORY << 14) | type);
  w.setU16(at + 2, words);
}

function writeField(w: ByteWriter, type: number, m: Record<string, unknown>): void {
  switch (type) {
    case T.NATFW_LT:
      return writeObject(w, type, (b) => writeU32Object(b, m.lifetime as number, 'NATFW_LT'));
    case T.NATFW_MSN:
      return writeObject(w, type, (b) => writeU32Object(b, m.msn as number, 'NATFW_MSN'));
    case T.NATFW_NONCE:
      return writeObject(w, type, (b) => writeU32Object(b, m.nonce as number, 'NATFW_NONCE'));
    case T.NATFW_EFI:
      return writeObject(w, type, (b) => writeEfi(b, m.efi as NatfwEfi));
    case T.NATFW_INFO:
      return writeObject(w, type, (b) => writeInfo(b, m.info as NatfwInfo));
    case T.NATFW_EXTERNAL_IP:
      return writeObject(w, type, (b) => writeExternalIp(b, m.externalIp as NatfwExternalIp));
    case T.NATFW_EXTERNAL_BINDING:
      return writeObject(w, type, (b) => writeExternalBinding(b, m.externalBinding as NatfwExternalBinding));
    case T.NATFW_DTINFO:
      return writeObject(w, type, (b) => writeDtinfo(b, m.dtinfo as NatfwDtinfo));
    case T.NATFW_ICMP_TYPES:
      return writeObject(w, type, (b) => writeIcmpTypes(b, m.icmpTypes as readonly number[]));
  }
}

const scratch = new ByteWriter(256);

/**
 * Encodes a message. Throws `UsageError` for values that cannot be sent
 * (a local bug, not a remote error): a mandatory object missing, a field out
 * of range. Reserved bits are sent as zero.
 */
export function encodeNatfwMessage(msg: NatfwMessage): Uint8Array {
  const typeNo = NatfwMessageType[msg.type];
  if (msg.header.messageType !== typeNo) throw new UsageError('NATFW_BAD_VALUE', `header.messageType ${msg.header.messageType} does not match ${msg.type}`);
  const proxyCapable = msg.type === 'CREATE' || msg.type === 'EXTERNAL';
  const p = proxyCapable && msg.header.proxy;
  const e = p && msg.header.edge;
  // One writer reused for every message (encoding is synchronous and never nested); finish() copies the octets out.
  const w = scratch;
  w.length = 0;
  w.u8(typeNo).u8((p ? 0x80 : 0) | (e ? 0x40 : 0)).u16(0);
  const rules = RULES[msg.type];
  if (msg.type === 'RESPONSE' && msg.info.responseClass !== ResponseClass.SUCCESS && (msg.externalIp !== undefined || msg.externalBinding !== undefined))
    throw new UsageError('NATFW_BAD_VALUE', 'external address objects only travel in a Success RESPONSE (RFC 5973 s4.3.3)');
  const fields = msg as unknown as Record<string, unknown>;
  for (const t of rules.allowed) {
    const f = FIELD_OF.get(t) as Field;
    const present = fields[f] !== undefined;
    const mandatory = rules.mandatory.includes(t) || (t === T.NATFW_NONCE && p) || (t === T.NATFW_LT && msg.type === 'RESPONSE' && msg.info.responseClass === ResponseClass.SUCCESS);
    if (!present) {
      if (mandatory) throw new UsageError('NATFW_BAD_VALUE', `${msg.type} without ${objectName(t)}`);
      continue;
    }
    writeField(w, t, fields);
  }
  for (const sa of msg.sessionAuth) writeSessionAuth(w, sa);
  for (const u of msg.unknownObjects) {
    writeObjectHeader(w, u.ab, u.type, u.value.length);
    w.bytes(u.value);
  }
  return w.finish();
}

// ---------------------------------------------------------------- decoding

type Fail = { ok: false; error: NatfwDecodeError };
const fail = (r: ResponseCodeInfo, offset: number, message: string, objectType = 0): Fail => err(new NatfwDecodeError(r, offset, message, objectType));

interface Fields {
  lifetime?: number;
  externalIp?: NatfwExternalIp;
  externalBinding?: NatfwExternalBinding;
  efi?: NatfwEfi;
  info?: NatfwInfo;
  nonce?: number;
  msn?: number;
  dtinfo?: NatfwDtinfo;
  icmpTypes?: readonly number[];
}

/** Reads the value of a known NATFW object into its field of `f`. */
function readField(type: number, r: Cursor, at: number, f: Fields): NatfwDecodeError | undefined {
  const put = <V>(res: Result<V, NatfwDecodeError>, set: (v: V) => void): NatfwDecodeError | undefined => {
    if (!res.ok) return res.error;
    set(res.value);
    return undefined;
  };
  switch (type) {
    case T.NATFW_LT:
      return put(readU32Object(r, type, 'NATFW_LT', at), (v) => (f.lifetime = v));
    case T.NATFW_MSN:
      return put(readU32Object(r, type, 'NATFW_MSN', at), (v) => (f.msn = v));
    case T.NATFW_NONCE:
      return put(readU32Object(r, type, 'NATFW_NONCE', at), (v) => (f.nonce = v));
    case T.NATFW_EFI:
      return put(readEfi(r, at), (v) => (f.efi = v));
    case T.NATFW_INFO:
      return put(readInfo(r, at), (v) => (f.info = v));
    case T.NATFW_EXTERNAL_IP:
      return put(readExternalIp(r, at), (v) => (f.externalIp = v));
    case T.NATFW_EXTERNAL_BINDING:
      return put(readExternalBinding(r, at), (v) => (f.externalBinding = v));
    case T.NATFW_DTINFO:
      return put(readDtinfo(r, at), (v) => (f.dtinfo = v));
    default:
      return put(readIcmpTypes(r, at), (v) => (f.icmpTypes = v));
  }
}

/** Optional fields only when present, so decoded messages deep-equal the values they were encoded from. */
function opt<K extends keyof Fields>(f: Fields, keys: readonly K[]): Pick<Fields, K> {
  const out: Partial<Fields> = {};
  for (const k of keys) if (f[k] !== undefined) (out as Record<string, unknown>)[k] = f[k];
  return out as Pick<Fields, K>;
}

/**
 * Decodes one NATFW NSLP message (the NSLP-Data payload of a GIST message).
 * Returns the message or the error RESPONSE class/code RFC 5973 s4 says to
 * answer; never throws. Loops are bounded by the input length (every object
 * is at least 4 octets and the reader only moves forward).
 */
export function decodeNatfwMessage(bytes: Uint8Array): Result<NatfwMessage, NatfwDecodeError> {
  if (bytes.length < 4) return fail(NatfwResponse.WRONG_MESSAGE_LENGTH, 0, `${bytes.length} octets, too few for the NSLP header`);
  if (bytes.length % 4 !== 0) return fail(NatfwResponse.WRONG_MESSAGE_LENGTH, bytes.length, `${bytes.length} octets is not a multiple of 32 bits`);
  const r = Cursor.of(bytes);
  const typeNo = r.u8();
  const flags = r.u8();
  r.u16();
  const type = TYPE_NAMES[typeNo];
  // s4.1: any other message type -> 3/0x01.
  if (type === undefined) return fail(NatfwResponse.ILLEGAL_MESSAGE_TYPE, 0, `message type ${typeNo}`);
  const proxyCapable = type === 'CREATE' || type === 'EXTERNAL';
  // s4.1: P and E are ignored in RESPONSE and NOTIFY; E is ignored without P.
  const proxy = proxyCapable && (flags & 0x80) !== 0;
  const edge = proxy && (flags & 0x40) !== 0;
  const rules = RULES[type];
  const f: Fields = {};
  // Known NATFW object types are all below 32 (s4.2, 0x00C..0x014): seen ones as bits.
  let seen = 0;
  let externalIpAt = -1;
  let externalBindingAt = -1;
  const sessionAuth: SessionAuthObject[] = [];
  const unknownObjects: NatfwRawObject[] = [];

  while (r.remaining > 0) {
    const at = r.offset;
    const w0 = r.u16();
    const w1 = r.u16();
    const ab = w0 >> 14;
    const objType = w0 & 0xfff;
    const len = (w1 & 0xfff) * 4;
    // s4.2: "the message is shorter than implied by the object length" -> 3/0x07.
    if (!r.has(len)) return fail(NatfwResponse.WRONG_OBJECT_LENGTH, at, `${objectName(objType)} length ${len / 4} words, ${r.remaining} octets left`, objType);
    // s4.2: AB=11 MUST NOT be used -> 3/0x09.
    if (ab === AbFlags.RESERVED) return fail(NatfwResponse.INVALID_FLAG_FIELD_COMBINATION, at, `${objectName(objType)} with AB=11`, objType);
    const value = r.sub(len);
    if (objType === T.SESSION_AUTH) {
      const sa = decodeSessionAuthValue(bytes, value.offset, value.end, r.view);
      if (!sa.ok) return sa;
      rememberWireBytes(sa.value, bytes.slice(at, value.end));
      sessionAuth.push(sa.value);
      continue;
    }
    const field = FIELD_OF.get(objType);
    if (field === undefined) {
      // s4.2: not understood -> AB=00 reject 3/0x06, AB=01 drop, AB=10 keep for forwarding.
      if (ab === AbFlags.MANDATORY) return fail(NatfwResponse.UNKNOWN_OBJECT_PRESENT, at, `unknown mandatory object ${objectName(objType)}`, objType);
      if (ab === AbFlags.FORWARD) unknownObjects.push({ ab, type: objType, value: value.bytes(len) });
      continue;
    }
    // s4.3: illegal -> 3/0x05, duplicate -> 3/0x0A.
    if (!rules.allowed.includes(objType)) return fail(NatfwResponse.ILLEGAL_OBJECT_PRESENT, at, `${objectName(objType)} in a ${type}`, objType);
    if ((seen & (1 << objType)) !== 0) return fail(NatfwResponse.DUPLICATE_OBJECT_PRESENT, at, `second ${objectName(objType)}`, objType);
    const e = readField(objType, value, at, f);
    if (e !== undefined) return err(e);
    seen |= 1 << objType;
    if (objType === T.NATFW_EXTERNAL_IP) externalIpAt = at;
    else if (objType === T.NATFW_EXTERNAL_BINDING) externalBindingAt = at;
  }

  const end = bytes.length;
  const missing = (t: number): Fail => fail(NatfwResponse.MANDATORY_OBJECT_MISSING, end, `${type} without ${objectName(t)}`, t);
  const header: NatfwHeader = { messageType: typeNo, proxy, edge };
  const common = { header, sessionAuth, unknownObjects };
  // s4.3.1/s4.3.2: NATFW_NONCE is mandatory when P is set.
  if (proxy && f.nonce === undefined) return missing(T.NATFW_NONCE);
  switch (type) {
    case 'CREATE':
      if (f.lifetime === undefined) return missing(T.NATFW_LT);
      if (f.efi === undefined) return missing(T.NATFW_EFI);
      if (f.msn === undefined) return missing(T.NATFW_MSN);
      if (f.nonce === undefined && f.icmpTypes === undefined) return ok({ type, header, sessionAuth, unknownObjects, lifetime: f.lifetime, efi: f.efi, msn: f.msn });
      return ok({ type, ...common, lifetime: f.lifetime, efi: f.efi, msn: f.msn, ...opt(f, ['nonce', 'icmpTypes']) });
    case 'EXTERNAL':
      if (f.lifetime === undefined) return missing(T.NATFW_LT);
      if (f.msn === undefined) return missing(T.NATFW_MSN);
      if (f.efi === undefined) return missing(T.NATFW_EFI);
      // s3.7.2: an EXTERNAL without NATFW_DTINFO gets the dedicated 7/0x07 rather than 3/0x04.
      if (f.dtinfo === undefined) return fail(NatfwResponse.DTINFO_REQUIRED, end, 'EXTERNAL without NATFW_DTINFO', T.NATFW_DTINFO);
      return ok({ type, ...common, lifetime: f.lifetime, msn: f.msn, efi: f.efi, dtinfo: f.dtinfo, ...opt(f, ['nonce', 'icmpTypes', 'externalBinding']) });
    case 'RESPONSE': {
      if (f.msn === undefined) return missing(T.NATFW_MSN);
      if (f.info === undefined) return missing(T.NATFW_INFO);
      if (f.info.responseClass === ResponseClass.SUCCESS) {
        if (f.lifetime === undefined) return missing(T.NATFW_LT);
      } else {
        // s4.3.3: the error RESPONSE carries MSN, INFO and optionally LT only.
        if (externalIpAt >= 0) return fail(NatfwResponse.ILLEGAL_OBJECT_PRESENT, externalIpAt, `NATFW_EXTERNAL_IP in a RESPONSE of class ${f.info.responseClass}`, T.NATFW_EXTERNAL_IP);
        if (externalBindingAt >= 0)
          return fail(NatfwResponse.ILLEGAL_OBJECT_PRESENT, externalBindingAt, `NATFW_EXTERNAL_BINDING in a RESPONSE of class ${f.info.responseClass}`, T.NATFW_EXTERNAL_BINDING);
      }
      if (f.externalIp === undefined && f.externalBinding === undefined) {
        if (f.lifetime === undefined) return ok({ type, header, sessionAuth, unknownObjects, msn: f.msn, info: f.info });
        return ok({ type, header, sessionAuth, unknownObjects, msn: f.msn, info: f.info, lifetime: f.lifetime });
      }
      return ok({ type, ...common, msn: f.msn, info: f.info, ...opt(f, ['lifetime', 'externalIp', 'externalBinding']) });
    }
    case 'NOTIFY':
      if (f.info === undefined) return missing(T.NATFW_INFO);
      return ok({ type, ...common, info: f.info });
  }
}
