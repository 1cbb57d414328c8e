/**
 * The shape every GIST object codec has (one file per object, RFC 5971 A.3),
 * and generic whole-TLV helpers built on it (A.2 TLV header). Value decoders
 * get the exact value bytes [start, end), check every length against them,
 * must consume exactly end - start, return byte fields as copies (small
 * slices are on-heap in V8: faster than views, and they never alias the
 * input, e.g. a reused stream buffer), and return an ObjectFail instead of
 * throwing. Encoders throw UsageError for an invalid model (local misuse).
 */
import { UsageError } from '../../../common/errors';
import { err, ok, type Result } from '../../../common/result';
import { ErrorCode, MAX_OBJECT_VALUE_BYTES, OBJECT_TYPE_NAMES, ObjectTypeSubcode, ObjectValueSubcode } from '../constants';
import { GistDecodeError, ObjectFail } from '../errors';

export interface ObjectCodec<T> {
  readonly objectType: number;
  /** RFC name, e.g. 'Session-Identifier'. */
  readonly name: string;
  /** Value length in bytes: a multiple of 4. */
  valueLength(v: T): number;
  /** Writes the value (padding and reserved bits zero) at `off`; returns the end offset. */
  encodeValue(v: T, b: Uint8Array, off: number): number;
  decodeValue(b: Uint8Array, start: number, end: number): T | ObjectFail;
}

/** Throws for an invalid model. Pass only constant messages: use `if (!c) invalid(`...`)` for built ones (no string work on the hot path). */
export function usage(cond: boolean, msg: string): void {
  if (!cond) throw new UsageError('GIST_ENCODE_INVALID', msg);
}

export function invalid(msg: string): never {
  throw new UsageError('GIST_ENCODE_INVALID', msg);
}

export function isU8(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xff;
}
export function isU16(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff;
}
export function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

export function pad4(n: number): number {
  return (n + 3) & ~3;
}

export function readU16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

export function lengthFail(at: number, detail: string): ObjectFail {
  return new ObjectFail(ObjectValueSubcode.IncorrectLength, at, detail);
}

/** Writes a TLV header (A.2): AB flags, 12-bit type, 12-bit length in words. */
export function writeTlvHeader(b: Uint8Array, off: number, ab: number, objectType: number, valueBytes: number): void {
  if (!(valueBytes % 4 === 0 && valueBytes <= MAX_OBJECT_VALUE_BYTES)) invalid(`object value of ${valueBytes} bytes does not fit a TLV`);
  const words = valueBytes >>> 2;
  b[off] = (ab << 6) | (objectType >>> 8);
  b[off + 1] = objectType & 0xff;
  b[off + 2] = words >>> 8;
  b[off + 3] = words & 0xff;
}

/** Whole-TLV length of an object (header + value). */
export function objectEncodingLength<T>(c: ObjectCodec<T>, v: T): number {
  return 4 + c.valueLength(v);
}

/** One object as a whole TLV (AB = 00, the flags of every object RFC 5971 defines). */
export function encodeObject<T>(c: ObjectCodec<T>, v: T): Uint8Array {
  const len = c.valueLength(v);
  const b = new Uint8Array(4 + len);
  writeTlvHeader(b, 0, 0, c.objectType, len);
  const end = c.encodeValue(v, b, 4);
  if (end !== 4 + len) invalid(`${c.name}: encoder wrote ${end - 4} bytes, expected ${len}`);
  return b;
}

/** Decodes exactly one whole TLV of the codec's type (tests, tools); the bytes must hold nothing else. */
export function decodeObject<T>(c: ObjectCodec<T>, bytes: Uint8Array): Result<T, GistDecodeError> {
  if (bytes.length < 4) {
    return err(new GistDecodeError({ errorCode: ErrorCode.ObjectValueError, subcode: ObjectValueSubcode.IncorrectLength, offset: 0, detail: 'shorter than a TLV header', objectType: c.objectType }));
  }
  const type = ((bytes[0] & 0x0f) << 8) | bytes[1];
  if ((bytes[0] & 0xc0) === 0xc0) {
    return err(new GistDecodeError({ errorCode: ErrorCode.ObjectTypeError, subcode: ObjectTypeSubcode.InvalidExtensibilityFlags, offset: 0, detail: 'AB=11 is reserved', objectType: type }));
  }
  if (type !== c.objectType) {
    return err(new GistDecodeError({ errorCode: ErrorCode.ObjectTypeError, subcode: ObjectTypeSubcode.InvalidObjectType, offset: 0, detail: `expected ${OBJECT_TYPE_NAMES[c.objectType]}`, objectType: type }));
  }
  const words = ((bytes[2] & 0x0f) << 8) | bytes[3];
  if (4 + words * 4 !== bytes.length) {
    return err(new GistDecodeError({ errorCode: ErrorCode.ObjectValueError, subcode: ObjectValueSubcode.IncorrectLength, offset: 2, detail: `TLV length ${words} words but ${bytes.length - 4} value bytes`, objectType: type }));
  }
  const v = c.decodeValue(bytes, 4, bytes.length);
  if (v instanceof ObjectFail) {
    return err(new GistDecodeError({ errorCode: v.errorCode, subcode: v.subcode, offset: v.at, detail: v.detail, objectType: type }));
  }
  return ok(v);
}
