/**
 * The core's view (messages.ts) of the NATFW wire codec (natfw-nslp/codec).
 * The mapping is one to one; the core keeps EFI fields numeric so that it can
 * answer unknown values itself when a message comes from elsewhere.
 */
import { decodeNatfwMessage, encodeNatfwMessage, NatfwMessageType, type NatfwMessage } from '../codec';
import { UsageError } from '../../common/errors';
import { err, ok } from '../../common/result';
import type { InfoCode, NatfwMessageCodec, NatfwMsg } from './messages';

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

// ---------------------------------------------------------------- the common messages, straight

// RFC 5973 s4.2 object types and the s4.1 message types the fast paths write and read.
const LT = 0x00c;
const EFI = 0x00f;
const INFO = 0x010;
const NONCE = 0x011;
const MSN = 0x012;

const isU32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** A one-word object (s4.2): AB = 00 (mandatory), its type, Length 1, the value. */
function putWordObject(b: Uint8Array, at: number, type: number, v: number): void {
  b[at] = type >> 8;
  b[at + 1] = type & 0xff;
  b[at + 2] = 0;
  b[at + 3] = 1;
  putU32(b, at + 4, v);
}

function putInfo(b: Uint8Array, at: number, i: InfoCode): void {
  putWordObject(b, at, INFO, 0);
  b[at + 4] = i.responseClass;
  b[at + 5] = i.responseCode;
  b[at + 6] = i.objectType >> 8;
  b[at + 7] = i.objectType & 0xff;
}

const infoOk = (i: InfoCode): boolean =>
  Number.isInteger(i.responseClass) && i.responseClass >= 0 && i.responseClass <= 0xf && Number.isInteger(i.responseCode) && i.responseCode >= 0 && i.responseCode <= 0xff && Number.isInteger(i.objectType) && i.objectType >= 0 && i.objectType <= 0xfff;

/**
 * CREATE (LT, EFI, MSN, NONCE?), RESPONSE (LT?, MSN, INFO) and NOTIFY (INFO)
 * with nothing else in them: the messages of every setup and refresh, written
 * directly, in the order and form the general encoder uses (s4.3; the same
 * octets, tested). Anything else, or a value the general encoder would refuse,
 * returns undefined and goes the general way.
 */
export function encodeCommon(m: NatfwMsg): Uint8Array | undefined {
  switch (m.type) {
    case 'CREATE': {
      if (m.carried !== undefined || m.icmpTypes !== undefined) return undefined;
      const e = m.efi;
      if ((e.ruleAction !== 1 && e.ruleAction !== 2) || (e.subPorts !== 0 && e.subPorts !== 1)) return undefined;
      if (!isU32(m.lifetime) || !isU32(m.msn)) return undefined;
      const nonce = m.nonce;
      if (nonce !== undefined ? !isU32(nonce) : m.proxy) return undefined;
      const b = new Uint8Array(nonce !== undefined ? 36 : 28);
      b[0] = NatfwMessageType.CREATE;
      b[1] = m.proxy ? (m.edgeContinue ? 0xc0 : 0x80) : 0;
      putWordObject(b, 4, LT, m.lifetime);
      putWordObject(b, 12, EFI, 0);
      b[17] = e.ruleAction;
      b[19] = e.subPorts;
      putWordObject(b, 20, MSN, m.msn);
      if (nonce !== undefined) putWordObject(b, 28, NONCE, nonce);
      return b;
    }
    case 'RESPONSE': {
      if (m.externalIp !== undefined || m.externalBinding !== undefined) return undefined;
      if (!isU32(m.msn) || !infoOk(m.info)) return undefined;
      const lt = m.lifetime;
      if (lt !== undefined ? !isU32(lt) : m.info.responseClass === 2) return undefined;
      const b = new Uint8Array(lt !== undefined ? 28 : 20);
      b[0] = NatfwMessageType.RESPONSE;
      let at = 4;
      if (lt !== undefined) {
        putWordObject(b, at, LT, lt);
        at += 8;
      }
      putWordObject(b, at, MSN, m.msn);
      putInfo(b, at + 8, m.info);
      return b;
    }
    case 'NOTIFY': {
      if (!infoOk(m.info)) return undefined;
      const b = new Uint8Array(12);
      b[0] = NatfwMessageType.NOTIFY;
      putInfo(b, 4, m.info);
      return b;
    }
    default:
      return undefined;
  }
}

const u32At = (b: Uint8Array, at: number): number => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
/** Object header at `at` is exactly AB = 00, `type`, Length 1. */
const wordObjectAt = (b: Uint8Array, at: number, type: number): boolean => b[at] === type >> 8 && b[at + 1] === (type & 0xff) && b[at + 2] === 0 && b[at + 3] === 1;

/**
 * The inverse of `encodeCommon` for exactly those layouts (objects in that
 * order, AB = 00, valid EFI): what the general decoder + `fromWire` give for
 * them (tested). Anything else returns undefined and goes the general way,
 * which also finds its errors.
 */
export function decodeCommon(b: Uint8Array): NatfwMsg | undefined {
  const n = b.length;
  switch (b[0]) {
    case NatfwMessageType.CREATE: {
      if ((n !== 28 && n !== 36) || !wordObjectAt(b, 4, LT) || !wordObjectAt(b, 12, EFI) || !wordObjectAt(b, 20, MSN)) return undefined;
      if (b[16] !== 0 || (b[17] !== 1 && b[17] !== 2) || b[18] !== 0 || b[19] > 1) return undefined;
      const proxy = (b[1] & 0x80) !== 0;
      let nonce: number | undefined;
      if (n === 36) {
        if (!wordObjectAt(b, 28, NONCE)) return undefined;
        nonce = u32At(b, 32);
      } else if (proxy) return undefined; // s4.3.1: CREATE-PROXY without NATFW_NONCE is an error the general path answers
      return {
        type: 'CREATE',
        proxy,
        edgeContinue: proxy && (b[1] & 0x40) !== 0,
        lifetime: u32At(b, 8),
        msn: u32At(b, 24),
        efi: { ruleAction: b[17], subPorts: b[19] },
        nonce,
        icmpTypes: undefined,
        carried: undefined,
      };
    }
    case NatfwMessageType.RESPONSE: {
      let at = 4;
      let lifetime: number | undefined;
      if (n === 28) {
        if (!wordObjectAt(b, 4, LT)) return undefined;
        lifetime = u32At(b, 8);
        at = 12;
      } else if (n !== 20) return undefined;
      if (!wordObjectAt(b, at, MSN) || !wordObjectAt(b, at + 8, INFO)) return undefined;
      const responseClass = b[at + 12] & 0x0f;
      // s4.3.3: a Success RESPONSE needs NATFW_LT; without it the general path answers the error.
      if (responseClass === 2 && lifetime === undefined) return undefined;
      return {
        type: 'RESPONSE',
        info: { responseClass, responseCode: b[at + 13], objectType: ((b[at + 14] << 8) | b[at + 15]) & 0x0fff },
        msn: u32At(b, at + 4),
        lifetime,
        externalIp: undefined,
        externalBinding: undefined,
      };
    }
    default:
      return undefined;
  }
}

export const wireCodec: NatfwMessageCodec = {
  encode: (m) => encodeCommon(m) ?? encodeNatfwMessage(toWire(m)),
  decode: (bytes) => {
    const common = decodeCommon(bytes);
    if (common !== undefined) return ok(common);
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
