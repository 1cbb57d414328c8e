/**
 * Session IDs (RFC 5971 s3.7: 128 bits) as the NATFW node's map keys: the
 * same lowercase hex text as gist/types.ts `sessionIdKey`, made without a
 * Buffer. A Session ID from a decoder is a small on-heap typed array; wrapping
 * its `.buffer` in a Buffer makes V8 move it off the heap (an allocation, a
 * copy and an ArrayBuffer the GC must sweep) for every message, which made
 * `sessionIdKey` the costliest single function of a large simulation. Here the
 * bytes are read in place and the text is made in one call.
 */
import type { SessionId } from '../../gist/types';

const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** Reused character codes of a 16-octet Session ID (32 hex digits). */
const CODES: number[] = new Array<number>(32).fill(0);

/** Lowercase hex of `sid` (any length; 16 octets without allocating anything but the string). */
export function sidKey(sid: SessionId): string {
  const n = sid.length;
  const codes = n === 16 ? CODES : new Array<number>(2 * n);
  for (let i = 0; i < n; i++) {
    const b = sid[i];
    codes[2 * i] = HEX[b >> 4];
    codes[2 * i + 1] = HEX[b & 15];
  }
  return String.fromCharCode.apply(null, codes);
}
