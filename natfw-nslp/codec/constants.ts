/**
 * Numbers of the NATFW NSLP (RFC 5973 s4, s7) as the IANA NSLP registry
 * (iana-nslp-parameters) assigns them.
 */

/** IANA NSLP identifier of the NATFW NSLP (RFC 5973 s7.5). */
export const NATFW_NSLPID = 33;
/** Router Alert Option values of the NATFW NSLP (RFC 5973 s7.5): IPv4 65, IPv6 68. */
export const NATFW_RAO_IPV4 = 65;
export const NATFW_RAO_IPV6 = 68;

/** RFC 5973 s4.1 / IANA "NATFW NSLP Message Types". The drafts' REA/EXT message is EXTERNAL (2). */
export const NatfwMessageType = {
  CREATE: 0x1,
  EXTERNAL: 0x2,
  RESPONSE: 0x3,
  NOTIFY: 0x4,
} as const;
export type NatfwMessageTypeName = keyof typeof NatfwMessageType;

/** IANA "NSLP Message Objects" (shared by every NSLP; RFC 5973 s7.3 defers to it). */
export const NslpObjectType = {
  NATFW_LT: 0x00c,
  NATFW_EXTERNAL_IP: 0x00d,
  NATFW_EXTERNAL_BINDING: 0x00e,
  NATFW_EFI: 0x00f,
  NATFW_INFO: 0x010,
  NATFW_NONCE: 0x011,
  NATFW_MSN: 0x012,
  NATFW_DTINFO: 0x013,
  NATFW_ICMP_TYPES: 0x014,
  /** RFC 5981 s8: SESSION_AUTH_OBJECT. */
  SESSION_AUTH: 0x016,
} as const;
export type NslpObjectTypeName = keyof typeof NslpObjectType;

/** Names of every registered NSLP object type (QoS NSLP ones included), for display. */
export const NSLP_OBJECT_NAMES: Readonly<Record<number, string>> = {
  0x001: 'RII',
  0x002: 'RSN',
  0x003: 'REFRESH-PERIOD',
  0x004: 'BOUND-SESSION-ID',
  0x005: 'PACKET-CLASSIFIER',
  0x006: 'INFO-SPEC',
  0x007: 'SESSION-ID-LIST',
  0x008: 'RSN-LIST',
  0x009: 'MSG-ID',
  0x00a: 'BOUND-MSG-ID',
  0x00b: 'QSPEC',
  0x00c: 'NATFW_LT',
  0x00d: 'NATFW_EXTERNAL_IP',
  0x00e: 'NATFW_EXTERNAL_BINDING',
  0x00f: 'NATFW_EFI',
  0x010: 'NATFW_INFO',
  0x011: 'NATFW_NONCE',
  0x012: 'NATFW_MSN',
  0x013: 'NATFW_DTINFO',
  0x014: 'NATFW_ICMP_TYPES',
  0x015: 'NODE_CAPABILITY_TUNNEL',
  0x016: 'SESSION_AUTH_OBJECT',
};

/** RFC 5973 s4.2 extensibility flags (the two leading bits of the object header). */
export const AbFlags = { MANDATORY: 0, OPTIONAL: 1, FORWARD: 2, RESERVED: 3 } as const;

/** RFC 5973 s4.2.4 rule action values of NATFW_EFI. */
export const RuleAction = { allow: 0x0001, deny: 0x0002 } as const;

/** RFC 5973 s4.2.5 / IANA "NSLP Error Classes" as the NATFW NSLP uses them. */
export const ResponseClass = {
  RESERVED: 0,
  INFORMATIONAL: 1,
  SUCCESS: 2,
  PROTOCOL_ERROR: 3,
  TRANSIENT_FAILURE: 4,
  PERMANENT_FAILURE: 5,
  SIGNALING_SESSION_FAILURE: 7,
} as const;

export const RESPONSE_CLASS_NAMES: Readonly<Record<number, string>> = {
  0: 'Reserved',
  1: 'Informational',
  2: 'Success',
  3: 'Protocol error',
  4: 'Transient failure',
  5: 'Permanent failure',
  7: 'Signaling session failure',
};

/** One RFC 5973 s4.2.5 response code. Codes are only meaningful as the pair (class, code). */
export interface ResponseCodeInfo {
  readonly responseClass: number;
  readonly responseCode: number;
  /** Stable identifier, e.g. 'PROTOCOL_ERROR_UNKNOWN_OBJECT_PRESENT'. */
  readonly id: string;
  /** The RFC's text. */
  readonly description: string;
}

const rc = (responseClass: number, responseCode: number, id: string, description: string): ResponseCodeInfo => ({
  responseClass,
  responseCode,
  id,
  description,
});

