/**
 * A JSON view of a GIST message for `natfw decode`: the common header and
 * every object in wire order, with field names taken from RFC 5971
 * Appendix A (camelCase), byte strings as hex.
 */
import { toHex } from '../../common/bytes';
import {
  ERROR_CLASS_NAMES,
  ERROR_CODE_INFO,
  ERROR_SUBCODE_NAMES,
  MessageType,
  OBJECT_TYPE_NAMES,
  ObjectType,
} from './constants';
import { messageEncodingLength } from './message';
import { forwardsTcpPort } from './objects/stack-configuration-data';
import { MESSAGE_RULES, FIELD_OF } from './rules';
import type { Mri } from '../types';
import type { GistErrorObject, GistMessage, MaProtocolOptions } from './types';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

function mriJson(m: Mri): { [k: string]: JsonValue } {
  const o: { [k: string]: JsonValue } = { mrmId: m.mrm === 'path-coupled' ? 0 : 1, mrm: m.mrm, nFlag: m.nFlag === true, ipVer: m.ipVersion, sourceAddress: m.sourceAddress, destinationAddress: m.destinationAddress };
  if (m.mrm === 'path-coupled') {
    o.sourcePrefix = m.sourcePrefix;
    o.destPrefix = m.destinationPrefix;
    if (m.protocol !== undefined) o.protocol = m.protocol;
    if (m.dsField !== undefined) o.dsField = m.dsField;
    if (m.flowLabel !== undefined) o.flowLabel = m.flowLabel;
    if (m.spi !== undefined) o.spi = m.spi;
    if (m.sourcePort !== undefined) o.sourcePort = m.sourcePort;
    if (m.destinationPort !== undefined) o.destinationPort = m.destinationPort;
  }
  o.dFlag = m.direction === 'upstream' || m.direction === 'from-edge';
  o.direction = m.direction;
  return o;
}

function mpoJson(o: MaProtocolOptions): { [k: string]: JsonValue } {
  const j: { [k: string]: JsonValue } = { maProtocolId: o.maProtocolId, profile: o.profile, length: o.data.length, dFlag: o.doNotUse, optionsData: toHex(o.data) };
  const port = forwardsTcpPort(o);
  if (port !== undefined) j.port = port;
  return j;
}

function errorJson(e: GistErrorObject): { [k: string]: JsonValue } {
  const h = e.commonHeader;
  const j: { [k: string]: JsonValue } = {
    errorClass: e.errorClass,
    errorClassName: ERROR_CLASS_NAMES[e.errorClass] ?? null,
    errorCode: e.errorCode,
    errorCodeName: ERROR_CODE_INFO[e.errorCode]?.name ?? null,
    errorSubcode: e.errorSubcode,
    errorSubcodeName: ERROR_SUBCODE_NAMES[e.errorCode]?.[e.errorSubcode] ?? null,
    sFlag: e.sessionId !== undefined,
    mFlag: e.mri !== undefined,
    cFlag: e.comment !== undefined,
    dFlag: e.dMode,
    qFlag: e.qMode,
    commonHeader: { version: h.version, gistHops: h.gistHopCount, messageLength: h.messageLength, nslpId: h.nslpId, cFlag: h.cFlag, type: h.messageType, sFlag: h.sFlag, rFlag: h.rFlag, eFlag: h.eFlag },
  };
  if (e.sessionId) j.sessionId = toHex(e.sessionId);
  if (e.mri) j.messageRoutingInformation = mriJson(e.mri);
  j.additionalInformation = e.additionalInfo.map((ai): JsonValue => {
    switch (ai.kind) {
      case 'MessageLengthInfo':
        return { aiType: 1, name: 'Message Length Info', calculatedLength: ai.calculatedLength };
      case 'MtuInfo':
        return { aiType: 2, name: 'MTU Info', linkMtu: ai.linkMtu };
      case 'ObjectTypeInfo':
        return { aiType: 3, name: 'Object Type Info', objectType: ai.objectType, objectTypeName: OBJECT_TYPE_NAMES[ai.objectType & 0xfff] ?? null };
      case 'ObjectValueInfo':
        return { aiType: 4, name: 'Object Value Info', realObjectLength: ai.realObjectLength, offset: ai.offset, object: toHex(ai.object) };
      case 'Unknown':
        return { aiType: ai.aiType, aiValue: toHex(ai.value) };
    }
  });
  if (e.comment !== undefined) j.debuggingComment = e.comment;
  return j;
}

