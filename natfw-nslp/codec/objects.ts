/**
 * The NATFW NSLP objects of RFC 5973 s4.2 (value part; the 32-bit object
 * header is handled by `message.ts`). Each object has one `write` and one
 * `read`; readers get exactly the object's value bytes and never throw.
 */
import { ByteWriter } from '../../common/bytes';
import { Cursor } from './cursor';
import { UsageError } from '../../common/errors';
import { err, ok, type Result } from '../../common/result';
import { formatIpv4, parseIpv4 } from './address';
import { NatfwResponse, NslpObjectType, RuleAction, type ResponseCodeInfo } from './constants';
import { NatfwDecodeError } from './errors';

/** s4.2.2 NATFW_EXTERNAL_IP: the public address (and port, 0 = none) at an edge-NAT. IPv4 only (IP-Ver MUST be 4). */
export interface NatfwExternalIp {
  readonly port: number;
  readonly address: string;
}

/** s4.2.3 NATFW_EXTERNAL_BINDING: one or more IPv4 external binding addresses, one port. */
export interface NatfwExternalBinding {
  readonly port: number;
  readonly addresses: readonly string[];
}

/** s4.2.4 NATFW_EFI: rule action (0x0001 allow, 0x0002 deny) and sub_ports (0 or 1). */
export interface NatfwEfi {
  readonly ruleAction: 'allow' | 'deny';
  readonly subPorts: 0 | 1;
}

/** s4.2.5 NATFW_INFO: response class (4 bits), response code (8 bits), the object type concerned (12 bits, 0 = none). */
export interface NatfwInfo {
  readonly responseClass: number;
  readonly responseCode: number;
  readonly objectType: number;
}

/**
 * s4.2.8 NATFW_DTINFO (IPv4 only, Figure 29). `protocol` is present iff I=1,
 * the ports iff P=1, `spi` iff S=1 (P and S exclusive; either needs I).
 */
export interface NatfwDtinfo {
  readonly senderPrefix: number;
  readonly protocol?: number;
  /** Destination (DR) port, 0 = wildcard. Present iff `dsPort` is. */
  readonly drPort?: number;
  /** Source (DS) port, 0 = wildcard. */
  readonly dsPort?: number;
  readonly spi?: number;
  /** Data sender's IPv4 address (0.0.0.0 = wildcard). */
  readonly senderAddress: string;
}

type Fail = { ok: false; error: NatfwDecodeError };
const fail = (r: ResponseCodeInfo, offset: number, type: number, message: string): Fail => err(new NatfwDecodeError(r, offset, message, type));
const wrongLength = (type: number, name: string, at: number, words: number, expected: string): Fail =>
  fail(NatfwResponse.WRONG_OBJECT_LENGTH, at, type, `${name} with length ${words} words (${expected})`);

const bad = (what: string): never => {
  throw new UsageError('NATFW_BAD_VALUE', what);
};
const checkUint = (v: number, bits: number, what: string): number =>
  Number.isInteger(v) && v >= 0 && v < 2 ** bits ? v : bad(`${what} ${v} is not a ${bits}-bit unsigned integer`);
const ipv4 = (s: string, what: string): Uint8Array => parseIpv4(s) ?? bad(`${what} '${s}' is not an IPv4 address`);

// ---- s4.2.1 NATFW_LT, s4.2.6 NATFW_NONCE, s4.2.7 NATFW_MSN: one 32-bit word.

export function writeU32Object(w: ByteWriter, v: number, what: string): void {
  w.u32(checkUint(v, 32, what));
}

export function readU32Object(r: Cursor, type: number, name: string, at: number): Result<number, NatfwDecodeError> {
  if (r.remaining !== 4) return wrongLength(type, name, at, r.remaining / 4, 'must be 1');
  return ok(r.u32());
}

// ---- s4.2.2 NATFW_EXTERNAL_IP

export function writeExternalIp(w: ByteWriter, o: NatfwExternalIp): void {
  w.u16(checkUint(o.port, 16, 'port')).u16(4 << 12).bytes(ipv4(o.address, 'NATFW_EXTERNAL_IP address'));
}

