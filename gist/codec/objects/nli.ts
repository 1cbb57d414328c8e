/**
 * Network-Layer-Information, RFC 5971 A.3.3 (object type 2).
 * PI-Length | IP-TTL | IP-Ver | Reserved; RS Validity Time (ms); Peer
 * Identity padded to a word; Interface Address of IP-Ver.
 * Decisions: IP-Ver other than 4/6 and a validity time of 0 ("reserved and
 * MUST NOT be used") -> Object Value Error subcode 1 (Value Not Supported).
 */
import { formatIpv4, formatIpv6, writeIpv4, writeIpv6 } from '../addresses';
import { ObjectType, ObjectValueSubcode } from '../constants';
import { ObjectFail } from '../errors';
import type { NetworkLayerInformation } from '../types';
import { isU32, isU8, lengthFail, pad4, readU32, invalid, usage, writeU32, type ObjectCodec } from './codec';

export const nliCodec: ObjectCodec<NetworkLayerInformation> = {
  objectType: ObjectType.NetworkLayerInformation,
  name: 'Network-Layer-Information',
  valueLength(v) {
    return 8 + pad4(v.peerIdentity.length) + (v.ipVersion === 6 ? 16 : 4);
  },
  encodeValue(v, b, off) {
    usage(v.peerIdentity.length <= 255, 'NLI peerIdentity is at most 255 bytes (PI-Length is 8 bits)');
    usage(isU8(v.ipTtl), 'NLI ipTtl must be 0..255');
    usage(v.ipVersion === 4 || v.ipVersion === 6, 'NLI ipVersion must be 4 or 6');
    usage(isU32(v.routingStateValidityTime) && v.routingStateValidityTime !== 0, 'NLI routingStateValidityTime must be 1..2^32-1 ms');
    b[off] = v.peerIdentity.length;
    b[off + 1] = v.ipTtl;
    b[off + 2] = v.ipVersion << 4;
    b[off + 3] = 0;
    writeU32(b, off + 4, v.routingStateValidityTime);
    let o = off + 8;
    b.set(v.peerIdentity, o);
    const padded = pad4(v.peerIdentity.length);
    b.fill(0, o + v.peerIdentity.length, o + padded);
    o += padded;
    const okAddr = v.ipVersion === 4 ? writeIpv4(v.interfaceAddress, b, o) : writeIpv6(v.interfaceAddress, b, o);
    if (!okAddr) invalid(`NLI interfaceAddress '${v.interfaceAddress}' is not an IPv${v.ipVersion} address`);
    return o + (v.ipVersion === 6 ? 16 : 4);
  },
  decodeValue: (b, start, end) => decodeNliValue(b, start, end, false),
};

/**
 * The NLI value in b[start, end). `view`: the Peer-Identity is a view into `b`
 * instead of a copy (for a caller that copies what it keeps, gist/core).
 */
export function decodeNliValue(b: Uint8Array, start: number, end: number, view: boolean): NetworkLayerInformation | ObjectFail {
  if (end - start < 8) return lengthFail(start, 'NLI shorter than its two fixed words');
  const piLength = b[start];
  const ipTtl = b[start + 1];
  const ipVersion = b[start + 2] >>> 4;
  if (ipVersion !== 4 && ipVersion !== 6) return new ObjectFail(ObjectValueSubcode.ValueNotSupported, start + 2, `IP-Ver ${ipVersion} is neither 4 nor 6`);
  const need = 8 + pad4(piLength) + (ipVersion === 6 ? 16 : 4);
  if (end - start !== need) return lengthFail(start, `NLI with PI-Length ${piLength} and IPv${ipVersion} is ${need} bytes, not ${end - start}`);
  const routingStateValidityTime = readU32(b, start + 4);
  if (routingStateValidityTime === 0) return new ObjectFail(ObjectValueSubcode.ValueNotSupported, start + 4, 'Routing State Validity Time 0 is reserved');
  const pi = start + 8;
  const addr = pi + pad4(piLength);
  return {
    peerIdentity: view ? b.subarray(pi, pi + piLength) : b.slice(pi, pi + piLength),
    ipTtl,
    ipVersion,
    interfaceAddress: ipVersion === 6 ? formatIpv6(b, addr) : formatIpv4(b, addr),
    routingStateValidityTime,
  };
}
