/**
 * The GIST message model (RFC 5971 s5.1, Appendix A). MRI and Session ID use
 * the shared types of gist/types.ts. Reserved bits and padding are not part
 * of the model: they are written as zero and ignored on receipt (Appendix A).
 */
import type { IpVersion, Mri, SessionId } from '../types';
import type { GistMessageTypeName } from './constants';

export type { Mri, SessionId };

/** RFC 5971 A.1. Message Length is not stored: the encoder computes it from the objects. */
export interface GistCommonHeader {
  /** GIST version, 1 (A.1). */
  readonly version: number;
  /** GIST hops: how many more GIST-aware nodes may process the message. */
  readonly gistHopCount: number;
  /** IANA message type number; must agree with the message's `type`. */
  readonly messageType: number;
  readonly nslpId: number;
  /** C: context-free (Query, Q-mode Data). */
  readonly cFlag: boolean;
  /** S: the IP source address is the signalling source address. */
  readonly sFlag: boolean;
  /** R: a reply is requested. */
  readonly rFlag: boolean;
  /** E: explicitly routed (Data only). */
  readonly eFlag: boolean;
}

/** RFC 5971 A.3.3 Network-Layer-Information. */
export interface NetworkLayerInformation {
  /** Opaque Peer Identity (PI-Length bytes; the padding is not part of it). */
  readonly peerIdentity: Uint8Array;
  /** IP-TTL: initial or reported IP-layer TTL. */
  readonly ipTtl: number;
  readonly ipVersion: IpVersion;
  readonly interfaceAddress: string;
  /** Routing State Validity Time, milliseconds; 0 is reserved and rejected. */
  readonly routingStateValidityTime: number;
}

/** RFC 5971 A.3.4: each profile is a non-empty list of MA-Protocol-IDs (IANA "GIST MA-Protocol-IDs"). */
export interface StackProposal {
  readonly profiles: readonly (readonly number[])[];
}

/** RFC 5971 A.3.5 MA-protocol-options. */
export interface MaProtocolOptions {
  readonly maProtocolId: number;
  /** Which Stack-Proposal profile (1-based) this applies to; 0 = all profiles. */
  readonly profile: number;
  /** D flag: this protocol MUST NOT be used for a messaging association. */
  readonly doNotUse: boolean;
  /** Options Data, `Length` bytes (zero padding to the word boundary is not part of it). */
  readonly data: Uint8Array;
}

/** RFC 5971 A.3.5 Stack-Configuration-Data. */
export interface StackConfigurationData {
  /** MA-Hold-Time in milliseconds; 0 is reserved and rejected. */
  readonly maHoldTime: number;
  readonly maProtocolOptions: readonly MaProtocolOptions[];
}

/** RFC 5971 A.3.9 NAT-Traversal. */
export interface NatTraversal {
  /** The MRI as first sent, before any NAT translated it. */
  readonly originalMri: Mri;
  /** First 16 bits of the TLV header of each translated object: AB flags, 2 reserved bits, 12-bit type. */
  readonly translatedObjects: readonly number[];
  /** One opaque payload per NAT traversed (NAT-Count of them). */
  readonly natInformation: readonly Uint8Array[];
}

/** RFC 5971 A.4.2 Additional Information fields. */
export type AdditionalInfo =
  | { readonly kind: 'MessageLengthInfo'; /** words */ readonly calculatedLength: number }
  | { readonly kind: 'MtuInfo'; /** bytes */ readonly linkMtu: number }
  | { readonly kind: 'ObjectTypeInfo'; readonly objectType: number }
  | {
      readonly kind: 'ObjectValueInfo';
      /** Actual length of `object` in 32-bit words, TLV header included. */
      readonly realObjectLength: number;
      /** Byte in the object (TLV header = offset 0) where the error was found. */
      readonly offset: number;
      /** The invalid TLV object, header included (a whole number of words). */
      readonly object: Uint8Array;
    }
  | { readonly kind: 'Unknown'; readonly aiType: number; /** whole words */ readonly value: Uint8Array };

/** The common header of the message that caused an error, as embedded in a GIST-Error-Data object (A.4.1). */
export interface OriginalCommonHeader extends GistCommonHeader {
  /** Message Length of the original header, as it was (in words). */
  readonly messageLength: number;
}

