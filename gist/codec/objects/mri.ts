/**
 * Message-Routing-Information, RFC 5971 A.3.1 (object type 0), with the
 * path-coupled MRM (A.3.1.1, MRM-ID 0) and the loose-end MRM (A.3.1.2,
 * MRM-ID 1). The same value format is embedded without TLV header in the
 * NAT-Traversal object (A.3.9) and the Error object (A.4.1).
 *
 * Decisions:
 * - Flag-field constraints checked (A.3.1.1, violations -> Object Value Error
 *   subcode 2): F only with IP-Ver 6; S only with P; A/B only with P. A.3.1.1
 *   lists no constraint between S and A/B, so an MRI carrying both the SPI
 *   word and the port word is accepted (the s5.8.1.1 ABNF "ipsec-SPI /
 *   L4-ports" is read as informative).
 * - IP-Ver other than 4/6, a prefix longer than the address, or an unknown
 *   MRM-ID -> Object Value Error subcode 1 (Value Not Supported, s5.8.1.1).
 * - With A=0 and B=1 the source-port half is padding (rfc-traps.md); a port
 *   of 0 with its flag set means "specific, not yet known" and is kept as 0.
 * - The N flag is kept (nFlag: true) although the RFC says it is 0 for both MRMs.
 */
import type { LooseEndMri, Mri, PathCoupledMri } from '../../types';
import { addressLength, formatIpv4, formatIpv6, writeIpv4, writeIpv6 } from '../addresses';
import { Mrm, ObjectType, ObjectValueSubcode } from '../constants';
import { ObjectFail } from '../errors';
import { isU16, isU32, isU8, lengthFail, readU16, readU32, invalid, usage, writeU16, writeU32, type ObjectCodec } from './codec';

const P = 0x08;
const T = 0x04;
const F = 0x02;
const S = 0x01;
const A = 0x80;
const B = 0x40;
const D = 0x20;

function fmt(b: Uint8Array, off: number, v6: boolean): string {
  return v6 ? formatIpv6(b, off) : formatIpv4(b, off);
}

export function mriValueLength(m: Mri): number {
  const alen = m.ipVersion === 6 ? 16 : 4;
  if (m.mrm === 'loose-end') return 4 + 2 * alen;
  let n = 4 + 2 * alen + 4;
  if (m.flowLabel !== undefined) n += 4;
  if (m.spi !== undefined) n += 4;
  if (m.sourcePort !== undefined || m.destinationPort !== undefined) n += 4;
  return n;
}

function writeAddress(ipVersion: number, s: string, b: Uint8Array, off: number, what: string): void {
  if (!(ipVersion === 4 ? writeIpv4(s, b, off) : writeIpv6(s, b, off))) invalid(`MRI ${what} '${s}' is not an IPv${ipVersion} address`);
}

export function encodeMriValue(m: Mri, b: Uint8Array, off: number): number {
  if (!(m.ipVersion === 4 || m.ipVersion === 6)) invalid(`MRI ipVersion must be 4 or 6, not ${String(m.ipVersion)}`);
  const alen = addressLength(m.ipVersion);
  b[off + 1] = m.nFlag ? 0x80 : 0;
  if (m.mrm === 'loose-end') {
    b[off] = Mrm.LooseEnd;
    b[off + 2] = (m.ipVersion << 4) | (m.direction === 'from-edge' ? 0x08 : 0);
    b[off + 3] = 0;
    writeAddress(m.ipVersion, m.sourceAddress, b, off + 4, 'sourceAddress');
    writeAddress(m.ipVersion, m.destinationAddress, b, off + 4 + alen, 'destinationAddress');
    return off + 4 + 2 * alen;
  }
  if (m.mrm !== 'path-coupled') invalid(`unknown MRM '${String((m as { mrm: unknown }).mrm)}'`);
  const maxPrefix = alen * 8;
  if (!(Number.isInteger(m.sourcePrefix) && m.sourcePrefix >= 0 && m.sourcePrefix <= maxPrefix)) invalid(`MRI sourcePrefix ${m.sourcePrefix} out of range`);
  if (!(Number.isInteger(m.destinationPrefix) && m.destinationPrefix >= 0 && m.destinationPrefix <= maxPrefix)) invalid(`MRI destinationPrefix ${m.destinationPrefix} out of range`);
  const hasP = m.protocol !== undefined;
  usage(!hasP || isU8(m.protocol), 'MRI protocol must be 0..255');
  usage(m.dsField === undefined || (Number.isInteger(m.dsField) && m.dsField >= 0 && m.dsField <= 63), 'MRI dsField must be 0..63');
  usage(m.flowLabel === undefined || (m.ipVersion === 6 && Number.isInteger(m.flowLabel) && m.flowLabel >= 0 && m.flowLabel <= 0xfffff), 'MRI flowLabel needs IPv6 and 0..0xfffff');
  usage(m.spi === undefined || (hasP && isU32(m.spi)), 'MRI spi needs protocol and must be a 32-bit value');
  usage(m.sourcePort === undefined || (hasP && isU16(m.sourcePort)), 'MRI sourcePort needs protocol and must be 0..65535');
  usage(m.destinationPort === undefined || (hasP && isU16(m.destinationPort)), 'MRI destinationPort needs protocol and must be 0..65535');
  b[off] = Mrm.PathCoupled;
  b[off + 2] =
    (m.ipVersion << 4) | (hasP ? P : 0) | (m.dsField !== undefined ? T : 0) | (m.flowLabel !== undefined ? F : 0) | (m.spi !== undefined ? S : 0);
  b[off + 3] = (m.sourcePort !== undefined ? A : 0) | (m.destinationPort !== undefined ? B : 0) | (m.direction === 'upstream' ? D : 0);
  let o = off + 4;
  writeAddress(m.ipVersion, m.sourceAddress, b, o, 'sourceAddress');
  writeAddress(m.ipVersion, m.destinationAddress, b, o + alen, 'destinationAddress');
  o += 2 * alen;
  b[o] = m.sourcePrefix;
  b[o + 1] = m.destinationPrefix;
  b[o + 2] = m.protocol ?? 0;
  b[o + 3] = (m.dsField ?? 0) << 2;
  o += 4;
  if (m.flowLabel !== undefined) {
    writeU32(b, o, m.flowLabel);
    o += 4;
  }
  if (m.spi !== undefined) {
    writeU32(b, o, m.spi);
    o += 4;
  }
  if (m.sourcePort !== undefined || m.destinationPort !== undefined) {
    writeU16(b, o, m.sourcePort ?? 0);
    writeU16(b, o + 2, m.destinationPort ?? 0);
    o += 4;
  }
  return o;
}

