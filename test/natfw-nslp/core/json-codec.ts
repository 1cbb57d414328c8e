/** A JSON stand-in for the NATFW wire codec, for unit tests of the core that do not test the codec. */
import type { NatfwMessageCodec, NatfwMsg } from '../../../natfw-nslp/core/messages';

export const jsonCodec: NatfwMessageCodec = {
  encode: (msg: NatfwMsg) => new TextEncoder().encode(JSON.stringify(msg)),
  decode: (bytes: Uint8Array) => {
    try {
      const v = JSON.parse(new TextDecoder().decode(bytes)) as NatfwMsg;
      if (!['CREATE', 'EXTERNAL', 'RESPONSE', 'NOTIFY'].includes(v.type)) {
        return { ok: false, error: { responseClass: 3, responseCode: 1, message: 'illegal message type' } };
      }
      return { ok: true, value: v };
    } catch {
      return { ok: false, error: { responseClass: 3, responseCode: 2, message: 'not JSON' } };
    }
  },
};