/** RFC 5971 A.4.1 Error object (GIST-Error-Data). */
export interface GistErrorObject {
  readonly errorClass: number;
  readonly errorCode: number;
  readonly errorSubcode: number;
  /** D: the original message was received in D-mode. */
  readonly dMode: boolean;
  /** Q: the original message was received Q-mode encapsulated (needs D). */
  readonly qMode: boolean;
  readonly commonHeader: OriginalCommonHeader;
  /** S flag: present when the original Session ID could be decoded. */
  readonly sessionId?: SessionId;
  /** M flag: present when the original MRI could be decoded. */
  readonly mri?: Mri;
  readonly additionalInfo: readonly AdditionalInfo[];
  /** C flag: the debugging comment (UTF-8, without its terminating NUL). */
  readonly comment?: string;
}

/**
 * A TLV whose type this node does not know, kept raw (A.2.1). `ab` is 1
 * (Ignore: the core must drop it) or 2 (Forward: keep it in forwarded
 * messages); AB=00 and AB=11 reject the message instead. `position` = how
 * many known objects preceded it, so re-encoding puts it back in place.
 */
export interface UnknownObject {
  readonly ab: 1 | 2;
  readonly objectType: number;
  readonly value: Uint8Array;
  readonly position: number;
}

interface MessageBase {
  readonly header: GistCommonHeader;
  readonly unknownObjects: readonly UnknownObject[];
}

/** RFC 5971 s5.1 Query. */
export interface QueryMessage extends MessageBase {
  readonly type: 'Query';
  readonly natTraversal?: NatTraversal;
  readonly mri: Mri;
  readonly sessionId: SessionId;
  readonly nli: NetworkLayerInformation;
  readonly queryCookie: Uint8Array;
  /** Stack-Proposal and Stack-Configuration-Data come together or not at all. */
  readonly stackProposal?: StackProposal;
  readonly stackConfigurationData?: StackConfigurationData;
  readonly nslpData?: Uint8Array;
}

/** RFC 5971 s5.1 Response. */
export interface ResponseMessage extends MessageBase {
  readonly type: 'Response';
  readonly natTraversal?: NatTraversal;
  readonly mri: Mri;
  readonly sessionId: SessionId;
  readonly nli: NetworkLayerInformation;
  readonly queryCookie: Uint8Array;
  readonly responderCookie?: Uint8Array;
  /** Only with a Responder-Cookie; Stack-Proposal and Stack-Configuration-Data together. */
  readonly stackProposal?: StackProposal;
  readonly stackConfigurationData?: StackConfigurationData;
  readonly nslpData?: Uint8Array;
}

/** RFC 5971 s5.1 Confirm. */
export interface ConfirmMessage extends MessageBase {
  readonly type: 'Confirm';
  readonly mri: Mri;
  readonly sessionId: SessionId;
  readonly nli: NetworkLayerInformation;
  readonly responderCookie?: Uint8Array;
  /** Only with a Responder-Cookie. */
  readonly stackProposal?: StackProposal;
  /** Only with a Stack-Proposal (the abbreviated SCD of the first Confirm on a new MA). */
  readonly stackConfigurationData?: StackConfigurationData;
  readonly nslpData?: Uint8Array;
}

/** RFC 5971 s5.1 Data. */
export interface DataMessage extends MessageBase {
  readonly type: 'Data';
  readonly natTraversal?: NatTraversal;
  readonly mri: Mri;
  readonly sessionId: SessionId;
  /** Required in D-mode, forbidden in C-mode. */
  readonly nli?: NetworkLayerInformation;
  readonly nslpData: Uint8Array;
}

/** RFC 5971 s5.1 Error. */
export interface ErrorMessage extends MessageBase {
  readonly type: 'Error';
  readonly natTraversal?: NatTraversal;
  /** Required in D-mode. */
  readonly nli?: NetworkLayerInformation;
  readonly error: GistErrorObject;
}

/** RFC 5971 s5.1 MA-Hello. */
export interface MaHelloMessage extends MessageBase {
  readonly type: 'MA-Hello';
  readonly helloId: number;
}

export type GistMessage = QueryMessage | ResponseMessage | ConfirmMessage | DataMessage | ErrorMessage | MaHelloMessage;
export type { GistMessageTypeName };

/**
 * How the bytes arrived (s5.5): 'Q' = Q-mode encapsulated D-mode, 'D' = normal
 * D-mode, 'datagram' = D-mode not known whether Q-mode, 'C' = over a
 * messaging association. Undefined = unknown: only the rules that hold for
 * every encapsulation are checked.
 */
export type Encapsulation = 'Q' | 'D' | 'datagram' | 'C';
