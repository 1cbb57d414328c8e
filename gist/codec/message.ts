/**
 * GIST messages: the common header (RFC 5971 A.1) followed by TLV objects
 * (A.2) in the order of s5.1. Decoding checks, in this order: version,
 * Message Length, type, the C/R/E flags (A.1), the encapsulation when known
 * (s5.5), every TLV (A/B flags, known/allowed/duplicate/order, the value),
 * missing objects, R-flag vs Responder-Cookie, the Hello-ID rule (s5.2.2),
 * and last the GIST hop count (A.4.4.2). The first failure is returned as a
 * GistDecodeError; nothing throws.
 *
 * Decision (not spelled out by the RFC): an object that is allowed in the
 * message but comes after an object that must follow it (out of order) is
 * an Object Type Error, subcode 3 "Invalid Object Type" (s5.1: "invalid
 * objects for the message type"), naming that object.
 */
import { err, ok, type Result } from '../../common/result';
import {
  CommonHeaderParseSubcode as CH,
  COMMON_HEADER_LENGTH,
  ErrorCode,
  GIST_VERSION,
  MESSAGE_TYPE_NAMES,
  MessageType,
  OBJECT_TYPE_NAMES,
  ObjectType,
  ObjectTypeSubcode as OT,
  ObjectValueSubcode as OV,
} from './constants';
import { GistDecodeError, ObjectFail } from './errors';
import { readOriginalHeader } from './objects/error-object';
import { readU16, invalid, usage, writeTlvHeader, writeU16 } from './objects/codec';
import { OBJECT_REGISTRY } from './objects/registry';
import { decodeNliValue } from './objects/nli';
import { FIELD_OF, MESSAGE_RULES } from './rules';
import type { Mri, SessionId } from '../types';
import type { AdditionalInfo, Encapsulation, GistCommonHeader, GistMessage, NatTraversal, UnknownObject } from './types';

const EMPTY_UNKNOWN: readonly UnknownObject[] = Object.freeze([]) as readonly UnknownObject[];

/** Sum of the TLV lengths found walking [from, end), in words, counting a last object that overruns (A.4.4.1 subcode 3 AI). */
function calculatedLength(b: Uint8Array, from: number, end: number): number {
  let pos = from;
  let words = 0;
  // Each step advances by >= 4 bytes, so this ends.
  while (pos + 4 <= end) {
    const w = 1 + (((b[pos + 2] & 0x0f) << 8) | b[pos + 3]);
    words += w;
    pos += w * 4;
  }
  return words;
}

interface Decoded {
  sessionId?: SessionId;
  mri?: Mri;
  natTraversal?: NatTraversal;
}

/** What a failed decode had decoded before it failed, for the Error it answers with (read from VALS). */
function decodedSoFar(): Decoded {
  return { mri: VALS[ObjectType.MessageRoutingInformation] as Mri | undefined, sessionId: VALS[ObjectType.SessionId] as SessionId | undefined, natTraversal: VALS[ObjectType.NatTraversal] as NatTraversal | undefined };
}

const VALS: unknown[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];

/** `shift` = where the message starts in `b`; offsets are already positions in `b`. */
function fail(
  shift: number,
  b: Uint8Array,
  errorCode: number,
  subcode: number | undefined,
  offset: number,
  detail: string,
  extra?: { objectType?: number; additionalInfo?: readonly AdditionalInfo[]; decoded?: Decoded; reply?: boolean },
): { ok: false; error: GistDecodeError } {
  const e = new GistDecodeError({
    errorCode,
    subcode,
    offset,
    detail,
    objectType: extra?.objectType,
    additionalInfo: extra?.additionalInfo,
    reply: extra?.reply,
  });
  if (b.length - shift >= COMMON_HEADER_LENGTH) e.commonHeader = readOriginalHeader(b, shift);
  // A.4.4.1: a Common Header Parse Error never echoes MRI/SID.
  if (extra?.decoded && errorCode !== ErrorCode.CommonHeaderParseError) {
    if (extra.decoded.sessionId) e.sessionId = extra.decoded.sessionId;
    if (extra.decoded.mri) e.mri = extra.decoded.mri;
  }
  if (extra?.decoded?.natTraversal) e.natTraversal = extra.decoded.natTraversal;
  return err(e);
}