/**
 * Every response of RFC 5973 s4.2.5 (and the IANA "NATFW Response Codes"),
 * named by its (class, code) pair: s3.7.2 cites "Requested rule action not
 * applicable (0x06)" under class 3, where 3/0x06 is "Unknown object present";
 * the rule-action code is 7/0x06 (rfc-traps.md).
 */
export const NatfwResponse = {
  // Informational (1), NOTIFY only
  ROUTE_CHANGE: rc(1, 0x01, 'INFORMATIONAL_ROUTE_CHANGE', 'Route change: possible route change on the outbound path.'),
  REAUTHENTICATION_REQUIRED: rc(1, 0x02, 'INFORMATIONAL_REAUTHENTICATION_REQUIRED', 'Re-authentication required.'),
  NODE_GOING_DOWN: rc(1, 0x03, 'INFORMATIONAL_NODE_GOING_DOWN', 'NATFW node is going down soon.'),
  SESSION_LIFETIME_EXPIRED: rc(1, 0x04, 'INFORMATIONAL_SESSION_LIFETIME_EXPIRED', 'NATFW signaling session lifetime expired.'),
  SESSION_TERMINATED: rc(1, 0x05, 'INFORMATIONAL_SESSION_TERMINATED', 'NATFW signaling session terminated.'),
  // Success (2)
  SUCCESS: rc(2, 0x01, 'SUCCESS_ALL_PROCESSED', 'All successfully processed.'),
  // Protocol error (3)
  ILLEGAL_MESSAGE_TYPE: rc(3, 0x01, 'PROTOCOL_ERROR_ILLEGAL_MESSAGE_TYPE', 'Illegal message type: the type given in the Message Type field of the NSLP header is unknown.'),
  WRONG_MESSAGE_LENGTH: rc(3, 0x02, 'PROTOCOL_ERROR_WRONG_MESSAGE_LENGTH', 'Wrong message length: the length given for the message in the NSLP header does not match the length of the message data.'),
  BAD_FLAGS_VALUE: rc(3, 0x03, 'PROTOCOL_ERROR_BAD_FLAGS_VALUE', 'Bad flags value: an undefined flag or combination of flags was set in the NSLP header.'),
  MANDATORY_OBJECT_MISSING: rc(3, 0x04, 'PROTOCOL_ERROR_MANDATORY_OBJECT_MISSING', 'Mandatory object missing: an object required in a message of this type was missing.'),
  ILLEGAL_OBJECT_PRESENT: rc(3, 0x05, 'PROTOCOL_ERROR_ILLEGAL_OBJECT_PRESENT', 'Illegal object present: an object was present that must not be used in a message of this type.'),
  UNKNOWN_OBJECT_PRESENT: rc(3, 0x06, 'PROTOCOL_ERROR_UNKNOWN_OBJECT_PRESENT', 'Unknown object present: an object of an unknown type was present in the message.'),
  WRONG_OBJECT_LENGTH: rc(3, 0x07, 'PROTOCOL_ERROR_WRONG_OBJECT_LENGTH', 'Wrong object length: the length given for the object in the object header did not match the length of the object data present.'),
  UNKNOWN_OBJECT_FIELD_VALUE: rc(3, 0x08, 'PROTOCOL_ERROR_UNKNOWN_OBJECT_FIELD_VALUE', 'Unknown object field value: a field in an object had an unknown value.'),
  INVALID_FLAG_FIELD_COMBINATION: rc(3, 0x09, 'PROTOCOL_ERROR_INVALID_FLAG_FIELD_COMBINATION', 'Invalid Flag-Field combination: an object contains an invalid combination of flags and/or fields.'),
  DUPLICATE_OBJECT_PRESENT: rc(3, 0x0a, 'PROTOCOL_ERROR_DUPLICATE_OBJECT_PRESENT', 'Duplicate object present.'),
  EXTERNAL_ON_EXTERNAL_SIDE: rc(3, 0x0b, 'PROTOCOL_ERROR_EXTERNAL_ON_EXTERNAL_SIDE', 'Received EXTERNAL request message on external side.'),
  // Transient failure (4)
  RESOURCES_TEMPORARILY_UNAVAILABLE: rc(4, 0x01, 'TRANSIENT_FAILURE_RESOURCES_TEMPORARILY_UNAVAILABLE', 'Requested resources temporarily not available.'),
  // Permanent failure (5)
  AUTHENTICATION_FAILED: rc(5, 0x01, 'PERMANENT_FAILURE_AUTHENTICATION_FAILED', 'Authentication failed.'),
  AUTHORIZATION_FAILED: rc(5, 0x02, 'PERMANENT_FAILURE_AUTHORIZATION_FAILED', 'Authorization failed.'),
  INTERNAL_ERROR: rc(5, 0x04, 'PERMANENT_FAILURE_INTERNAL_ERROR', 'Internal or system error.'),
  NO_EDGE_DEVICE: rc(5, 0x06, 'PERMANENT_FAILURE_NO_EDGE_DEVICE', 'No edge-device here.'),
  DID_NOT_REACH_NR: rc(5, 0x07, 'PERMANENT_FAILURE_DID_NOT_REACH_NR', 'Did not reach the NR.'),
  // Signaling session failure (7)
  SESSION_TERMINATED_ASYNC: rc(7, 0x01, 'SESSION_FAILURE_TERMINATED_ASYNCHRONOUSLY', 'Session terminated asynchronously.'),
  LIFETIME_TOO_BIG: rc(7, 0x02, 'SESSION_FAILURE_LIFETIME_TOO_BIG', 'Requested lifetime is too big.'),
  NO_RESERVATION_FOUND: rc(7, 0x03, 'SESSION_FAILURE_NO_RESERVATION_FOUND', 'No reservation found matching the MRI of the CREATE request.'),
  POLICY_CONFLICT: rc(7, 0x04, 'SESSION_FAILURE_POLICY_CONFLICT', 'Requested policy rule denied due to policy conflict.'),
  UNKNOWN_RULE_ACTION: rc(7, 0x05, 'SESSION_FAILURE_UNKNOWN_RULE_ACTION', 'Unknown policy rule action.'),
  RULE_ACTION_NOT_APPLICABLE: rc(7, 0x06, 'SESSION_FAILURE_RULE_ACTION_NOT_APPLICABLE', 'Requested rule action not applicable.'),
  DTINFO_REQUIRED: rc(7, 0x07, 'SESSION_FAILURE_DTINFO_REQUIRED', 'NATFW_DTINFO object is required.'),
  SUB_PORTS_NOT_PERMITTED: rc(7, 0x08, 'SESSION_FAILURE_SUB_PORTS_NOT_PERMITTED', 'Requested value in sub_ports field in NATFW_EFI not permitted.'),
  PROTOCOL_NOT_SUPPORTED: rc(7, 0x09, 'SESSION_FAILURE_PROTOCOL_NOT_SUPPORTED', 'Requested IP protocol not supported.'),
  PLAIN_IP_NOT_PERMITTED: rc(7, 0x0a, 'SESSION_FAILURE_PLAIN_IP_NOT_PERMITTED', 'Plain IP policy rules not permitted -- need transport layer information.'),
  ICMP_TYPE_NOT_PERMITTED: rc(7, 0x0b, 'SESSION_FAILURE_ICMP_TYPE_NOT_PERMITTED', 'ICMP type value not permitted.'),
  SOURCE_RANGE_TOO_LARGE: rc(7, 0x0c, 'SESSION_FAILURE_SOURCE_RANGE_TOO_LARGE', 'Source IP address range is too large.'),
  DESTINATION_RANGE_TOO_LARGE: rc(7, 0x0d, 'SESSION_FAILURE_DESTINATION_RANGE_TOO_LARGE', 'Destination IP address range is too large.'),
  SOURCE_PORT_RANGE_TOO_LARGE: rc(7, 0x0e, 'SESSION_FAILURE_SOURCE_PORT_RANGE_TOO_LARGE', 'Source L4-port range is too large.'),
  DESTINATION_PORT_RANGE_TOO_LARGE: rc(7, 0x0f, 'SESSION_FAILURE_DESTINATION_PORT_RANGE_TOO_LARGE', 'Destination L4-port range is too large.'),
  LIFETIME_TOO_SMALL: rc(7, 0x10, 'SESSION_FAILURE_LIFETIME_TOO_SMALL', 'Requested lifetime is too small.'),
  MODIFIED_LIFETIME_TOO_BIG: rc(7, 0x11, 'SESSION_FAILURE_MODIFIED_LIFETIME_TOO_BIG', 'Modified lifetime is too big.'),
  MODIFIED_LIFETIME_TOO_SMALL: rc(7, 0x12, 'SESSION_FAILURE_MODIFIED_LIFETIME_TOO_SMALL', 'Modified lifetime is too small.'),
} as const;

export type NatfwResponseName = keyof typeof NatfwResponse;

/** Every (class, code) pair of RFC 5973 s4.2.5. */
export const RESPONSE_CODES: readonly ResponseCodeInfo[] = Object.values(NatfwResponse);

const byPair = new Map<number, ResponseCodeInfo>(RESPONSE_CODES.map((r) => [(r.responseClass << 8) | r.responseCode, r]));

/** The response named by the pair (class, code), or undefined if RFC 5973 defines none. */
export function lookupResponse(responseClass: number, responseCode: number): ResponseCodeInfo | undefined {
  return byPair.get(((responseClass & 0xf) << 8) | (responseCode & 0xff));
}
