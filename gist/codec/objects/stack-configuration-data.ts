/**
 * Stack-Configuration-Data, RFC 5971 A.3.5 (object type 4).
 * MPO-Count | Reserved; MA-Hold-Time (ms); MPO-Count MA-protocol-options:
 * MA-Protocol-ID | Profile | Length (bytes) | D | Reserved, then Options
 * Data zero-padded to a word. MA-Hold-Time 0 ("reserved and MUST NOT be
 * used") -> Object Value Error subcode 1.
 *
 * Forwards-TCP (s5.7.2): empty options in a Query; in a Response a 2-byte
 * port "followed by 2 pad bytes". We write Length 2 (the pad is the word
 * padding) and read the port from Length 2 or 4.
 */
import { MaProtocolId, ObjectType, ObjectValueSubcode } from '../constants';
import { ObjectFail } from '../errors';
import type { MaProtocolOptions, StackConfigurationData } from '../types';
import { isU16, isU32, isU8, lengthFail, pad4, readU16, readU32, usage, writeU32, type ObjectCodec } from './codec';

export const stackConfigurationDataCodec: ObjectCodec<StackConfigurationData> = {
  objectType: ObjectType.StackConfigurationData,
  name: 'Stack-Configuration-Data',
  valueLength(v) {
    let n = 8;
    for (const o of v.maProtocolOptions) n += 4 + pad4(o.data.length);
    return n;
  },
  encodeValue(v, b, off) {
    usage(v.maProtocolOptions.length <= 255, 'at most 255 MA-protocol-options (MPO-Count is 8 bits)');
    usage(isU32(v.maHoldTime) && v.maHoldTime !== 0, 'MA-Hold-Time must be 1..2^32-1 ms');
    b[off] = v.maProtocolOptions.length;
    b[off + 1] = 0;
    b[off + 2] = 0;
    b[off + 3] = 0;
    writeU32(b, off + 4, v.maHoldTime);
    let o = off + 8;
    for (const mpo of v.maProtocolOptions) {
      usage(isU8(mpo.maProtocolId) && isU8(mpo.profile), 'MA-Protocol-ID and Profile are 0..255');
      usage(mpo.data.length <= 255, 'MA-protocol-options data is at most 255 bytes');
      b[o] = mpo.maProtocolId;
      b[o + 1] = mpo.profile;
      b[o + 2] = mpo.data.length;
      b[o + 3] = mpo.doNotUse ? 0x80 : 0;
      b.set(mpo.data, o + 4);
      const end = o + 4 + pad4(mpo.data.length);
      b.fill(0, o + 4 + mpo.data.length, end);
      o = end;
    }
    return o;
  },
  decodeValue(b, start, end): StackConfigurationData | ObjectFail {
    if (end - start < 8) return lengthFail(start, 'Stack-Configuration-Data shorter than its two fixed words');
    const count = b[start];
    const maHoldTime = readU32(b, start + 4);
    if (maHoldTime === 0) return new ObjectFail(ObjectValueSubcode.ValueNotSupported, start + 4, 'MA-Hold-Time 0 is reserved');
    const maProtocolOptions: MaProtocolOptions[] = [];
    let o = start + 8;
    for (let i = 0; i < count; i++) {
      if (o + 4 > end) return lengthFail(o, `MPO-Count ${count} but only ${i} MA-protocol-options fit`);
      const len = b[o + 2];
      const next = o + 4 + pad4(len);
      if (next > end) return lengthFail(o + 2, `MA-protocol-options ${i + 1} runs past the object`);
      maProtocolOptions.push({ maProtocolId: b[o], profile: b[o + 1], doNotUse: (b[o + 3] & 0x80) !== 0, data: b.slice(o + 4, o + 4 + len) });
      o = next;
    }
    if (o !== end) return lengthFail(o, `${end - o} bytes after the last MA-protocol-options`);
    return { maHoldTime, maProtocolOptions };
  },
};

/** The Forwards-TCP options of a Response (s5.7.2): the port the responder accepts connections at. */
export function forwardsTcpOptions(port: number, profile = 0): MaProtocolOptions {
  usage(isU16(port), 'TCP port must be 0..65535');
  return { maProtocolId: MaProtocolId.ForwardsTcp, profile, doNotUse: false, data: new Uint8Array([port >>> 8, port & 0xff]) };
}

/** The port in Forwards-TCP options, if they carry one (Length 2, or 4 with the pad counted). */
export function forwardsTcpPort(o: MaProtocolOptions): number | undefined {
  if (o.maProtocolId !== MaProtocolId.ForwardsTcp || o.data.length < 2) return undefined;
  return readU16(o.data, 0);
}
