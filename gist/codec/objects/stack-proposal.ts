/**
 * Stack-Proposal, RFC 5971 A.3.4 (object type 3).
 * Prof-Count | Reserved, then per profile: layer count, MA-Protocol-IDs,
 * zero padding to a word. Prof-Count 0 -> Object Value Error subcode 1;
 * a profile whose count byte is 0 -> subcode 3 (Empty List).
 */
import { ObjectType, ObjectValueSubcode } from '../constants';
import { ObjectFail } from '../errors';
import type { StackProposal } from '../types';
import { isU8, lengthFail, pad4, usage, type ObjectCodec } from './codec';

export const stackProposalCodec: ObjectCodec<StackProposal> = {
  objectType: ObjectType.StackProposal,
  name: 'Stack-Proposal',
  valueLength(v) {
    let n = 4;
    for (const p of v.profiles) n += pad4(1 + p.length);
    return n;
  },
  encodeValue(v, b, off) {
    usage(v.profiles.length >= 1 && v.profiles.length <= 255, 'Stack-Proposal needs 1..255 profiles');
    b[off] = v.profiles.length;
    b[off + 1] = 0;
    b[off + 2] = 0;
    b[off + 3] = 0;
    let o = off + 4;
    for (const p of v.profiles) {
      usage(p.length >= 1 && p.length <= 255, 'a Stack-Proposal profile needs 1..255 protocol layers');
      const size = pad4(1 + p.length);
      b.fill(0, o, o + size);
      b[o] = p.length;
      for (let i = 0; i < p.length; i++) {
        usage(isU8(p[i]), 'MA-Protocol-IDs are 0..255');
        b[o + 1 + i] = p[i];
      }
      o += size;
    }
    return o;
  },
  decodeValue(b, start, end): StackProposal | ObjectFail {
    if (end - start < 4) return lengthFail(start, 'Stack-Proposal shorter than its first word');
    const count = b[start];
    if (count === 0) return new ObjectFail(ObjectValueSubcode.ValueNotSupported, start, 'Prof-Count is 0');
    const profiles: number[][] = [];
    let o = start + 4;
    for (let i = 0; i < count; i++) {
      if (o >= end) return lengthFail(o, `Prof-Count ${count} but only ${i} profiles fit`);
      const layers = b[o];
      if (layers === 0) return new ObjectFail(ObjectValueSubcode.EmptyList, o, `profile ${i + 1} is empty`);
      const size = pad4(1 + layers);
      if (o + size > end) return lengthFail(o, `profile ${i + 1} runs past the object`);
      const p: number[] = new Array<number>(layers);
      for (let j = 0; j < layers; j++) p[j] = b[o + 1 + j];
      profiles.push(p);
      o += size;
    }
    if (o !== end) return lengthFail(o, `${end - o} bytes after the last profile`);
    return { profiles };
  },
};
