/**
 * Routing state keys (RFC 5971 s4.2.1: message routing state is keyed by
 * MRI, NSLPID and SID) as short binary strings, one char per byte:
 *
 *   [0..1] NSLPID (u16)  [2..17] Session-ID (16 bytes)  [18..] MRI value (A.3.1)
 *
 * One key names a row holding both directions' peers: the MRI is written in
 * its Q-mode direction (path-coupled D=0, loose-end towards the edge), with
 * the N flag cleared (it is not part of the flow's identity), and the half a
 * message belongs to comes from lastHalf() after building the key. The key
 * is the state's only copy of its MRI and SID: messages are written from
 * its bytes (wire.ts) and the rare paths that need objects decode them
 * (`keyMri`, `keySid`). Building a key is one encode of the MRI into a
 * scratch buffer and one latin1 string: no per-field text, no arrays.
 */
import { UsageError } from '../../common/errors';
import { ObjectFail } from '../codec/errors';
import { decodeMriValue, encodeMriValue } from '../codec/objects/mri';
import type { IpVersion, Mri, NslpId, SessionId } from '../types';

export const KEY_SID_OFFSET = 2;
export const KEY_MRI_OFFSET = 18;
/** Longest MRI value: path-coupled IPv6 with flow label, SPI and ports (A.3.1.1). */
const MAX_MRI_BYTES = 4 + 32 + 4 + 4 + 4 + 4;

const scratch = new Uint8Array(KEY_MRI_OFFSET + MAX_MRI_BYTES);
const scratchBuf = Buffer.from(scratch.buffer, scratch.byteOffset, scratch.byteLength);

/**
 * Writes the key bytes of (nslpId, sid, mri) into the scratch buffer, the MRI
 * as given and with its direction inverted on request (a received MRI points
 * in its direction of travel; replies invert it, s3.3, s5.1); returns their
 * length. Throws UsageError for a model that cannot be encoded (an NSLP bug;
 * decoded MRIs always encode).
 */
function writeKeyBytes(nslpId: NslpId, sid: SessionId, mri: Mri, invert: boolean): number {
  if (sid.length !== 16) throw new UsageError('GIST_BAD_SESSION_ID', 'Session ID must be 16 bytes (RFC 5971 A.3.2)');
  const b = scratch;
  b[0] = nslpId >>> 8;
  b[1] = nslpId & 0xff;
  for (let i = 0; i < 16; i++) b[KEY_SID_OFFSET + i] = sid[i];
  const end = encodeMriValue(mri, b, KEY_MRI_OFFSET);
  b[KEY_MRI_OFFSET + 1] = 0;
  if (invert) {
    if (b[KEY_MRI_OFFSET] === 1) b[KEY_MRI_OFFSET + 2] ^= 0x08;
    else b[KEY_MRI_OFFSET + 3] ^= 0x20;
  }
  return end;
}

/**
 * Clears the direction bit of the MRI value at b[o..] so that it names the
 * flow in its Q-mode direction (path-coupled D=0, loose-end towards the
 * edge: s5.8.1.2, s5.8.2.2); returns 1 when it was set (the REV half).
 */
function canonicalize(b: Uint8Array, o: number): 0 | 1 {
  if (b[o] === 1) {
    if ((b[o + 2] & 0x08) === 0) return 0;
    b[o + 2] &= ~0x08;
    return 1;
  }
  if ((b[o + 3] & 0x20) === 0) return 0;
  b[o + 3] &= ~0x20;
  return 1;
}

let half: 0 | 1 = 0;

/** The half (state.ts FWD = 0, REV = 1) named by the last rowKey / rowKeyFromDatagram / rowMriKeyPart call. */
export function lastHalf(): 0 | 1 {
  return half;
}

/**
 * The key of the routing state row (s4.2.1: one per MRI, NSLPID and SID,
 * holding both directions' peers) for (nslpId, sid, mri): the MRI is written
 * in its Q-mode direction. The half that sends in the direction of `mri`
 * (after `invert`) is left for lastHalf(). Throws UsageError for an MRI that cannot be encoded.
 */
export function rowKey(nslpId: NslpId, sid: SessionId, mri: Mri, invert: boolean): string {
  const end = writeKeyBytes(nslpId, sid, mri, invert);
  half = canonicalize(scratch, KEY_MRI_OFFSET);
  return scratchBuf.toString('latin1', 0, end);
}

/** The MRI part of a row key for `mri` (for suffix matches over all SIDs); its half is left for lastHalf(). */
export function rowMriKeyPart(mri: Mri): string {
  const end = encodeMriValue(mri, scratch, KEY_MRI_OFFSET);
  scratch[KEY_MRI_OFFSET + 1] = 0;
  half = canonicalize(scratch, KEY_MRI_OFFSET);
  return scratchBuf.toString('latin1', KEY_MRI_OFFSET, end);
}

/**
 * The row key (see rowKey) for the message in datagram `b` (magic number
 * first) that decoded successfully, built from its bytes: the MRI is copied
 * in canonical form (what encodeMriValue writes for the decoded value:
 * reserved bits, unused port halves, the protocol and DS bytes without their
 * flags and the flow label's top bits zero), so no address text is parsed.
 * undefined if the bytes hold no MRI and SID.
 */
