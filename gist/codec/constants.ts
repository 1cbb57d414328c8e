/**
 * GIST numbers from the IANA "General Internet Signalling Transport (GIST)
 * Parameters" registry (reference/iana-gist-parameters.txt) and RFC 5971.
 */

/** RFC 5971 s5.3.1: every D-mode (UDP) payload starts with this 32-bit magic number; not part of the message. */
export const GIST_MAGIC = 0x4e04bda5;
/** RFC 5971 s9: the well-known UDP port of GIST (Q-mode destination). */
export const GIST_PORT = 270;
/** RFC 5971 A.1: the only GIST version defined. */
export const GIST_VERSION = 1;
/** RFC 5971 A.1: the common header is two 32-bit words. */
export const COMMON_HEADER_LENGTH = 8;
/** Message Length is 16 bits of 32-bit words, so no message exceeds this many bytes (header included). */
export const MAX_MESSAGE_BYTES = COMMON_HEADER_LENGTH + 0xffff * 4;
/** TLV Length is 12 bits of 32-bit words (A.2). */
export const MAX_OBJECT_VALUE_BYTES = 0xfff * 4;

/** IANA "GIST Message Types". */
export const MessageType = {
  Query: 0,
  Response: 1,
  Confirm: 2,
  Data: 3,
  Error: 4,
  'MA-Hello': 5,
} as const;
export type GistMessageTypeName = keyof typeof MessageType;
export const MESSAGE_TYPE_NAMES: readonly GistMessageTypeName[] = ['Query', 'Response', 'Confirm', 'Data', 'Error', 'MA-Hello'];

/** IANA "GIST Object Types" (12-bit Type of the TLV header, A.2). */
export const ObjectType = {
  MessageRoutingInformation: 0,
  SessionId: 1,
  NetworkLayerInformation: 2,
  StackProposal: 3,
  StackConfigurationData: 4,
  QueryCookie: 5,
  ResponderCookie: 6,
  NatTraversal: 7,
  NslpData: 8,
  Error: 9,
  HelloId: 10,
} as const;
export type ObjectTypeNumber = (typeof ObjectType)[keyof typeof ObjectType];

/** RFC names of the object types, by number (for errors and JSON). */
export const OBJECT_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'Message-Routing-Information',
  1: 'Session-Identifier',
  2: 'Network-Layer-Information',
  3: 'Stack-Proposal',
  4: 'Stack-Configuration-Data',
  5: 'Query-Cookie',
  6: 'Responder-Cookie',
  7: 'NAT-Traversal',
  8: 'NSLP-Data',
  9: 'GIST-Error-Data',
  10: 'Hello-ID',
};

/** RFC 5971 A.2.1: the A/B extensibility flags of a TLV header. */
export const Extensibility = {
  /** AB=00: unknown -> reject the message (Object Type Error, subcode 1). */
  Mandatory: 0,
  /** AB=01: unknown -> delete the object, process the rest. */
  Ignore: 1,
  /** AB=10: unknown -> keep unchanged in forwarded messages, do not store. */
  Forward: 2,
  /** AB=11: reserved -> reject (Object Type Error, subcode 5). */
  Reserved: 3,
} as const;

/** IANA "GIST Message Routing Methods". */
export const Mrm = { PathCoupled: 0, LooseEnd: 1 } as const;

/** IANA "GIST MA-Protocol-IDs". */
export const MaProtocolId = {
  ForwardsTcp: 1,
  ForwardsTls: 2,
  ForwardsSctp: 3,
  ForwardsDtls: 4,
} as const;

/** NSLPID 0: GIST messages not related to a signalling application (Error, MA-Hello; s5.1, s5.6). */
export const NSLPID_GIST = 0;

/** RFC 5971 A.4.3 error classes. */
export const ErrorClass = {
  Informational: 0,
  Success: 1,
  ProtocolError: 2,
  TransientFailure: 3,
  PermanentFailure: 4,
} as const;
export const ERROR_CLASS_NAMES: Readonly<Record<number, string>> = {
  0: 'Informational',
  1: 'Success',
  2: 'Protocol-Error',
  3: 'Transient-Failure',
  4: 'Permanent-Failure',
};

