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

/** The label of one GIST message starting at `at` (no magic number), and its total length. */
function labelAt(b: Uint8Array, at: number): { label: string; length: number } | undefined {
  if (at + 8 > b.length) return undefined;
  const length = 8 + ((b[at + 2] << 8) | b[at + 3]) * 4;
  const nslpId = (b[at + 4] << 8) | b[at + 5];
  // A.1: the top bit of this octet is the C flag (Q-mode), the other seven the Type.
  const t = b[at + 6] & 0x7f;
  const type = MESSAGE_TYPE_NAMES[t] ?? `type-${t}`;
  const end = Math.min(b.length, at + length);
  let o = at + 8;
  // A.2: TLV header is 32 bits: A(1) B(1) r(2) Type(12) | r(4) Length(12 words).
  for (let guard = 0; o + 4 <= end && guard < 64; guard++) {
    const objType = ((b[o] & 0x0f) << 8) | b[o + 1];
    const objLen = (((b[o + 2] & 0x0f) << 8) | b[o + 3]) * 4;
    if (objType === ObjectType.NslpData) {
      if (nslpId === NATFW_NSLPID && o + 4 < end) return { label: `${type}/${NATFW_TYPES[b[o + 4]] ?? `nslp-${b[o + 4]}`}`, length };
      return { label: `${type}/nslp`, length };
    }
    o += 4 + objLen;
  }
  return { label: type, length };
}

/** A UDP payload (Q-mode or D-mode: magic number first, s5.4.1). */
export function datagramLabel(b: Uint8Array): string {
  if (b.length < 4 || new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0) !== GIST_MAGIC) return 'unparsed';
  return labelAt(b, 4)?.label ?? 'unparsed';
}

/** The messages in one write on a C-mode stream (whole messages back to back, s5.4). */
export function streamLabels(b: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0, guard = 0; at < b.length && guard < 10000; guard++) {
    const m = labelAt(b, at);
    if (m === undefined || m.length < 8) {
      out.push('unparsed');
      break;
    }
    out.push(m.label);
    at += m.length;
  }
  return out;
}
