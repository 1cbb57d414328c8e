/**
 * Error object (GIST-Error-Data), RFC 5971 A.4.1 (object type 9), with the
 * Additional Information fields of A.4.2.
 *
 *   Error Class | Error Code (16) | Error Subcode
 *   S M C D Q | Reserved | MRI Length (words) | Info Count
 *   Common Header of the original message (2 words)
 *   : Session ID (S) :  : MRI value (M) :  : AI fields :  : Comment (C) :
 *
 * The A.4.1 diagram puts the Session ID before the MRI (the s5.2.2 ABNF
 * lists them the other way round); Appendix A is normative, so we follow
 * the diagram. The comment is NUL-terminated UTF-8 padded with NULs.
 * Inconsistent flags (M=0 with an MRI Length, Q without D) -> Object Value
 * Error subcode 2.
 */
import { AiType, ObjectType, ObjectValueSubcode } from '../constants';
import { ObjectFail } from '../errors';
import type { AdditionalInfo, GistErrorObject, OriginalCommonHeader } from '../types';
import { isU16, isU8, lengthFail, pad4, readU16, usage, writeU16, type ObjectCodec } from './codec';
import { decodeMriValue, encodeMriValue, mriValueLength } from './mri';
import { SESSION_ID_BYTES } from './session-id';

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function aiValueLength(ai: AdditionalInfo): number {
  switch (ai.kind) {
    case 'MessageLengthInfo':
    case 'MtuInfo':
    case 'ObjectTypeInfo':
      return 4;
    case 'ObjectValueInfo':
      return 4 + pad4(ai.object.length);
    case 'Unknown':
      return ai.value.length;
  }
}

function commentBytes(c: string | undefined): Uint8Array | undefined {
  return c === undefined ? undefined : utf8Encoder.encode(c);
}

export function errorObjectValueLength(v: GistErrorObject): number {
  let n = 16;
  if (v.sessionId) n += SESSION_ID_BYTES;
  if (v.mri) n += mriValueLength(v.mri);
  for (const ai of v.additionalInfo) n += 4 + aiValueLength(ai);
  const c = commentBytes(v.comment);
  if (c) n += pad4(c.length + 1);
  return n;
}

/** The 8 bytes of a common header (A.1) from its fields, Message Length as given. */
export function writeOriginalHeader(h: OriginalCommonHeader, b: Uint8Array, o: number): void {
  usage(isU8(h.version) && isU8(h.gistHopCount) && isU16(h.messageLength) && isU16(h.nslpId), 'invalid original common header field');
  usage(Number.isInteger(h.messageType) && h.messageType >= 0 && h.messageType <= 127, 'message type is 7 bits');
  b[o] = h.version;
  b[o + 1] = h.gistHopCount;
  writeU16(b, o + 2, h.messageLength);
  writeU16(b, o + 4, h.nslpId);
  b[o + 6] = (h.cFlag ? 0x80 : 0) | h.messageType;
  b[o + 7] = (h.sFlag ? 0x80 : 0) | (h.rFlag ? 0x40 : 0) | (h.eFlag ? 0x20 : 0);
}

/** Reads the fields of a common header (A.1); reserved bits ignored. Callers guarantee 8 bytes. */
export function readOriginalHeader(b: Uint8Array, o: number): OriginalCommonHeader {
  return {
    version: b[o],
    gistHopCount: b[o + 1],
    messageLength: readU16(b, o + 2),
    nslpId: readU16(b, o + 4),
    cFlag: (b[o + 6] & 0x80) !== 0,
    messageType: b[o + 6] & 0x7f,
    sFlag: (b[o + 7] & 0x80) !== 0,
    rFlag: (b[o + 7] & 0x40) !== 0,
    eFlag: (b[o + 7] & 0x20) !== 0,
  };
}

