/**
 * Query-Cookie (A.3.6, type 5) and Responder-Cookie (A.3.7, type 6): opaque
 * implementation-defined bit strings, a whole number of words (A.2).
 */
import { ObjectType } from '../constants';
import { invalid, type ObjectCodec } from './codec';

function opaque(objectType: number, name: string): ObjectCodec<Uint8Array> {
  return {
    objectType,
    name,
    valueLength: (v) => v.length,
    encodeValue(v, b, off) {
      if (v.length % 4 !== 0) invalid(`${name} must be a whole number of 32-bit words`);
      b.set(v, off);
      return off + v.length;
    },
    decodeValue: (b, start, end) => b.slice(start, end),
  };
}

export const queryCookieCodec = opaque(ObjectType.QueryCookie, 'Query-Cookie');
export const responderCookieCodec = opaque(ObjectType.ResponderCookie, 'Responder-Cookie');
