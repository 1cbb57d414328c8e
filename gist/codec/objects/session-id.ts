/** Session-Identifier, RFC 5971 A.3.2 (object type 1): exactly 128 bits (Length 4). */
import type { SessionId } from '../../types';
import { ObjectType } from '../constants';
import type { ObjectFail } from '../errors';
import { lengthFail, usage, type ObjectCodec } from './codec';

export const SESSION_ID_BYTES = 16;

export const sessionIdCodec: ObjectCodec<SessionId> = {
  objectType: ObjectType.SessionId,
  name: 'Session-Identifier',
  valueLength: () => SESSION_ID_BYTES,
  encodeValue(v, b, off) {
    usage(v instanceof Uint8Array && v.length === SESSION_ID_BYTES, 'Session ID must be 16 bytes');
    b.set(v, off);
    return off + SESSION_ID_BYTES;
  },
  decodeValue(b, start, end): SessionId | ObjectFail {
    if (end - start !== SESSION_ID_BYTES) return lengthFail(start, `Session ID is 16 bytes, not ${end - start}`);
    return b.slice(start, end);
  },
};