function headerFail(shift: number, b: Uint8Array, subcode: number, offset: number, detail: string, ai?: AdditionalInfo[]) {
  return fail(shift, b, ErrorCode.CommonHeaderParseError, subcode, offset, detail, { additionalInfo: ai });
}

function objectTypeFail(shift: number, b: Uint8Array, subcode: number, offset: number, objectType: number, detail: string, decoded: Decoded) {
  return fail(shift, b, ErrorCode.ObjectTypeError, subcode, offset, detail, {
    objectType,
    additionalInfo: [{ kind: 'ObjectTypeInfo', objectType }],
    decoded,
  });
}

function objectValueFail(shift: number, b: Uint8Array, tlvStart: number, tlvEnd: number, objectType: number, f: ObjectFail, decoded: Decoded) {
  return fail(shift, b, f.errorCode, f.subcode, f.at, f.detail, {
    objectType,
    additionalInfo: [{ kind: 'ObjectValueInfo', realObjectLength: (tlvEnd - tlvStart) >>> 2, offset: f.at - tlvStart, object: b.slice(tlvStart, tlvEnd) }],
    decoded,
  });
}

/**
 * Decodes the message occupying exactly b[base, end): common header and
 * objects, no magic number. Error offsets are positions in `b`. Byte fields
 * of the result are copies: it never aliases `b`, unless `views` is set: then
 * the Query-Cookie, the Responder-Cookie and the NLI's Peer-Identity are views
 * into `b` (for a caller that looks at them while it handles the message and
 * copies what it keeps: gist/core; the fields an NSLP gets stay copies).
 */
