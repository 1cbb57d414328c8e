/** Hello-ID, RFC 5971 A.3.8 (object type 10): one 32-bit word. */
import { ObjectType } from '../constants';
import type { ObjectFail } from '../errors';
import { isU32, lengthFail, readU32, usage, writeU32, type ObjectCodec } from './codec';

export const helloIdCodec: ObjectCodec<number> = {
  objectType: ObjectType.HelloId,
  name: 'Hello-ID',
  valueLength: () => 4,
  encodeValue(v, b, off) {
    usage(isU32(v), 'Hello-ID is a 32-bit value');
    writeU32(b, off, v);
    return off + 4;
  },
  decodeValue(b, start, end): number | ObjectFail {
    if (end - start !== 4) return lengthFail(start, `Hello-ID is 4 bytes, not ${end - start}`);
    return readU32(b, start);
  },
};
