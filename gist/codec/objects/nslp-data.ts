/**
 * NSLP-Data, RFC 5971 A.3.10 (object type 8): the NSLP payload, opaque to
 * GIST, a whole number of words ("any padding to a word boundary must be
 * carried out within the NSLP itself").
 */
import { ObjectType } from '../constants';
import { usage, type ObjectCodec } from './codec';

export const nslpDataCodec: ObjectCodec<Uint8Array> = {
  objectType: ObjectType.NslpData,
  name: 'NSLP-Data',
  valueLength: (v) => v.length,
  encodeValue(v, b, off) {
    usage(v.length % 4 === 0, 'NSLP-Data must be a whole number of 32-bit words (the NSLP pads)');
    b.set(v, off);
    return off + v.length;
  },
  decodeValue: (b, start, end) => b.slice(start, end),
};
