/**
 * NAT-Traversal, RFC 5971 A.3.9 (object type 7).
 * MRI-Length (words) | Type-Count | NAT-Count | Reserved; the original MRI
 * value (no TLV header); Type-Count 16-bit entries (first 16 bits of each
 * translated object's TLV header), padded with 2 null bytes to a word;
 * NAT-Count opaque payloads, each a 16-bit byte length (not counting itself)
 * followed by the data, the pair zero-padded to a word.
 */
import { ObjectType } from '../constants';
import { ObjectFail } from '../errors';
import type { NatTraversal } from '../types';
import { isU16, lengthFail, pad4, readU16, usage, writeU16, type ObjectCodec } from './codec';
import { decodeMriValue, encodeMriValue, mriValueLength } from './mri';

export const natTraversalCodec: ObjectCodec<NatTraversal> = {
  objectType: ObjectType.NatTraversal,
  name: 'NAT-Traversal',
  valueLength(v) {
    let n = 4 + mriValueLength(v.originalMri) + pad4(2 * v.translatedObjects.length);
    for (const d of v.natInformation) n += pad4(2 + d.length);
    return n;
  },
  encodeValue(v, b, off) {
    const mriLen = mriValueLength(v.originalMri);
    usage(v.translatedObjects.length <= 255 && v.natInformation.length <= 255, 'Type-Count and NAT-Count are at most 255');
    b[off] = mriLen >>> 2;
    b[off + 1] = v.translatedObjects.length;
    b[off + 2] = v.natInformation.length;
    b[off + 3] = 0;
    let o = encodeMriValue(v.originalMri, b, off + 4);
    for (const t of v.translatedObjects) {
      usage(isU16(t), 'translated object entries are 16-bit values');
      writeU16(b, o, t);
      o += 2;
    }
    if (v.translatedObjects.length % 2 === 1) {
      writeU16(b, o, 0);
      o += 2;
    }
    for (const d of v.natInformation) {
      usage(d.length <= 0xffff, 'NAT opaque information is at most 65535 bytes');
      writeU16(b, o, d.length);
      b.set(d, o + 2);
      const end = o + pad4(2 + d.length);
      b.fill(0, o + 2 + d.length, end);
      o = end;
    }
    return o;
  },
  decodeValue(b, start, end): NatTraversal | ObjectFail {
    if (end - start < 4) return lengthFail(start, 'NAT-Traversal shorter than its first word');
    const mriEnd = start + 4 + b[start] * 4;
    const typeCount = b[start + 1];
    const natCount = b[start + 2];
    if (mriEnd > end) return lengthFail(start, 'MRI-Length runs past the object');
    const originalMri = decodeMriValue(b, start + 4, mriEnd);
    if (originalMri instanceof ObjectFail) return originalMri;
    let o = mriEnd;
    const listEnd = o + pad4(2 * typeCount);
    if (listEnd > end) return lengthFail(start + 1, 'Type-Count runs past the object');
    const translatedObjects: number[] = new Array<number>(typeCount);
    for (let i = 0; i < typeCount; i++) translatedObjects[i] = readU16(b, o + 2 * i);
    o = listEnd;
    const natInformation: Uint8Array[] = [];
    for (let i = 0; i < natCount; i++) {
      if (o + 2 > end) return lengthFail(o, `NAT-Count ${natCount} but only ${i} payloads fit`);
      const len = readU16(b, o);
      const next = o + pad4(2 + len);
      if (next > end) return lengthFail(o, `opaque information ${i + 1} runs past the object`);
      natInformation.push(b.slice(o + 2, o + 2 + len));
      o = next;
    }
    if (o !== end) return lengthFail(o, `${end - o} bytes after the last NAT payload`);
    return { originalMri, translatedObjects, natInformation };
  },
};