export function decodeMessageAt(b: Uint8Array, base: number, end: number, enc?: Encapsulation, views = false): Result<GistMessage, GistDecodeError> {
  const total = end - base;
  const shift = base;
  if (total < COMMON_HEADER_LENGTH) {
    // Nothing to echo in an Error object (A.4.1 needs the original common header): not answered.
    const e = new GistDecodeError({
      errorCode: ErrorCode.CommonHeaderParseError,
      subcode: CH.IncorrectMessageLength,
      offset: base + Math.max(total, 0),
      detail: `${total} bytes, shorter than the 8-byte common header`,
      reply: false,
    });
    return err(e);
  }
  const version = b[base];
  if (version !== GIST_VERSION) return headerFail(shift, b, CH.UnknownVersion, base, `version ${version}, only ${GIST_VERSION} is known`);
  const declared = readU16(b, base + 2);
  if (COMMON_HEADER_LENGTH + declared * 4 !== total) {
    return headerFail(shift, b, CH.IncorrectMessageLength, base + 2, `Message Length ${declared} words but ${total - COMMON_HEADER_LENGTH} bytes follow the header`, [
      { kind: 'MessageLengthInfo', calculatedLength: calculatedLength(b, base + COMMON_HEADER_LENGTH, end) & 0xffff },
    ]);
  }
  const f6 = b[base + 6];
  const f7 = b[base + 7];
  const messageType = f6 & 0x7f;
  if (messageType >= MESSAGE_TYPE_NAMES.length) return headerFail(shift, b, CH.UnknownType, base + 6, `message type ${messageType} is unknown`);
  const typeName = MESSAGE_TYPE_NAMES[messageType];
  const cFlag = (f6 & 0x80) !== 0;
  const sFlag = (f7 & 0x80) !== 0;
  const rFlag = (f7 & 0x40) !== 0;
  const eFlag = (f7 & 0x20) !== 0;
  // A.1: R always set in a Query, never in Confirm, Data or Error.
  if (messageType === MessageType.Query ? !rFlag : rFlag && (messageType === MessageType.Confirm || messageType === MessageType.Data || messageType === MessageType.Error)) {
    return headerFail(shift, b, CH.InvalidRFlag, base + 7, `R=${rFlag ? 1 : 0} in a ${typeName}`);
  }
  // A.1: E only in Data.
  if (eFlag && messageType !== MessageType.Data) return headerFail(shift, b, CH.InvalidEFlag, base + 7, `E=1 in a ${typeName}`);
  // s5.2.1, A.4.4.1 subcode 5: C set on a Query (always) and Q-mode Data only.
  if (messageType === MessageType.Query ? !cFlag : cFlag && messageType !== MessageType.Data) {
    return headerFail(shift, b, CH.InvalidCFlag, base + 6, `C=${cFlag ? 1 : 0} in a ${typeName}`);
  }
  // s5.5: message type vs encapsulation.
  if (enc !== undefined) {
    const bad =
      enc === 'C'
        ? messageType === MessageType.Query
        : messageType === MessageType['MA-Hello'] ||
          (enc === 'Q' && messageType !== MessageType.Query && messageType !== MessageType.Data) ||
          (enc === 'D' && messageType === MessageType.Query);
    if (bad) {
      return fail(shift, b, ErrorCode.IncorrectEncapsulation, undefined, base + 6, `a ${typeName} cannot arrive ${enc === 'C' ? 'in C-mode' : enc === 'Q' ? 'Q-mode encapsulated' : 'in D-mode'}`);
    }
    if (messageType === MessageType.Data && cFlag && (enc === 'C' || enc === 'D')) {
      return headerFail(shift, b, CH.InvalidCFlag, base + 6, 'C=1 on a Data message that is not Q-mode encapsulated');
    }
    if (messageType === MessageType.Data && !cFlag && enc === 'Q') {
      return headerFail(shift, b, CH.InvalidCFlag, base + 6, 'C=0 on a Q-mode Data message');
    }
  }

  const rule = MESSAGE_RULES[typeName];
  const slotOf = rule.slotOf;
  // One scratch table for every decode (decoding never re-enters itself); its values move into the message.
  const vals = VALS;
  for (let i = 0; i < vals.length; i++) vals[i] = undefined;
  let unknown: UnknownObject[] | undefined;
  let known = 0;
  let nextSlot = 0;
  let helloTlv = -1;
  let pos = base + COMMON_HEADER_LENGTH;
  while (pos < end) {
    // pos and end are both word aligned relative to base, so a whole TLV header is there.
    const h0 = b[pos];
    const objectType = ((h0 & 0x0f) << 8) | b[pos + 1];
    const valueStart = pos + 4;
    const valueEnd = valueStart + ((((b[pos + 2] & 0x0f) << 8) | b[pos + 3]) << 2);
    if (valueEnd > end) {
      return headerFail(shift, b, CH.IncorrectMessageLength, pos + 2, `${OBJECT_TYPE_NAMES[objectType] ?? `object type ${objectType}`} runs past the Message Length`, [
        { kind: 'MessageLengthInfo', calculatedLength: calculatedLength(b, base + COMMON_HEADER_LENGTH, end) & 0xffff },
      ]);
    }
    const ab = h0 >>> 6;
    if (ab === 3) return objectTypeFail(shift, b, OT.InvalidExtensibilityFlags, pos, objectType, 'AB=11 is reserved', decodedSoFar());
    const entry = objectType < OBJECT_REGISTRY.length ? OBJECT_REGISTRY[objectType] : undefined;
    if (entry === undefined) {
      if (ab === 0) return objectTypeFail(shift, b, OT.UnrecognisedObject, pos, objectType, 'unknown object with AB=00 (mandatory)', decodedSoFar());
      (unknown ??= []).push({ ab: ab as 1 | 2, objectType, value: b.slice(valueStart, valueEnd), position: known });
      pos = valueEnd;
      continue;
    }
    const slot = slotOf[objectType];
    if (slot < 0) return objectTypeFail(shift, b, OT.InvalidObjectType, pos, objectType, `not allowed in a ${typeName}`, decodedSoFar());
    if (vals[objectType] !== undefined) return objectTypeFail(shift, b, OT.DuplicateObject, pos, objectType, 'appears twice', decodedSoFar());
    if (slot < nextSlot) {
      return objectTypeFail(shift, b, OT.InvalidObjectType, pos, objectType, `out of order: must come before ${OBJECT_TYPE_NAMES[rule.order[nextSlot - 1]]}`, decodedSoFar());
    }
    const v = !views
      ? entry.codec.decodeValue(b, valueStart, valueEnd)
      : objectType === ObjectType.QueryCookie || objectType === ObjectType.ResponderCookie
        ? b.subarray(valueStart, valueEnd) // opaque (A.3.6, A.3.7): nothing to check
        : objectType === ObjectType.NetworkLayerInformation
          ? decodeNliValue(b, valueStart, valueEnd, true)
          : entry.codec.decodeValue(b, valueStart, valueEnd);
    if (v instanceof ObjectFail) return objectValueFail(shift, b, pos, valueEnd, objectType, v, decodedSoFar());
    vals[objectType] = v;
    if (objectType === ObjectType.HelloId) helloTlv = pos;
    nextSlot = slot + 1;
    known++;
    pos = valueEnd;
  }

  for (const t of rule.required) {
    if (vals[t] === undefined) return objectTypeFail(shift, b, OT.MissingObject, end, t, `a ${typeName} must carry it`, decodedSoFar());
  }
  for (const [t, needed] of rule.needs) {
    if (vals[t] !== undefined && vals[needed] === undefined) {
      return objectTypeFail(shift, b, OT.MissingObject, end, needed, `required with ${OBJECT_TYPE_NAMES[t]}`, decodedSoFar());
    }
  }
  const nli = vals[ObjectType.NetworkLayerInformation];
  if (enc !== undefined && (messageType === MessageType.Data || messageType === MessageType.Error)) {
    // s5.1: NLI MUST be carried in D-mode (Data, Error); MUST NOT be in a C-mode Data.
    if (enc !== 'C' && nli === undefined) {
      return objectTypeFail(shift, b, OT.MissingObject, end, ObjectType.NetworkLayerInformation, `a D-mode ${typeName} must carry it`, decodedSoFar());
    }
    if (enc === 'C' && nli !== undefined && messageType === MessageType.Data) {
      return objectTypeFail(shift, b, OT.InvalidObjectType, base + COMMON_HEADER_LENGTH, ObjectType.NetworkLayerInformation, 'not allowed in a C-mode Data', decodedSoFar());
    }
  }
  // A.1: R MUST be set in a Response carrying a Responder-Cookie.
  if (messageType === MessageType.Response && !rFlag && vals[ObjectType.ResponderCookie] !== undefined) {
    return headerFail(shift, b, CH.InvalidRFlag, base + 7, 'R=0 in a Response with a Responder-Cookie');
  }
  // s5.2.2: R=1 with Hello-ID 0 -> Object Value Error, Value Not Supported.
  if (messageType === MessageType['MA-Hello'] && rFlag && vals[ObjectType.HelloId] === 0) {
    return objectValueFail(shift, b, helloTlv, helloTlv + 8, ObjectType.HelloId, new ObjectFail(OV.ValueNotSupported, helloTlv + 4, 'Hello-ID 0 in a request (R=1)'), decodedSoFar());
  }
  const gistHopCount = b[base + 1];
  // A.4.4.2: a message arriving with GIST hop count 0.
  if (gistHopCount === 0) return fail(shift, b, ErrorCode.HopLimitExceeded, undefined, base + 1, 'GIST hop count is 0', { decoded: decodedSoFar() });

  const header: GistCommonHeader = { version, gistHopCount, messageType, nslpId: readU16(b, base + 4), cFlag, sFlag, rFlag, eFlag };
  const unknownObjects = unknown ?? EMPTY_UNKNOWN;
  switch (messageType) {
    case MessageType.Query:
      return ok({
        type: 'Query',
        header,
        unknownObjects,
        natTraversal: vals[7] as never,
        mri: vals[0] as never,
        sessionId: vals[1] as never,
        nli: vals[2] as never,
        queryCookie: vals[5] as never,
        stackProposal: vals[3] as never,
        stackConfigurationData: vals[4] as never,
        nslpData: vals[8] as never,
      });
    case MessageType.Response:
      return ok({
        type: 'Response',
        header,
        unknownObjects,
        natTraversal: vals[7] as never,
        mri: vals[0] as never,
        sessionId: vals[1] as never,
        nli: vals[2] as never,
        queryCookie: vals[5] as never,
        responderCookie: vals[6] as never,
        stackProposal: vals[3] as never,
        stackConfigurationData: vals[4] as never,
        nslpData: vals[8] as never,
      });
    case MessageType.Confirm:
      return ok({
        type: 'Confirm',
        header,
        unknownObjects,
        mri: vals[0] as never,
        sessionId: vals[1] as never,
        nli: vals[2] as never,
        responderCookie: vals[6] as never,
        stackProposal: vals[3] as never,
        stackConfigurationData: vals[4] as never,
        nslpData: vals[8] as never,
      });
    case MessageType.Data:
      return ok({
        type: 'Data',
        header,
        unknownObjects,
        natTraversal: vals[7] as never,
        mri: vals[0] as never,
        sessionId: vals[1] as never,
        nli: vals[2] as never,
        nslpData: vals[8] as never,
      });
    case MessageType.Error:
      return ok({ type: 'Error', header, unknownObjects, natTraversal: vals[7] as never, nli: vals[2] as never, error: vals[9] as never });
    default:
      return ok({ type: 'MA-Hello', header, unknownObjects, helloId: vals[10] as number });
  }
}