export const errorObjectCodec: ObjectCodec<GistErrorObject> = {
  objectType: ObjectType.Error,
  name: 'GIST-Error-Data',
  valueLength: errorObjectValueLength,
  encodeValue(v, b, off) {
    usage(isU8(v.errorClass) && isU16(v.errorCode) && isU8(v.errorSubcode), 'error class/subcode are 8 bits, code 16 bits');
    usage(!v.qMode || v.dMode, 'the Q flag needs the D flag (A.4.1)');
    usage(v.additionalInfo.length <= 255, 'at most 255 Additional Information fields');
    usage(v.sessionId === undefined || v.sessionId.length === SESSION_ID_BYTES, 'Session ID must be 16 bytes');
    const mriLen = v.mri ? mriValueLength(v.mri) : 0;
    const c = commentBytes(v.comment);
    usage(c === undefined || !c.includes(0), 'the debugging comment cannot contain NUL');
    b[off] = v.errorClass;
    writeU16(b, off + 1, v.errorCode);
    b[off + 3] = v.errorSubcode;
    b[off + 4] = (v.sessionId ? 0x80 : 0) | (v.mri ? 0x40 : 0) | (c ? 0x20 : 0) | (v.dMode ? 0x10 : 0) | (v.qMode ? 0x08 : 0);
    b[off + 5] = 0;
    b[off + 6] = mriLen >>> 2;
    b[off + 7] = v.additionalInfo.length;
    writeOriginalHeader(v.commonHeader, b, off + 8);
    let o = off + 16;
    if (v.sessionId) {
      b.set(v.sessionId, o);
      o += SESSION_ID_BYTES;
    }
    if (v.mri) o = encodeMriValue(v.mri, b, o);
    for (const ai of v.additionalInfo) {
      const len = aiValueLength(ai);
      usage(len % 4 === 0 && len >>> 2 <= 0xffff, 'AI-Value must be a whole number of words');
      writeU16(b, o + 2, len >>> 2);
      const val = o + 4;
      switch (ai.kind) {
        case 'MessageLengthInfo':
          usage(isU16(ai.calculatedLength), 'Calculated Length is 16 bits');
          writeU16(b, o, AiType.MessageLengthInfo);
          writeU16(b, val, ai.calculatedLength);
          writeU16(b, val + 2, 0);
          break;
        case 'MtuInfo':
          usage(isU16(ai.linkMtu), 'Link MTU is 16 bits');
          writeU16(b, o, AiType.MtuInfo);
          writeU16(b, val, ai.linkMtu);
          writeU16(b, val + 2, 0);
          break;
        case 'ObjectTypeInfo':
          usage(isU16(ai.objectType), 'Object Type is 16 bits');
          writeU16(b, o, AiType.ObjectTypeInfo);
          writeU16(b, val, ai.objectType);
          writeU16(b, val + 2, 0);
          break;
        case 'ObjectValueInfo':
          usage(ai.realObjectLength >= 0 && ai.realObjectLength <= 0xfff && Number.isInteger(ai.realObjectLength), 'Real Object Length is 12 bits');
          usage(isU16(ai.offset), 'Offset is 16 bits');
          writeU16(b, o, AiType.ObjectValueInfo);
          writeU16(b, val, ai.realObjectLength);
          writeU16(b, val + 2, ai.offset);
          b.set(ai.object, val + 4);
          b.fill(0, val + 4 + ai.object.length, val + len);
          break;
        case 'Unknown':
          usage(isU16(ai.aiType), 'AI-Type is 16 bits');
          writeU16(b, o, ai.aiType);
          b.set(ai.value, val);
          break;
      }
      o = val + len;
    }
    if (c) {
      b.set(c, o);
      const end = o + pad4(c.length + 1);
      b.fill(0, o + c.length, end);
      o = end;
    }
    return o;
  },
  decodeValue(b, start, end): GistErrorObject | ObjectFail {
    if (end - start < 16) return lengthFail(start, 'Error object shorter than its fixed part (4 words)');
    const flags = b[start + 4];
    const hasS = (flags & 0x80) !== 0;
    const hasM = (flags & 0x40) !== 0;
    const hasC = (flags & 0x20) !== 0;
    const dMode = (flags & 0x10) !== 0;
    const qMode = (flags & 0x08) !== 0;
    const mriLen = b[start + 6] * 4;
    const infoCount = b[start + 7];
    if (qMode && !dMode) return new ObjectFail(ObjectValueSubcode.InvalidFlagFieldCombination, start + 4, 'Q flag set without D');
    if (!hasM && mriLen !== 0) return new ObjectFail(ObjectValueSubcode.InvalidFlagFieldCombination, start + 6, 'MRI Length without the M flag');
    let o = start + 16;
    let sessionId: Uint8Array | undefined;
    if (hasS) {
      if (o + SESSION_ID_BYTES > end) return lengthFail(start + 4, 'S flag set but no room for a Session ID');
      sessionId = b.slice(o, o + SESSION_ID_BYTES);
      o += SESSION_ID_BYTES;
    }
    let mri;
    if (hasM) {
      if (o + mriLen > end) return lengthFail(start + 6, 'MRI Length runs past the object');
      const m = decodeMriValue(b, o, o + mriLen);
      if (m instanceof ObjectFail) return m;
      mri = m;
      o += mriLen;
    }
    const additionalInfo: AdditionalInfo[] = [];
    for (let i = 0; i < infoCount; i++) {
      if (o + 4 > end) return lengthFail(start + 7, `Info Count ${infoCount} but only ${i} fields fit`);
      const aiType = readU16(b, o);
      const len = readU16(b, o + 2) * 4;
      const val = o + 4;
      if (val + len > end) return lengthFail(o + 2, `AI-Length of field ${i + 1} runs past the object`);
      switch (aiType) {
        case AiType.MessageLengthInfo:
        case AiType.MtuInfo:
        case AiType.ObjectTypeInfo: {
          if (len !== 4) return lengthFail(o + 2, `AI-Type ${aiType} has AI-Length 1, not ${len / 4}`);
          const x = readU16(b, val);
          additionalInfo.push(
            aiType === AiType.MessageLengthInfo
              ? { kind: 'MessageLengthInfo', calculatedLength: x }
              : aiType === AiType.MtuInfo
                ? { kind: 'MtuInfo', linkMtu: x }
                : { kind: 'ObjectTypeInfo', objectType: x },
          );
          break;
        }
        case AiType.ObjectValueInfo:
          if (len < 4) return lengthFail(o + 2, 'Object Value Info needs at least one word');
          additionalInfo.push({ kind: 'ObjectValueInfo', realObjectLength: readU16(b, val) & 0xfff, offset: readU16(b, val + 2), object: b.slice(val + 4, val + len) });
          break;
        default:
          additionalInfo.push({ kind: 'Unknown', aiType, value: b.slice(val, val + len) });
      }
      o = val + len;
    }
    let comment: string | undefined;
    if (hasC) {
      const nul = b.indexOf(0, o);
      if (o === end || nul < 0 || nul >= end) return lengthFail(o, 'C flag set but no NUL-terminated comment');
      comment = utf8Decoder.decode(b.slice(o, nul));
      o = end;
    }
    if (o !== end) return lengthFail(o, `${end - o} bytes after the last field`);
    const v: { -readonly [K in keyof GistErrorObject]: GistErrorObject[K] } = {
      errorClass: b[start],
      errorCode: readU16(b, start + 1),
      errorSubcode: b[start + 3],
      dMode,
      qMode,
      commonHeader: readOriginalHeader(b, start + 8),
      additionalInfo,
    };
    if (sessionId) v.sessionId = sessionId;
    if (mri) v.mri = mri;
    if (comment !== undefined) v.comment = comment;
    return v;
  },
};
