/**
 * The core's view (messages.ts) of the NATFW wire codec (natfw-nslp/codec).
 * The mapping is one to one; the core keeps EFI fields numeric so that it can
 * answer unknown values itself when a message comes from elsewhere.
 */
import { decodeNatfwMessage, encodeNatfwMessage, NatfwMessageType, type NatfwMessage } from '../codec';
import { UsageError } from '../../common/errors';
import { err, ok } from '../../common/result';
import type { NatfwMessageCodec, NatfwMsg } from './messages';

const NO_OBJECTS = { sessionAuth: [], unknownObjects: [] } as const;

function efiToWire(e: { ruleAction: number; subPorts: number }): { ruleAction: 'allow' | 'deny'; subPorts: 0 | 1 } {
  if ((e.ruleAction !== 1 && e.ruleAction !== 2) || (e.subPorts !== 0 && e.subPorts !== 1)) {
    throw new UsageError('NATFW_BAD_VALUE', `NATFW_EFI ${e.ruleAction}/${e.subPorts} cannot be sent`);
  }
  return { ruleAction: e.ruleAction === 1 ? 'allow' : 'deny', subPorts: e.subPorts };
}

export function toWire(m: NatfwMsg): NatfwMessage {
  switch (m.type) {
    case 'CREATE':
      return {
        type: 'CREATE',
        header: { messageType: NatfwMessageType.CREATE, proxy: m.proxy, edge: m.proxy && m.edgeContinue },
        sessionAuth: m.carried?.sessionAuth ?? [],
        unknownObjects: m.carried?.forward ?? [],
        lifetime: m.lifetime,
        efi: efiToWire(m.efi),
        msn: m.msn,
        ...(m.nonce !== undefined ? { nonce: m.nonce } : {}),
        ...(m.icmpTypes !== undefined ? { icmpTypes: m.icmpTypes } : {}),
      };
    case 'EXTERNAL':
      if (m.dtinfo === undefined) throw new UsageError('NATFW_BAD_VALUE', 'EXTERNAL without NATFW_DTINFO cannot be sent');
      return {
        type: 'EXTERNAL',
        header: { messageType: NatfwMessageType.EXTERNAL, proxy: m.proxy, edge: m.proxy && m.edgeContinue },
        sessionAuth: m.carried?.sessionAuth ?? [],
        unknownObjects: m.carried?.forward ?? [],
        lifetime: m.lifetime,
        msn: m.msn,
        efi: efiToWire(m.efi),
        dtinfo: m.dtinfo,
        ...(m.nonce !== undefined ? { nonce: m.nonce } : {}),
        ...(m.icmpTypes !== undefined ? { icmpTypes: m.icmpTypes } : {}),
        ...(m.externalBinding !== undefined ? { externalBinding: m.externalBinding } : {}),
      };
    case 'RESPONSE':
      return {
        type: 'RESPONSE',
        header: { messageType: NatfwMessageType.RESPONSE, proxy: false, edge: false },
        ...NO_OBJECTS,
        msn: m.msn,
        info: m.info,
        ...(m.lifetime !== undefined ? { lifetime: m.lifetime } : {}),
        ...(m.externalIp !== undefined ? { externalIp: m.externalIp } : {}),
        ...(m.externalBinding !== undefined ? { externalBinding: m.externalBinding } : {}),
      };
    case 'NOTIFY':
      return { type: 'NOTIFY', header: { messageType: NatfwMessageType.NOTIFY, proxy: false, edge: false }, ...NO_OBJECTS, info: m.info };
  }
}

export function fromWire(w: NatfwMessage): NatfwMsg {
  switch (w.type) {
    case 'CREATE':
      return {
        type: 'CREATE',
        proxy: w.header.proxy,
        edgeContinue: w.header.edge,
        lifetime: w.lifetime,
        msn: w.msn,
        efi: { ruleAction: w.efi.ruleAction === 'allow' ? 1 : 2, subPorts: w.efi.subPorts },
        nonce: w.nonce,
        icmpTypes: w.icmpTypes,
        carried: w.sessionAuth.length > 0 || w.unknownObjects.length > 0 ? { sessionAuth: w.sessionAuth, forward: w.unknownObjects } : undefined,
      };
    case 'EXTERNAL':
      return {
        type: 'EXTERNAL',
        proxy: w.header.proxy,
        edgeContinue: w.header.edge,
        lifetime: w.lifetime,
        msn: w.msn,
        efi: { ruleAction: w.efi.ruleAction === 'allow' ? 1 : 2, subPorts: w.efi.subPorts },
        nonce: w.nonce,
        icmpTypes: w.icmpTypes,
        dtinfo: w.dtinfo,
        externalBinding: w.externalBinding,
        carried: w.sessionAuth.length > 0 || w.unknownObjects.length > 0 ? { sessionAuth: w.sessionAuth, forward: w.unknownObjects } : undefined,
      };
    case 'RESPONSE':
      return { type: 'RESPONSE', info: w.info, msn: w.msn, lifetime: w.lifetime, externalIp: w.externalIp, externalBinding: w.externalBinding };
    case 'NOTIFY':
      return { type: 'NOTIFY', info: w.info };
  }
}

/** Best effort: the NATFW_MSN of a message that did not decode, so its error RESPONSE matches (s3.5). */
function scanMsn(b: Uint8Array): number | undefined {
  let off = 4;
  for (let i = 0; i < 256 && off + 4 <= b.length; i++) {
    const type = ((b[off] << 8) | b[off + 1]) & 0xfff;
    const len = (((b[off + 2] << 8) | b[off + 3]) & 0xfff) * 4;
    if (type === 0x012 && len === 4 && off + 8 <= b.length) {
      return ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
    }
    off += 4 + len;
  }
  return undefined;
}

export const wireCodec: NatfwMessageCodec = {
  encode: (m) => encodeNatfwMessage(toWire(m)),
  decode: (bytes) => {
    const r = decodeNatfwMessage(bytes);
    if (r.ok) return ok(fromWire(r.value));
    const e = r.error;
    return err({
      responseClass: e.responseClass,
      responseCode: e.responseCode,
      objectType: e.objectType,
      message: e.message,
      messageType: bytes.length > 0 ? bytes[0] : undefined,
      msn: scanMsn(bytes),
    });
  },
};
