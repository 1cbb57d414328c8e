/**
 * The messages the core sends on its hot paths (Query, Response, Confirm,
 * Data), written straight into their bytes: the MRI and SID are copied from
 * the routing state key (keys.ts), objects that never change (NLI per IP
 * version and IP-TTL, Stack-Proposal + SCD) are whole TLVs encoded once,
 * cookies and NSLP data are copied. No message model, plan or per-object
 * arrays are built. The output is exactly what `encodeGistMessage` /
 * `encodeGistDatagram` (gist/codec) produce for the same message, object
 * order of RFC 5971 s5.1, header of A.1 (test/gist/core/wire.test.ts
 * decodes and re-encodes every message the core sends to check it).
 * Errors and MA-Hellos are rare and still go through the codec.
 */
import { COMMON_HEADER_LENGTH, MessageType, ObjectType } from '../codec/constants';
import { allocOutput } from '../codec/slab';
import { copyKeyBytes, flipDirection, KEY_MRI_OFFSET, KEY_SID_OFFSET, keyNslpId } from './keys';

const MAGIC_BYTES = 4;
const SID_TLV_BYTES = 4 + 16;
const QUERY_COOKIE_TLV_BYTES = 4 + 12;

function tlvHeader(b: Uint8Array, o: number, objectType: number, valueBytes: number): void {
  const words = valueBytes >>> 2;
  b[o] = objectType >>> 8;
  b[o + 1] = objectType & 0xff;
  b[o + 2] = words >>> 8;
  b[o + 3] = words & 0xff;
}

function copy(b: Uint8Array, o: number, src: Uint8Array): number {
  if (src.length > 32) {
    b.set(src, o);
    return o + src.length;
  }
  for (let i = 0; i < src.length; i++) b[o + i] = src[i];
  return o + src.length;
}

function tlv(b: Uint8Array, o: number, objectType: number, value: Uint8Array): number {
  tlvHeader(b, o, objectType, value.length);
  return copy(b, o + 4, value);
}

/** Allocates the message (with the magic number for a datagram) and writes the common header (A.1). */
function start(magic: boolean, total: number, type: number, nslpId: number, hops: number, c: boolean, s: boolean, r: boolean, e: boolean): Uint8Array {
  const base = magic ? MAGIC_BYTES : 0;
  const b = allocOutput(base + total);
  if (magic) {
    // s5.3.1: the magic number 0x4e04bda5.
    b[0] = 0x4e;
    b[1] = 0x04;
    b[2] = 0xbd;
    b[3] = 0xa5;
  }
  const words = (total - COMMON_HEADER_LENGTH) >>> 2;
  b[base] = 1;
  b[base + 1] = hops;
  b[base + 2] = words >>> 8;
  b[base + 3] = words & 0xff;
  b[base + 4] = nslpId >>> 8;
  b[base + 5] = nslpId & 0xff;
  b[base + 6] = (c ? 0x80 : 0) | type;
  b[base + 7] = (s ? 0x80 : 0) | (r ? 0x40 : 0) | (e ? 0x20 : 0);
  return b;
}

/**
 * MRI and Session-ID TLVs from the routing state row key (MRI in its Q-mode
 * direction); `rev`: for the REV half, with the direction inverted.
 */
function mriSid(b: Uint8Array, o: number, key: string, rev: boolean): number {
  tlvHeader(b, o, ObjectType.MessageRoutingInformation, key.length - KEY_MRI_OFFSET);
  const m = o + 4;
  o = copyKeyBytes(key, KEY_MRI_OFFSET, b, m);
  if (rev) flipDirection(b, m);
  tlvHeader(b, o, ObjectType.SessionId, 16);
  o += 4;
  for (let i = 0; i < 16; i++) b[o + i] = key.charCodeAt(KEY_SID_OFFSET + i);
  return o + 16;
}

function mriSidBytes(key: string): number {
  return 4 + (key.length - KEY_MRI_OFFSET) + SID_TLV_BYTES;
}

function nslpBytes(nslpData: Uint8Array | undefined): number {
  return nslpData === undefined ? 0 : 4 + nslpData.length;
}

function optBytes(t: Uint8Array | undefined): number {
  return t === undefined ? 0 : t.length;
}

/** Message length (common header + objects, no magic) of a Query. */
export function queryLength(key: string, nliTlv: Uint8Array, stackTlvs: Uint8Array | undefined, nslpData: Uint8Array | undefined): number {
  return COMMON_HEADER_LENGTH + mriSidBytes(key) + nliTlv.length + QUERY_COOKIE_TLV_BYTES + optBytes(stackTlvs) + nslpBytes(nslpData);
}