/** RFC 5971 A.4.4 error codes (IANA "GIST Error Codes"). */
export const ErrorCode = {
  CommonHeaderParseError: 1,
  HopLimitExceeded: 2,
  IncorrectEncapsulation: 3,
  IncorrectlyDeliveredMessage: 4,
  NoRoutingState: 5,
  UnknownNslpid: 6,
  EndpointFound: 7,
  MessageTooLarge: 8,
  ObjectTypeError: 9,
  ObjectValueError: 10,
  InvalidIpLayerTtl: 11,
  MriValidationFailure: 12,
} as const;

/** The class each code is sent with (A.4.4; the IANA registry agrees). */
export const ERROR_CODE_INFO: Readonly<Record<number, { readonly name: string; readonly errorClass: number }>> = {
  1: { name: 'Common Header Parse Error', errorClass: ErrorClass.ProtocolError },
  2: { name: 'Hop Limit Exceeded', errorClass: ErrorClass.PermanentFailure },
  3: { name: 'Incorrect Encapsulation', errorClass: ErrorClass.ProtocolError },
  4: { name: 'Incorrectly Delivered Message', errorClass: ErrorClass.ProtocolError },
  5: { name: 'No Routing State', errorClass: ErrorClass.ProtocolError },
  6: { name: 'Unknown NSLPID', errorClass: ErrorClass.PermanentFailure },
  7: { name: 'Endpoint Found', errorClass: ErrorClass.PermanentFailure },
  8: { name: 'Message Too Large', errorClass: ErrorClass.PermanentFailure },
  9: { name: 'Object Type Error', errorClass: ErrorClass.ProtocolError },
  10: { name: 'Object Value Error', errorClass: ErrorClass.ProtocolError },
  11: { name: 'Invalid IP-Layer TTL', errorClass: ErrorClass.PermanentFailure },
  12: { name: 'MRI Validation Failure', errorClass: ErrorClass.PermanentFailure },
};

/** A.4.4.1 subcodes of Common Header Parse Error. */
export const CommonHeaderParseSubcode = {
  UnknownVersion: 0,
  UnknownType: 1,
  InvalidRFlag: 2,
  IncorrectMessageLength: 3,
  InvalidEFlag: 4,
  InvalidCFlag: 5,
} as const;

/** A.4.4.9 subcodes of Object Type Error. */
export const ObjectTypeSubcode = {
  DuplicateObject: 0,
  UnrecognisedObject: 1,
  MissingObject: 2,
  InvalidObjectType: 3,
  UntranslatedObject: 4,
  InvalidExtensibilityFlags: 5,
} as const;

/** A.4.4.10 subcodes of Object Value Error. */
export const ObjectValueSubcode = {
  IncorrectLength: 0,
  ValueNotSupported: 1,
  InvalidFlagFieldCombination: 2,
  EmptyList: 3,
  InvalidCookie: 4,
  StackProposalScdMismatch: 5,
} as const;

/** A.4.4.12 subcodes of MRI Validation Failure. */
export const MriValidationSubcode = {
  MriTooWild: 0,
  IpVersionMismatch: 1,
  IngressFilterFailure: 2,
} as const;

/** Subcode names by error code (IANA "Error Code N Subcodes"). */
export const ERROR_SUBCODE_NAMES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  1: {
    0: 'Unknown Version',
    1: 'Unknown Type',
    2: 'Invalid R-flag',
    3: 'Incorrect Message Length',
    4: 'Invalid E-flag',
    5: 'Invalid C-flag',
  },
  9: {
    0: 'Duplicate Object',
    1: 'Unrecognised Object',
    2: 'Missing Object',
    3: 'Invalid Object Type',
    4: 'Untranslated Object',
    5: 'Invalid Extensibility Flags',
  },
  10: {
    0: 'Incorrect Length',
    1: 'Value Not Supported',
    2: 'Invalid Flag-Field Combination',
    3: 'Empty List',
    4: 'Invalid Cookie',
    5: 'Stack-Proposal - Stack-Configuration-Data Mismatch',
  },
  12: { 0: 'MRI Too Wild', 1: 'IP Version Mismatch', 2: 'Ingress Filter Failure' },
};

/** A.4.2 / IANA "Additional Information Types". */
export const AiType = {
  MessageLengthInfo: 1,
  MtuInfo: 2,
  ObjectTypeInfo: 3,
  ObjectValueInfo: 4,
} as const;