export function readExternalIp(r: Cursor, at: number): Result<NatfwExternalIp, NatfwDecodeError> {
  const T = NslpObjectType.NATFW_EXTERNAL_IP;
  if (r.remaining !== 8) return wrongLength(T, 'NATFW_EXTERNAL_IP', at, r.remaining / 4, 'must be 2');
  const port = r.u16();
  const ver = r.u16() >> 12;
  if (ver !== 4) return fail(NatfwResponse.UNKNOWN_OBJECT_FIELD_VALUE, at + 6, T, `NATFW_EXTERNAL_IP IP-Ver ${ver} (must be 4)`);
  return ok({ port, address: formatIpv4(r.bytes(4)) });
}

// ---- s4.2.3 NATFW_EXTERNAL_BINDING

export function writeExternalBinding(w: ByteWriter, o: NatfwExternalBinding): void {
  if (o.addresses.length === 0) bad('NATFW_EXTERNAL_BINDING needs at least one address');
  w.u16(checkUint(o.port, 16, 'port')).u16(4 << 12);
  for (const a of o.addresses) w.bytes(ipv4(a, 'NATFW_EXTERNAL_BINDING address'));
}

export function readExternalBinding(r: Cursor, at: number): Result<NatfwExternalBinding, NatfwDecodeError> {
  const T = NslpObjectType.NATFW_EXTERNAL_BINDING;
  if (r.remaining < 8) return wrongLength(T, 'NATFW_EXTERNAL_BINDING', at, r.remaining / 4, 'must be 1 + number of addresses, at least 2');
  const port = r.u16();
  const ver = r.u16() >> 12;
  if (ver !== 4) return fail(NatfwResponse.UNKNOWN_OBJECT_FIELD_VALUE, at + 6, T, `NATFW_EXTERNAL_BINDING IP-Ver ${ver} (must be 4)`);
  const addresses: string[] = [];
  while (r.remaining >= 4) addresses.push(formatIpv4(r.bytes(4)));
  return ok({ port, addresses });
}

// ---- s4.2.4 NATFW_EFI

export function writeEfi(w: ByteWriter, o: NatfwEfi): void {
  const action = RuleAction[o.ruleAction] ?? bad(`rule action ${String(o.ruleAction)}`);
  if (o.subPorts !== 0 && o.subPorts !== 1) bad(`sub_ports ${String(o.subPorts)} (0 or 1)`);
  w.u16(action).u16(o.subPorts);
}

export function readEfi(r: Cursor, at: number): Result<NatfwEfi, NatfwDecodeError> {
  const T = NslpObjectType.NATFW_EFI;
  if (r.remaining !== 4) return wrongLength(T, 'NATFW_EFI', at, r.remaining / 4, 'must be 1');
  const action = r.u16();
  const subPorts = r.u16();
  // s4.2.4: unknown action -> 7/0x05; sub_ports other than 0 or 1 -> 7/0x08.
  if (action !== RuleAction.allow && action !== RuleAction.deny)
    return fail(NatfwResponse.UNKNOWN_RULE_ACTION, at + 4, T, `NATFW_EFI rule action 0x${action.toString(16).padStart(4, '0')}`);
  if (subPorts > 1) return fail(NatfwResponse.SUB_PORTS_NOT_PERMITTED, at + 6, T, `NATFW_EFI sub_ports ${subPorts}`);
  return ok({ ruleAction: action === RuleAction.allow ? 'allow' : 'deny', subPorts: subPorts as 0 | 1 });
}

// ---- s4.2.5 NATFW_INFO (Resv 4 | Class 4 | Code 8 | r 4 | Object Type 12)

export function writeInfo(w: ByteWriter, o: NatfwInfo): void {
  w.u8(checkUint(o.responseClass, 4, 'response class')).u8(checkUint(o.responseCode, 8, 'response code')).u16(checkUint(o.objectType, 12, 'object type'));
}

export function readInfo(r: Cursor, at: number): Result<NatfwInfo, NatfwDecodeError> {
  if (r.remaining !== 4) return wrongLength(NslpObjectType.NATFW_INFO, 'NATFW_INFO', at, r.remaining / 4, 'must be 1');
  // Reserved bits (placed differently by the text and Figure 26, rfc-traps.md): sent as zero, ignored here.
  const responseClass = r.u8() & 0x0f;
  const responseCode = r.u8();
  const objectType = r.u16() & 0x0fff;
  return ok({ responseClass, responseCode, objectType });
}

// ---- s4.2.8 NATFW_DTINFO