/** A Query datagram, always in the Q-mode direction of the row key (s5.1: MRI SID NLI QC [SP SCD] [NSLP]; C=1, R=1, A.1). */
export function writeQuery(
  key: string,
  hops: number,
  sFlag: boolean,
  nliTlv: Uint8Array,
  cookieHi: number,
  cookieLo: number,
  counter: number,
  stackTlvs: Uint8Array | undefined,
  nslpData: Uint8Array | undefined,
): Uint8Array {
  const total = queryLength(key, nliTlv, stackTlvs, nslpData);
  const b = start(true, total, MessageType.Query, keyNslpId(key), hops, true, sFlag, true, false);
  let o = mriSid(b, MAGIC_BYTES + COMMON_HEADER_LENGTH, key, false);
  o = copy(b, o, nliTlv);
  tlvHeader(b, o, ObjectType.QueryCookie, 12);
  b[o + 4] = cookieHi >>> 24;
  b[o + 5] = (cookieHi >>> 16) & 0xff;
  b[o + 6] = (cookieHi >>> 8) & 0xff;
  b[o + 7] = cookieHi & 0xff;
  b[o + 8] = cookieLo >>> 24;
  b[o + 9] = (cookieLo >>> 16) & 0xff;
  b[o + 10] = (cookieLo >>> 8) & 0xff;
  b[o + 11] = cookieLo & 0xff;
  b[o + 12] = counter >>> 24;
  b[o + 13] = (counter >>> 16) & 0xff;
  b[o + 14] = (counter >>> 8) & 0xff;
  b[o + 15] = counter & 0xff;
  o += QUERY_COOKIE_TLV_BYTES;
  if (stackTlvs !== undefined) o = copy(b, o, stackTlvs);
  if (nslpData !== undefined) tlv(b, o, ObjectType.NslpData, nslpData);
  return b;
}

/** Message length (common header + objects, no magic) of a Response. */
export function responseLength(
  key: string,
  nliTlv: Uint8Array,
  queryCookie: Uint8Array,
  responderCookie: Uint8Array | undefined,
  stackTlvs: Uint8Array | undefined,
  nslpData: Uint8Array | undefined,
): number {
  return (
    COMMON_HEADER_LENGTH +
    mriSidBytes(key) +
    nliTlv.length +
    4 +
    queryCookie.length +
    (responderCookie === undefined ? 0 : 4 + responderCookie.length) +
    optBytes(stackTlvs) +
    nslpBytes(nslpData)
  );
}

/** A Response (s5.1: MRI SID NLI QC [RC [SP SCD]] [NSLP]); `magic` for D-mode, without for an MA. */
export function writeResponse(
  magic: boolean,
  key: string,
  rev: boolean,
  hops: number,
  rFlag: boolean,
  nliTlv: Uint8Array,
  queryCookie: Uint8Array,
  responderCookie: Uint8Array | undefined,
  stackTlvs: Uint8Array | undefined,
  nslpData: Uint8Array | undefined,
): Uint8Array {
  const total = responseLength(key, nliTlv, queryCookie, responderCookie, stackTlvs, nslpData);
  const b = start(magic, total, MessageType.Response, keyNslpId(key), hops, false, true, rFlag, false);
  let o = mriSid(b, (magic ? MAGIC_BYTES : 0) + COMMON_HEADER_LENGTH, key, rev);
  o = copy(b, o, nliTlv);
  o = tlv(b, o, ObjectType.QueryCookie, queryCookie);
  if (responderCookie !== undefined) o = tlv(b, o, ObjectType.ResponderCookie, responderCookie);
  if (stackTlvs !== undefined) o = copy(b, o, stackTlvs);
  if (nslpData !== undefined) tlv(b, o, ObjectType.NslpData, nslpData);
  return b;
}

/** A Confirm, sent by the querier, so in the row key's direction (s5.1: MRI SID NLI [RC [SP [SCD]]] [NSLP]). */
export function writeConfirm(
  magic: boolean,
  key: string,
  hops: number,
  nliTlv: Uint8Array,
  responderCookie: Uint8Array | undefined,
  stackTlvs: Uint8Array | undefined,
  nslpData: Uint8Array | undefined,
): Uint8Array {
  const total =
    COMMON_HEADER_LENGTH + mriSidBytes(key) + nliTlv.length + (responderCookie === undefined ? 0 : 4 + responderCookie.length) + optBytes(stackTlvs) + nslpBytes(nslpData);
  const b = start(magic, total, MessageType.Confirm, keyNslpId(key), hops, false, true, false, false);
  let o = mriSid(b, (magic ? MAGIC_BYTES : 0) + COMMON_HEADER_LENGTH, key, false);
  o = copy(b, o, nliTlv);
  if (responderCookie !== undefined) o = tlv(b, o, ObjectType.ResponderCookie, responderCookie);
  if (stackTlvs !== undefined) o = copy(b, o, stackTlvs);
  if (nslpData !== undefined) tlv(b, o, ObjectType.NslpData, nslpData);
  return b;
}

/** Message length (no magic) of a Data message. */
export function dataLength(key: string, nliTlv: Uint8Array | undefined, nslpData: Uint8Array): number {
  return COMMON_HEADER_LENGTH + mriSidBytes(key) + optBytes(nliTlv) + 4 + nslpData.length;
}

/** A Data message (s5.1: MRI SID [NLI] NSLP; NLI in D-mode only). */
export function writeData(magic: boolean, key: string, rev: boolean, hops: number, eFlag: boolean, nliTlv: Uint8Array | undefined, nslpData: Uint8Array): Uint8Array {
  const total = dataLength(key, nliTlv, nslpData);
  const b = start(magic, total, MessageType.Data, keyNslpId(key), hops, false, true, false, eFlag);
  let o = mriSid(b, (magic ? MAGIC_BYTES : 0) + COMMON_HEADER_LENGTH, key, rev);
  if (nliTlv !== undefined) o = copy(b, o, nliTlv);
  tlv(b, o, ObjectType.NslpData, nslpData);
  return b;
}