/** The message's object values indexed by object type (a switch per type keeps property access monomorphic). */
function objectValues(msg: GistMessage): unknown[] {
  const v: unknown[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  switch (msg.type) {
    case 'Query':
      v[7] = msg.natTraversal;
      v[0] = msg.mri;
      v[1] = msg.sessionId;
      v[2] = msg.nli;
      v[5] = msg.queryCookie;
      v[3] = msg.stackProposal;
      v[4] = msg.stackConfigurationData;
      v[8] = msg.nslpData;
      break;
    case 'Response':
      v[7] = msg.natTraversal;
      v[0] = msg.mri;
      v[1] = msg.sessionId;
      v[2] = msg.nli;
      v[5] = msg.queryCookie;
      v[6] = msg.responderCookie;
      v[3] = msg.stackProposal;
      v[4] = msg.stackConfigurationData;
      v[8] = msg.nslpData;
      break;
    case 'Confirm':
      v[0] = msg.mri;
      v[1] = msg.sessionId;
      v[2] = msg.nli;
      v[6] = msg.responderCookie;
      v[3] = msg.stackProposal;
      v[4] = msg.stackConfigurationData;
      v[8] = msg.nslpData;
      break;
    case 'Data':
      v[7] = msg.natTraversal;
      v[0] = msg.mri;
      v[1] = msg.sessionId;
      v[2] = msg.nli;
      v[8] = msg.nslpData;
      break;
    case 'Error':
      v[7] = msg.natTraversal;
      v[2] = msg.nli;
      v[9] = msg.error;
      break;
    case 'MA-Hello':
      v[10] = msg.helloId;
      break;
    default:
      invalid(`unknown message type '${String((msg as { type: unknown }).type)}'`);
  }
  return v;
}

/** A checked model with its object values and value lengths, computed once per encode. */
export interface EncodingPlan {
  readonly msg: GistMessage;
  readonly vals: readonly unknown[];
  readonly lens: readonly number[];
  /** Whole message in bytes (common header + objects). */
  readonly length: number;
}

/** Checks `msg` (s5.1 presence rules, header fields) and sizes it; throws UsageError for an invalid model. */
export function planEncoding(msg: GistMessage): EncodingPlan {
  const vals = objectValues(msg);
  const rule = MESSAGE_RULES[msg.type];
  const h = msg.header;
  if (h.messageType !== MessageType[msg.type]) invalid(`header.messageType ${h.messageType} does not match type '${msg.type}'`);
  usage(Number.isInteger(h.version) && h.version >= 0 && h.version <= 255, 'header.version is 8 bits');
  usage(Number.isInteger(h.gistHopCount) && h.gistHopCount >= 0 && h.gistHopCount <= 255, 'header.gistHopCount is 8 bits');
  usage(Number.isInteger(h.nslpId) && h.nslpId >= 0 && h.nslpId <= 0xffff, 'header.nslpId is 16 bits');
  const required = rule.required;
  for (let i = 0; i < required.length; i++) if (vals[required[i]] === undefined) invalid(`a ${msg.type} needs ${FIELD_OF[required[i]]}`);
  const needs = rule.needs;
  for (let i = 0; i < needs.length; i++) {
    const [t, needed] = needs[i];
    if (vals[t] !== undefined && vals[needed] === undefined) invalid(`${FIELD_OF[t]} needs ${FIELD_OF[needed]} in a ${msg.type}`);
  }
  const lens: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  let n = COMMON_HEADER_LENGTH;
  const order = rule.order;
  for (let i = 0; i < order.length; i++) {
    const t = order[i];
    const v = vals[t];
    if (v === undefined) continue;
    const len = OBJECT_REGISTRY[t]!.codec.valueLength(v);
    lens[t] = len;
    n += 4 + len;
  }
  const unknown = msg.unknownObjects;
  for (let i = 0; i < unknown.length; i++) n += 4 + unknown[i].value.length;
  usage(n - COMMON_HEADER_LENGTH <= 0xffff * 4, 'message too long for the 16-bit Message Length');
  return { msg, vals, lens, length: n };
}

/** Bytes of the whole message (common header + objects). Throws UsageError for an invalid model. */
export function messageEncodingLength(msg: GistMessage): number {
  return planEncoding(msg).length;
}

function writeUnknown(u: UnknownObject, b: Uint8Array, o: number): number {
  usage(u.ab === 1 || u.ab === 2, 'unknown objects carry AB=01 or AB=10');
  usage(Number.isInteger(u.objectType) && u.objectType >= 0 && u.objectType <= 0xfff && OBJECT_REGISTRY[u.objectType] === undefined, 'unknown object type must be 12 bits and not a known type');
  writeTlvHeader(b, o, u.ab, u.objectType, u.value.length);
  b.set(u.value, o + 4);
  return o + 4 + u.value.length;
}

/** Writes the planned message at b[off]; b must have plan.length bytes from there. Returns the end. */
export function encodeMessageInto(plan: EncodingPlan, b: Uint8Array, off: number): number {
  const { msg, vals, lens, length } = plan;
  const h = msg.header;
  b[off] = h.version;
  b[off + 1] = h.gistHopCount;
  writeU16(b, off + 2, (length - COMMON_HEADER_LENGTH) >>> 2);
  writeU16(b, off + 4, h.nslpId);
  b[off + 6] = (h.cFlag ? 0x80 : 0) | h.messageType;
  b[off + 7] = (h.sFlag ? 0x80 : 0) | (h.rFlag ? 0x40 : 0) | (h.eFlag ? 0x20 : 0);
  let o = off + COMMON_HEADER_LENGTH;
  const unknown = msg.unknownObjects;
  let ui = 0;
  let known = 0;
  const order = MESSAGE_RULES[msg.type].order;
  for (let i = 0; i < order.length; i++) {
    const t = order[i];
    const v = vals[t];
    if (v === undefined) continue;
    while (ui < unknown.length && unknown[ui].position <= known) o = writeUnknown(unknown[ui++], b, o);
    const codec = OBJECT_REGISTRY[t]!.codec;
    const len = lens[t];
    writeTlvHeader(b, o, 0, t, len);
    const e = codec.encodeValue(v, b, o + 4);
    if (e !== o + 4 + len) invalid(`${codec.name}: encoder wrote ${e - o - 4} bytes, expected ${len}`);
    o = e;
    known++;
  }
  while (ui < unknown.length) o = writeUnknown(unknown[ui++], b, o);
  usage(o === off + length, 'encoded length disagrees with the plan');
  return o;
}