/** Decodes an MRI value occupying exactly [start, end). */
export function decodeMriValue(b: Uint8Array, start: number, end: number): Mri | ObjectFail {
  if (end - start < 4) return lengthFail(start, 'MRI shorter than its first word');
  const mrmId = b[start];
  const nFlag = (b[start + 1] & 0x80) !== 0;
  const f1 = b[start + 2];
  const ipVersion = f1 >>> 4;
  if (mrmId !== Mrm.PathCoupled && mrmId !== Mrm.LooseEnd) {
    return new ObjectFail(ObjectValueSubcode.ValueNotSupported, start, `unknown MRM-ID ${mrmId}`);
  }
  if (ipVersion !== 4 && ipVersion !== 6) {
    return new ObjectFail(ObjectValueSubcode.ValueNotSupported, start + 2, `IP-Ver ${ipVersion} is neither 4 nor 6`);
  }
  const v6 = ipVersion === 6;
  const alen = v6 ? 16 : 4;
  if (mrmId === Mrm.LooseEnd) {
    if (end - start !== 4 + 2 * alen) return lengthFail(start, `loose-end MRI for IPv${ipVersion} is ${4 + 2 * alen} bytes, not ${end - start}`);
    const le: LooseEndMri = {
      mrm: 'loose-end',
      ipVersion,
      sourceAddress: fmt(b, start + 4, v6),
      destinationAddress: fmt(b, start + 4 + alen, v6),
      direction: (f1 & 0x08) !== 0 ? 'from-edge' : 'towards-edge',
    };
    return nFlag ? { ...le, nFlag: true } : le;
  }
  const f2 = b[start + 3];
  const hasP = (f1 & P) !== 0;
  const hasF = (f1 & F) !== 0;
  const hasS = (f1 & S) !== 0;
  const hasA = (f2 & A) !== 0;
  const hasB = (f2 & B) !== 0;
  if (hasF && !v6) return new ObjectFail(ObjectValueSubcode.InvalidFlagFieldCombination, start + 2, 'F flag set with IP-Ver 4');
  if (hasS && !hasP) return new ObjectFail(ObjectValueSubcode.InvalidFlagFieldCombination, start + 2, 'S flag set without P');
  if ((hasA || hasB) && !hasP) return new ObjectFail(ObjectValueSubcode.InvalidFlagFieldCombination, start + 3, 'A/B flag set without P');
  const need = 4 + 2 * alen + 4 + (hasF ? 4 : 0) + (hasS ? 4 : 0) + (hasA || hasB ? 4 : 0);
  if (end - start !== need) return lengthFail(start, `path-coupled MRI with these flags is ${need} bytes, not ${end - start}`);
  let o = start + 4 + 2 * alen;
  const sourcePrefix = b[o];
  const destinationPrefix = b[o + 1];
  if (sourcePrefix > alen * 8) return new ObjectFail(ObjectValueSubcode.ValueNotSupported, o, `Source Prefix ${sourcePrefix} exceeds ${alen * 8}`);
  if (destinationPrefix > alen * 8) return new ObjectFail(ObjectValueSubcode.ValueNotSupported, o + 1, `Dest Prefix ${destinationPrefix} exceeds ${alen * 8}`);
  const m: {
    -readonly [K in keyof PathCoupledMri]: PathCoupledMri[K];
  } = {
    mrm: 'path-coupled',
    ipVersion,
    sourceAddress: fmt(b, start + 4, v6),
    destinationAddress: fmt(b, start + 4 + alen, v6),
    sourcePrefix,
    destinationPrefix,
    direction: (f2 & D) !== 0 ? 'upstream' : 'downstream',
  };
  if (hasP) m.protocol = b[o + 2];
  if ((f1 & T) !== 0) m.dsField = b[o + 3] >>> 2;
  o += 4;
  if (hasF) {
    m.flowLabel = readU32(b, o) & 0xfffff;
    o += 4;
  }
  if (hasS) {
    m.spi = readU32(b, o);
    o += 4;
  }
  if (hasA || hasB) {
    if (hasA) m.sourcePort = readU16(b, o);
    if (hasB) m.destinationPort = readU16(b, o + 2);
  }
  if (nFlag) m.nFlag = true;
  return m;
}

export const mriCodec: ObjectCodec<Mri> = {
  objectType: ObjectType.MessageRoutingInformation,
  name: 'Message-Routing-Information',
  valueLength: mriValueLength,
  encodeValue: encodeMriValue,
  decodeValue: decodeMriValue,
};
