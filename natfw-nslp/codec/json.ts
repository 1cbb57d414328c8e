import { sessionAuthToJson } from '../auth/codec';
import { lookupResponse, RESPONSE_CLASS_NAMES } from './constants';
import { objectName, type NatfwMessage } from './message';

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** A JSON view with the RFC's names (for `natfw decode` and logs). */
export function natfwMessageToJson(msg: NatfwMessage): object {
  const objects: object[] = [];
  const m: NatfwMessage = msg;
  if ('lifetime' in m && m.lifetime !== undefined) objects.push({ type: 'NATFW_LT', lifetime: m.lifetime });
  if ('efi' in m && m.efi !== undefined) objects.push({ type: 'NATFW_EFI', ruleAction: m.efi.ruleAction, subPorts: m.efi.subPorts });
  if ('msn' in m && m.msn !== undefined) objects.push({ type: 'NATFW_MSN', msn: m.msn });
  if ('nonce' in m && m.nonce !== undefined) objects.push({ type: 'NATFW_NONCE', nonce: m.nonce });
  if ('dtinfo' in m && m.dtinfo !== undefined) objects.push({ type: 'NATFW_DTINFO', ...m.dtinfo });
  if ('icmpTypes' in m && m.icmpTypes !== undefined) objects.push({ type: 'NATFW_ICMP_TYPES', types: m.icmpTypes });
  if ('info' in m && m.info !== undefined) {
    const r = lookupResponse(m.info.responseClass, m.info.responseCode);
    objects.push({
      type: 'NATFW_INFO',
      responseClass: m.info.responseClass,
      className: RESPONSE_CLASS_NAMES[m.info.responseClass] ?? 'unassigned',
      responseCode: m.info.responseCode,
      ...(r !== undefined ? { name: r.id, description: r.description } : {}),
      objectType: m.info.objectType,
      ...(m.info.objectType !== 0 ? { objectTypeName: objectName(m.info.objectType) } : {}),
    });
  }
  if ('externalIp' in m && m.externalIp !== undefined) objects.push({ type: 'NATFW_EXTERNAL_IP', ...m.externalIp });
  if ('externalBinding' in m && m.externalBinding !== undefined) objects.push({ type: 'NATFW_EXTERNAL_BINDING', ...m.externalBinding });
  for (const sa of msg.sessionAuth) objects.push(sessionAuthToJson(sa));
  for (const u of msg.unknownObjects) objects.push({ type: objectName(u.type), objectType: u.type, ab: u.ab, value: hex(u.value) });
  return { nslp: 'NATFW', messageType: msg.type, P: msg.header.proxy, E: msg.header.edge, objects };
}
