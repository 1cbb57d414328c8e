/**
 * Typed decode errors carrying exactly what RFC 5971 A.4 says the receiver
 * answers: error class, code, subcode and Additional Information, plus what
 * the Error object must echo (original common header, Session ID and MRI if
 * they decoded, NAT-Traversal object; A.4.1, s7.2.3).
 */
import { NatfwError } from '../../common/errors';
import type { Mri, SessionId } from '../types';
import {
  CommonHeaderParseSubcode as CH,
  ERROR_CLASS_NAMES,
  ERROR_CODE_INFO,
  ERROR_SUBCODE_NAMES,
  ErrorCode,
  OBJECT_TYPE_NAMES,
  ObjectTypeSubcode as OT,
  ObjectValueSubcode as OV,
} from './constants';
import type { AdditionalInfo, NatTraversal, OriginalCommonHeader } from './types';

/** Stable machine codes, by (error code, subcode). */
const CODE_NAMES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  [ErrorCode.CommonHeaderParseError]: {
    [CH.UnknownVersion]: 'GIST_UNKNOWN_VERSION',
    [CH.UnknownType]: 'GIST_UNKNOWN_TYPE',
    [CH.InvalidRFlag]: 'GIST_INVALID_R_FLAG',
    [CH.IncorrectMessageLength]: 'GIST_INCORRECT_MSG_LENGTH',
    [CH.InvalidEFlag]: 'GIST_INVALID_E_FLAG',
    [CH.InvalidCFlag]: 'GIST_INVALID_C_FLAG',
  },
  [ErrorCode.ObjectTypeError]: {
    [OT.DuplicateObject]: 'GIST_DUPLICATE_OBJECT',
    [OT.UnrecognisedObject]: 'GIST_UNRECOGNISED_OBJECT',
    [OT.MissingObject]: 'GIST_MISSING_OBJECT',
    [OT.InvalidObjectType]: 'GIST_INVALID_OBJECT_TYPE',
    [OT.UntranslatedObject]: 'GIST_UNTRANSLATED_OBJECT',
    [OT.InvalidExtensibilityFlags]: 'GIST_INVALID_EXTENSIBILITY_FLAGS',
  },
  [ErrorCode.ObjectValueError]: {
    [OV.IncorrectLength]: 'GIST_INCORRECT_OBJECT_LENGTH',
    [OV.ValueNotSupported]: 'GIST_VALUE_NOT_SUPPORTED',
    [OV.InvalidFlagFieldCombination]: 'GIST_INVALID_FLAG_FIELD_COMBINATION',
    [OV.EmptyList]: 'GIST_EMPTY_LIST',
    [OV.InvalidCookie]: 'GIST_INVALID_COOKIE',
    [OV.StackProposalScdMismatch]: 'GIST_SP_SCD_MISMATCH',
  },
};
const PLAIN_CODE_NAMES: Readonly<Record<number, string>> = {
  [ErrorCode.HopLimitExceeded]: 'GIST_HOP_LIMIT_EXCEEDED',
  [ErrorCode.IncorrectEncapsulation]: 'GIST_INCORRECT_ENCAPSULATION',
  [ErrorCode.IncorrectlyDeliveredMessage]: 'GIST_INCORRECTLY_DELIVERED_MESSAGE',
  [ErrorCode.NoRoutingState]: 'GIST_NO_ROUTING_STATE',
  [ErrorCode.UnknownNslpid]: 'GIST_UNKNOWN_NSLPID',
  [ErrorCode.EndpointFound]: 'GIST_ENDPOINT_FOUND',
  [ErrorCode.MessageTooLarge]: 'GIST_MESSAGE_TOO_LARGE',
  [ErrorCode.InvalidIpLayerTtl]: 'GIST_INVALID_IP_LAYER_TTL',
  [ErrorCode.MriValidationFailure]: 'GIST_MRI_VALIDATION_FAILURE',
};

