/**
 * Names of signalling messages for the report's counts, read from the wire
 * bytes without a full decode: the GIST message type from the common header
 * (RFC 5971 A.1) and, when an NSLP-Data object is present, the NATFW message
 * type from the first octet of its NSLP header (RFC 5973 s4.1). Bounds are
 * checked at every step; anything unreadable is counted as 'unparsed'.
 */
import { GIST_MAGIC, MESSAGE_TYPE_NAMES, ObjectType } from '../gist/codec/constants';

const NATFW_TYPES: Record<number, string> = { 1: 'CREATE', 2: 'EXTERNAL', 3: 'RESPONSE', 4: 'NOTIFY' };
const NATFW_NSLPID = 33;

/** No NSLP-Data object, and an NSLP-Data object of another NSLP than NATFW (for `interned`). */
const NO_NSLP = 256;
const OTHER_NSLP = 257;
/** Labels by (GIST type, NSLP octet): built once, so counting a message allocates no string. */
const interned = new Map<number, string>();

function labelOf(t: number, nslp: number): string {
  const k = t * 512 + nslp;
  let l = interned.get(k);
  if (l === undefined) {
    const type = MESSAGE_TYPE_NAMES[t] ?? `type-${t}`;
    l = nslp === NO_NSLP ? type : nslp === OTHER_NSLP ? `${type}/nslp` : `${type}/${NATFW_TYPES[nslp] ?? `nslp-${nslp}`}`;
    interned.set(k, l);
  }
  return l;
}

/** The label of one GIST message starting at `at` (no magic number); undefined when its header is cut short. */
function labelAt(b: Uint8Array, at: number): string | undefined {
  if (at + 8 > b.length) return undefined;
  const length = messageLength(b, at);
  const nslpId = (b[at + 4] << 8) | b[at + 5];
  // A.1: the top bit of this octet is the C flag (Q-mode), the other seven the Type.
  const t = b[at + 6] & 0x7f;
  const end = Math.min(b.length, at + length);
  let o = at + 8;
  // A.2: TLV header is 32 bits: A(1) B(1) r(2) Type(12) | r(4) Length(12 words).
  for (let guard = 0; o + 4 <= end && guard < 64; guard++) {
    const objType = ((b[o] & 0x0f) << 8) | b[o + 1];
    const objLen = (((b[o + 2] & 0x0f) << 8) | b[o + 3]) * 4;
    if (objType === ObjectType.NslpData) {
      if (nslpId === NATFW_NSLPID && o + 4 < end) return labelOf(t, b[o + 4]);
      return labelOf(t, OTHER_NSLP);
    }
    o += 4 + objLen;
  }
  return labelOf(t, NO_NSLP);
}

/** The total length of the GIST message at `at` (common header's Message Length, in 32-bit words after the header). */
function messageLength(b: Uint8Array, at: number): number {
  return 8 + ((b[at + 2] << 8) | b[at + 3]) * 4;
}

/** A UDP payload (Q-mode or D-mode: magic number first, s5.4.1). */
export function datagramLabel(b: Uint8Array): string {
  if (b.length < 4 || ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0 !== GIST_MAGIC) return 'unparsed';
  return labelAt(b, 4) ?? 'unparsed';
}

/** The messages in one write on a C-mode stream (whole messages back to back, s5.4). */
export function streamLabels(b: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0, guard = 0; at < b.length && guard < 10000; guard++) {
    const m = labelAt(b, at);
    if (m === undefined) {
      out.push('unparsed');
      break;
    }
    out.push(m);
    at += messageLength(b, at);
  }
  return out;
}