function objectJson(t: number, v: unknown): { [k: string]: JsonValue } {
  const head = { object: OBJECT_TYPE_NAMES[t], type: t };
  switch (t) {
    case ObjectType.MessageRoutingInformation:
      return { ...head, ...mriJson(v as Mri) };
    case ObjectType.NatTraversal: {
      const n = v as import('./types').NatTraversal;
      return {
        ...head,
        originalMessageRoutingInformation: mriJson(n.originalMri),
        translatedObjects: n.translatedObjects.map((x) => ({ ab: x >>> 14, type: x & 0xfff, name: OBJECT_TYPE_NAMES[x & 0xfff] ?? null })),
        natCount: n.natInformation.length,
        natInformation: n.natInformation.map((d) => toHex(d)),
      };
    }
    case ObjectType.NetworkLayerInformation: {
      const n = v as import('./types').NetworkLayerInformation;
      return { ...head, piLength: n.peerIdentity.length, ipTtl: n.ipTtl, ipVer: n.ipVersion, routingStateValidityTime: n.routingStateValidityTime, peerIdentity: toHex(n.peerIdentity), interfaceAddress: n.interfaceAddress };
    }
    case ObjectType.StackProposal: {
      const s = v as import('./types').StackProposal;
      return { ...head, profCount: s.profiles.length, profiles: s.profiles.map((p) => [...p]) };
    }
    case ObjectType.StackConfigurationData: {
      const s = v as import('./types').StackConfigurationData;
      return { ...head, mpoCount: s.maProtocolOptions.length, maHoldTime: s.maHoldTime, maProtocolOptions: s.maProtocolOptions.map(mpoJson) };
    }
    case ObjectType.Error:
      return { ...head, ...errorJson(v as GistErrorObject) };
    case ObjectType.HelloId:
      return { ...head, helloId: v as number };
    case ObjectType.SessionId:
      return { ...head, sessionId: toHex(v as Uint8Array) };
    case ObjectType.QueryCookie:
    case ObjectType.ResponderCookie:
      return { ...head, cookie: toHex(v as Uint8Array) };
    default:
      return { ...head, nslpData: toHex(v as Uint8Array) };
  }
}

export function gistMessageToJson(msg: GistMessage): { [k: string]: JsonValue } {
  const h = msg.header;
  const objects: JsonValue[] = [];
  const unknown = msg.unknownObjects;
  let ui = 0;
  let known = 0;
  const pushUnknown = (): void => {
    const u = unknown[ui++];
    objects.push({ object: 'unknown', type: u.objectType, ab: u.ab, treatment: u.ab === 1 ? 'ignore' : 'forward', value: toHex(u.value) });
  };
  for (const t of MESSAGE_RULES[msg.type].order) {
    const v = (msg as unknown as Record<string, unknown>)[FIELD_OF[t]];
    if (v === undefined) continue;
    while (ui < unknown.length && unknown[ui].position <= known) pushUnknown();
    objects.push(objectJson(t, v));
    known++;
  }
  while (ui < unknown.length) pushUnknown();
  return {
    messageType: msg.type,
    commonHeader: {
      version: h.version,
      gistHops: h.gistHopCount,
      messageLength: (messageEncodingLength(msg) - 8) / 4,
      nslpId: h.nslpId,
      cFlag: h.cFlag,
      type: MessageType[msg.type],
      sFlag: h.sFlag,
      rFlag: h.rFlag,
      eFlag: h.eFlag,
    },
    objects,
  };
}