export function writeDtinfo(w: ByteWriter, o: NatfwDtinfo): void {
  const I = o.protocol !== undefined;
  const P = o.drPort !== undefined || o.dsPort !== undefined;
  const S = o.spi !== undefined;
  if (P && S) bad('NATFW_DTINFO with both ports and SPI');
  if ((P || S) && !I) bad('NATFW_DTINFO with ports or SPI needs a protocol');
  if (P && (o.drPort === undefined || o.dsPort === undefined)) bad('NATFW_DTINFO needs both DR and DS ports');
  if (!Number.isInteger(o.senderPrefix) || o.senderPrefix < 0 || o.senderPrefix > 32) bad(`sender prefix ${o.senderPrefix}`);
  w.u8((I ? 0x80 : 0) | (P ? 0x40 : 0) | (S ? 0x20 : 0)).u8(0).u8(o.senderPrefix).u8(I ? checkUint(o.protocol ?? 0, 8, 'protocol') : 0);
  if (P) w.u16(checkUint(o.drPort ?? 0, 16, 'DR port')).u16(checkUint(o.dsPort ?? 0, 16, 'DS port'));
  if (S) w.u32(checkUint(o.spi ?? 0, 32, 'SPI'));
  w.bytes(ipv4(o.senderAddress, 'NATFW_DTINFO sender address'));
}

export function readDtinfo(r: Cursor, at: number): Result<NatfwDtinfo, NatfwDecodeError> {
  const T = NslpObjectType.NATFW_DTINFO;
  if (r.remaining < 8) return wrongLength(T, 'NATFW_DTINFO', at, r.remaining / 4, 'must be 2, or 3 with P or S');
  const flags = r.u8();
  r.u8();
  const senderPrefix = r.u8();
  const proto = r.u8();
  const I = (flags & 0x80) !== 0;
  const P = (flags & 0x40) !== 0;
  const S = (flags & 0x20) !== 0;
  // s4.2.8: P and S together, or either without I -> 3/0x09.
  if (P && S) return fail(NatfwResponse.INVALID_FLAG_FIELD_COMBINATION, at + 4, T, 'NATFW_DTINFO with both P and S set');
  if ((P || S) && !I) return fail(NatfwResponse.INVALID_FLAG_FIELD_COMBINATION, at + 4, T, 'NATFW_DTINFO with P or S set but not I');
  const expected = P || S ? 12 : 8;
  if (r.remaining + 4 !== expected) return wrongLength(T, 'NATFW_DTINFO', at, (r.remaining + 4) / 4, `must be ${expected / 4} with these flags`);
  if (senderPrefix > 32) return fail(NatfwResponse.UNKNOWN_OBJECT_FIELD_VALUE, at + 6, T, `NATFW_DTINFO sender prefix ${senderPrefix} (at most 32)`);
  let out: NatfwDtinfo = { senderPrefix, senderAddress: '' };
  if (I) out = { ...out, protocol: proto };
  if (P) {
    const drPort = r.u16();
    const dsPort = r.u16();
    out = { ...out, drPort, dsPort };
  }
  if (S) out = { ...out, spi: r.u32() };
  return ok({ ...out, senderAddress: formatIpv4(r.bytes(4)) });
}

// ---- s4.2.9 NATFW_ICMP_TYPES (Count, Types..., zero padding); Length = ((count + 1) + 3) DIV 4

export function writeIcmpTypes(w: ByteWriter, types: readonly number[]): void {
  if (types.length > 255) bad('more than 255 ICMP types');
  w.u8(types.length);
  for (const t of types) w.u8(checkUint(t, 8, 'ICMP type'));
  w.pad4();
}

export function readIcmpTypes(r: Cursor, at: number): Result<number[], NatfwDecodeError> {
  const T = NslpObjectType.NATFW_ICMP_TYPES;
  if (r.remaining < 4) return wrongLength(T, 'NATFW_ICMP_TYPES', at, 0, 'at least 1');
  const count = r.u8();
  const words = Math.floor((count + 1 + 3) / 4);
  if (r.remaining + 1 !== words * 4) return wrongLength(T, 'NATFW_ICMP_TYPES', at, (r.remaining + 1) / 4, `must be ${words} for ${count} types`);
  const types: number[] = [];
  for (let i = 0; i < count; i++) types.push(r.u8());
  return ok(types);
}