export function rowKeyFromDatagram(b: Uint8Array, invert: boolean): string | undefined {
  const end = datagramKeyBytes(b, invert);
  if (end < 0) return undefined;
  half = canonicalize(scratch, KEY_MRI_OFFSET);
  return scratchBuf.toString('latin1', 0, end);
}

/** The MRI part of a key for `mri` as given (for suffix matches over all SIDs). */
export function mriKeyPart(mri: Mri): string {
  const end = encodeMriValue(mri, scratch, KEY_MRI_OFFSET);
  scratch[KEY_MRI_OFFSET + 1] = 0;
  return scratchBuf.toString('latin1', KEY_MRI_OFFSET, end);
}

/** The NSLPID part of a key (for prefix matches). */
export function nslpKeyPart(nslpId: NslpId): string {
  return String.fromCharCode(nslpId >>> 8, nslpId & 0xff);
}

export function keyNslpId(key: string): NslpId {
  return (key.charCodeAt(0) << 8) | key.charCodeAt(1);
}

export function keyIpVersion(key: string): IpVersion {
  return key.charCodeAt(KEY_MRI_OFFSET + 2) >>> 4 === 6 ? 6 : 4;
}

/** Length of the MRI value in the key. */
export function keyMriLength(key: string): number {
  return key.length - KEY_MRI_OFFSET;
}

/** Inverts the direction bit of the MRI value at b[o..] (s5.1: replies invert the MRI). */
export function flipDirection(b: Uint8Array, o: number): void {
  if (b[o] === 1) b[o + 2] ^= 0x08;
  else b[o + 3] ^= 0x20;
}

/** Copies key chars [from, key.length) to b[off..]; returns the end offset in b. */
export function copyKeyBytes(key: string, from: number, b: Uint8Array, off: number): number {
  for (let i = from; i < key.length; i++) b[off++] = key.charCodeAt(i);
  return off;
}

export function keySid(key: string): SessionId {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = key.charCodeAt(KEY_SID_OFFSET + i);
  return out;
}

/** The MRI object of a key (rare paths: notifications, Query addressing). */
export function keyMri(key: string, rev = false): Mri {
  const n = copyKeyBytes(key, KEY_MRI_OFFSET, scratch, 0);
  if (rev) flipDirection(scratch, 0);
  const m = decodeMriValue(scratch, 0, n);
  // Keys are written from encodable MRIs, so this cannot fail.
  if (m instanceof ObjectFail) throw new Error(`routing state key holds an undecodable MRI: ${m.detail}`);
  return m;
}

/** Writes the key bytes of rowKeyFromDatagram (before canonicalizing) into the scratch buffer; returns their length, -1 for none. */
function datagramKeyBytes(b: Uint8Array, invert: boolean): number {
  const end = b.length;
  let pos = 12;
  let mri = -1;
  let mriLen = 0;
  let sid = -1;
  while (pos + 4 <= end && (mri < 0 || sid < 0)) {
    const type = ((b[pos] & 0x0f) << 8) | b[pos + 1];
    const len = (((b[pos + 2] & 0x0f) << 8) | b[pos + 3]) << 2;
    if (type === 0) {
      mri = pos + 4;
      mriLen = len;
    } else if (type === 1) sid = pos + 4;
    pos += 4 + len;
  }
  if (mri < 0 || sid < 0 || mriLen < 4 || mriLen > MAX_MRI_BYTES || mri + mriLen > end || sid + 16 > end) return -1;
  const k = scratch;
  k[0] = b[8];
  k[1] = b[9];
  for (let i = 0; i < 16; i++) k[KEY_SID_OFFSET + i] = b[sid + i];
  const o = KEY_MRI_OFFSET;
  for (let i = 0; i < mriLen; i++) k[o + i] = b[mri + i];
  k[o + 1] = 0;
  if (k[o] === 1) {
    // Loose-end (A.3.1.2): IP-Ver and D only.
    k[o + 2] &= 0xf8;
    k[o + 3] = 0;
    if (invert) k[o + 2] ^= 0x08;
  } else {
    // Path-coupled (A.3.1.1).
    const f1 = k[o + 2];
    const f2 = k[o + 3] & 0xe0;
    k[o + 3] = f2;
    let p = o + 4 + ((f1 >>> 4) === 6 ? 32 : 8);
    if ((f1 & 0x08) === 0) k[p + 2] = 0;
    k[p + 3] = (f1 & 0x04) !== 0 ? k[p + 3] & 0xfc : 0;
    p += 4;
    if ((f1 & 0x02) !== 0) {
      k[p] = 0;
      k[p + 1] &= 0x0f;
      p += 4;
    }
    if ((f1 & 0x01) !== 0) p += 4;
    if ((f2 & 0xc0) !== 0) {
      if ((f2 & 0x80) === 0) {
        k[p] = 0;
        k[p + 1] = 0;
      }
      if ((f2 & 0x40) === 0) {
        k[p + 2] = 0;
        k[p + 3] = 0;
      }
    }
    if (invert) k[o + 3] ^= 0x20;
  }
  return o + mriLen;
}
