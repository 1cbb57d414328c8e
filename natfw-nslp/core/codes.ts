/**
 * RFC 5973 s4.2.5 NATFW_INFO classes and response codes, named by the pair
 * (class, code) because codes repeat across classes (rfc-traps.md: s3.7.2
 * cites 3/0x06 where 7/0x06 is meant).
 */
import { NatfwError } from '../../common/errors';
import type { InfoCode } from './messages';

export const CLASS_INFORMATIONAL = 1;
export const CLASS_SUCCESS = 2;
export const CLASS_PROTOCOL_ERROR = 3;
export const CLASS_TRANSIENT = 4;
export const CLASS_PERMANENT = 5;
export const CLASS_SESSION_FAILURE = 7;

const table = {
  // Informational (NOTIFY only, s3.7.5)
  ROUTE_CHANGE: [1, 0x01, 'Route change: possible route change on the outbound path'],
  REAUTH_REQUIRED: [1, 0x02, 'Re-authentication required'],
  NODE_GOING_DOWN: [1, 0x03, 'NATFW node is going down soon'],
  LIFETIME_EXPIRED: [1, 0x04, 'NATFW signaling session lifetime expired'],
  SESSION_TERMINATED: [1, 0x05, 'NATFW signaling session terminated'],
  // Success
  SUCCESS: [2, 0x01, 'All successfully processed'],
  // Protocol error
  ILLEGAL_MESSAGE_TYPE: [3, 0x01, 'Illegal message type'],
  WRONG_MESSAGE_LENGTH: [3, 0x02, 'Wrong message length'],
  BAD_FLAGS: [3, 0x03, 'Bad flags value'],
  MANDATORY_OBJECT_MISSING: [3, 0x04, 'Mandatory object missing'],
  ILLEGAL_OBJECT_PRESENT: [3, 0x05, 'Illegal object present'],
  UNKNOWN_OBJECT_PRESENT: [3, 0x06, 'Unknown object present'],
  WRONG_OBJECT_LENGTH: [3, 0x07, 'Wrong object length'],
  UNKNOWN_FIELD_VALUE: [3, 0x08, 'Unknown object field value'],
  INVALID_FLAG_FIELD: [3, 0x09, 'Invalid Flag-Field combination'],
  DUPLICATE_OBJECT: [3, 0x0a, 'Duplicate object present'],
  EXTERNAL_ON_EXTERNAL_SIDE: [3, 0x0b, 'Received EXTERNAL request message on external side'],
  // Transient
  RESOURCES_UNAVAILABLE: [4, 0x01, 'Requested resources temporarily not available'],
  // Permanent
  AUTHENTICATION_FAILED: [5, 0x01, 'Authentication failed'],
  AUTHORIZATION_FAILED: [5, 0x02, 'Authorization failed'],
  INTERNAL_ERROR: [5, 0x04, 'Internal or system error'],
  NO_EDGE_DEVICE: [5, 0x06, 'No edge-device here'],
  DID_NOT_REACH_NR: [5, 0x07, 'Did not reach the NR'],
  // Signaling session failure
  TERMINATED_ASYNC: [7, 0x01, 'Session terminated asynchronously'],
  LIFETIME_TOO_BIG: [7, 0x02, 'Requested lifetime is too big'],
  NO_RESERVATION: [7, 0x03, 'No reservation found matching the MRI of the CREATE request'],
  POLICY_CONFLICT: [7, 0x04, 'Requested policy rule denied due to policy conflict'],
  UNKNOWN_RULE_ACTION: [7, 0x05, 'Unknown policy rule action'],
  RULE_ACTION_NOT_APPLICABLE: [7, 0x06, 'Requested rule action not applicable'],
  DTINFO_REQUIRED: [7, 0x07, 'NATFW_DTINFO object is required'],
  SUB_PORTS_NOT_PERMITTED: [7, 0x08, 'Requested value in sub_ports field in NATFW_EFI not permitted'],
  PROTOCOL_NOT_SUPPORTED: [7, 0x09, 'Requested IP protocol not supported'],
  PLAIN_IP_NOT_PERMITTED: [7, 0x0a, 'Plain IP policy rules not permitted -- need transport layer information'],
  ICMP_TYPE_NOT_PERMITTED: [7, 0x0b, 'ICMP type value not permitted'],
  SRC_RANGE_TOO_LARGE: [7, 0x0c, 'Source IP address range is too large'],
  DST_RANGE_TOO_LARGE: [7, 0x0d, 'Destination IP address range is too large'],
  SRC_PORT_RANGE_TOO_LARGE: [7, 0x0e, 'Source L4-port range is too large'],
  DST_PORT_RANGE_TOO_LARGE: [7, 0x0f, 'Destination L4-port range is too large'],
  LIFETIME_TOO_SMALL: [7, 0x10, 'Requested lifetime is too small'],
  MODIFIED_LIFETIME_TOO_BIG: [7, 0x11, 'Modified lifetime is too big'],
  MODIFIED_LIFETIME_TOO_SMALL: [7, 0x12, 'Modified lifetime is too small'],
} as const;

export type ResponseName = keyof typeof table;

export function info(name: ResponseName, objectType = 0): InfoCode {
  const [responseClass, responseCode] = table[name];
  return { responseClass, responseCode, objectType };
}

export function responseName(responseClass: number, responseCode: number): string {
  for (const [k, v] of Object.entries(table)) if (v[0] === responseClass && v[1] === responseCode) return k;
  return `CLASS_${responseClass}_CODE_${responseCode}`;
}

export function responseText(responseClass: number, responseCode: number): string {
  for (const v of Object.values(table)) if (v[0] === responseClass && v[1] === responseCode) return v[2];
  return `response class ${responseClass} code 0x${responseCode.toString(16)}`;
}

/** A request refused by some node on the path (or locally), carrying the RFC 5973 s4.2.5 class/code. */
export class NatfwResponseError extends NatfwError {
  readonly responseName: string;
  constructor(
    readonly responseClass: number,
    readonly responseCode: number,
    message?: string,
    /** Lifetime object of the error RESPONSE (s3.4: 0x11/0x12 carry the acceptable limit). */
    readonly lifetime?: number,
  ) {
    super(`NATFW_${responseName(responseClass, responseCode)}`, message ?? responseText(responseClass, responseCode));
    this.responseName = responseName(responseClass, responseCode);
  }
}