export function gistErrorCodeName(errorCode: number, subcode: number | undefined): string {
  return (subcode !== undefined ? CODE_NAMES[errorCode]?.[subcode] : undefined) ?? PLAIN_CODE_NAMES[errorCode] ?? `GIST_ERROR_${errorCode}_${subcode ?? 0}`;
}

/** "Object Type Error / Missing Object" style text for messages and the CLI. */
export function describeGistError(errorCode: number, subcode: number | undefined): string {
  const info = ERROR_CODE_INFO[errorCode];
  const name = info?.name ?? `error code ${errorCode}`;
  const sub = subcode !== undefined ? ERROR_SUBCODE_NAMES[errorCode]?.[subcode] : undefined;
  return sub ? `${name} / ${sub}` : subcode !== undefined && subcode !== 0 ? `${name} / subcode ${subcode}` : name;
}

export interface GistDecodeErrorInit {
  readonly errorCode: number;
  readonly subcode?: number;
  /** Overrides the class of the catalogue (only for codes outside A.4.4). */
  readonly errorClass?: number;
  readonly offset: number;
  readonly detail: string;
  readonly objectType?: number;
  readonly additionalInfo?: readonly AdditionalInfo[];
  readonly reply?: boolean;
  readonly code?: string;
}

/**
 * A message the decoder rejected. `offset` is the byte offset in the input
 * given to the decode function (magic number included for datagrams).
 * `reply` is false when the RFC says to drop silently (no magic number) or
 * nothing can be answered (not even a common header). Creating one does not
 * capture a stack trace: bad packets are cheap to reject.
 */
export class GistDecodeError extends NatfwError {
  readonly errorClass: number;
  readonly errorCode: number;
  readonly subcode?: number;
  readonly offset: number;
  readonly objectType?: number;
  readonly additionalInfo: readonly AdditionalInfo[];
  readonly reply: boolean;
  /** The original common header, when 8 bytes of one were there (the Error object echoes it). */
  commonHeader?: OriginalCommonHeader;
  /** Decoded before the failure: the Error object MUST echo them (A.4.1), except for Common Header Parse Errors. */
  sessionId?: SessionId;
  mri?: Mri;
  /** Decoded NAT-Traversal object: an Error reply carries it as its first TLV (s7.2.3). */
  natTraversal?: NatTraversal;

  constructor(init: GistDecodeErrorInit) {
    const code = init.code ?? gistErrorCodeName(init.errorCode, init.subcode);
    const what = describeGistError(init.errorCode, init.subcode);
    const objectName = init.objectType !== undefined ? ` (${OBJECT_TYPE_NAMES[init.objectType] ?? `object type ${init.objectType}`})` : '';
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(code, `${what}${objectName} at byte ${init.offset}: ${init.detail}`);
    Error.stackTraceLimit = limit;
    this.errorClass = init.errorClass ?? ERROR_CODE_INFO[init.errorCode]?.errorClass ?? 2;
    this.errorCode = init.errorCode;
    if (init.subcode !== undefined) this.subcode = init.subcode;
    this.offset = init.offset;
    if (init.objectType !== undefined) this.objectType = init.objectType;
    this.additionalInfo = init.additionalInfo ?? [];
    this.reply = init.reply ?? true;
  }

  /** e.g. "Protocol-Error" */
  get errorClassName(): string {
    return ERROR_CLASS_NAMES[this.errorClass] ?? `class ${this.errorClass}`;
  }
}

/**
 * An object value that failed to decode: returned (never thrown) by the
 * per-object decoders; the message decoder turns it into a GistDecodeError
 * with an Object Value Info field naming the object and the offset in it.
 */
export class ObjectFail {
  constructor(
    /** A.4.4.10 subcode (Object Value Error), unless errorCode says otherwise. */
    readonly subcode: number,
    /** Absolute byte offset in the buffer being decoded. */
    readonly at: number,
    readonly detail: string,
    readonly errorCode: number = ErrorCode.ObjectValueError,
  ) {}
}
