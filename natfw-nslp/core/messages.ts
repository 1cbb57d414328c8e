/**
 * The semantic NATFW NSLP messages the protocol core works on (RFC 5973 s4.3).
 * The wire codec (natfw-nslp/codec) turns bytes into these through
 * `NatfwMessageCodec` (codec-adapter.ts), so the core never sees wire layout.
 */
import type { Result } from '../../common/result';
import type { NatfwRawObject, SessionAuthObject } from '../codec';

/** RFC 5973 s4.2.4 NATFW_EFI. */
export interface Efi {
  /** 1 = allow, 2 = deny; other values are kept so that the core can answer 7/0x05. */
  readonly ruleAction: number;
  /** Only 0 and 1 are legal (s4.2.4); others are kept so that the core answers 7/0x08. */
  readonly subPorts: number;
}

/** RFC 5973 s4.2.8 NATFW_DTINFO (IPv4 only on the wire). */
export interface DtInfo {
  /** I flag: protocol is meaningful. */
  readonly protocol?: number;
  /** P flag: ports present; 0 = wildcard. */
  readonly drPort?: number;
  readonly dsPort?: number;
  /** S flag. */
  readonly spi?: number;
  /** 0 = wildcard. */
  readonly senderPrefix: number;
  /** '0.0.0.0' when wildcarded. */
  readonly senderAddress: string;
}

/** RFC 5973 s4.2.2 NATFW_EXTERNAL_IP (port 0 = address only). */
export interface ExternalAddress {
  readonly address: string;
  readonly port: number;
}

/** RFC 5973 s4.2.3 NATFW_EXTERNAL_BINDING. */
export interface ExternalBinding {
  readonly port: number;
  readonly addresses: readonly string[];
}

/** RFC 5973 s4.2.5 NATFW_INFO. */
export interface InfoCode {
  readonly responseClass: number;
  readonly responseCode: number;
  /** Object type that caused the error, 0 when none. */
  readonly objectType: number;
}

/**
 * Objects the core does not interpret but must carry on (SESSION_AUTH, AB=10
 * unknown objects, s4.2). The codec adapter fills it; the core copies it into
 * forwarded requests unchanged.
 */
export interface Carried {
  readonly sessionAuth: readonly SessionAuthObject[];
  readonly forward: readonly NatfwRawObject[];
}

interface RequestCommon {
  /** NSLP header P flag (proxy mode, s3.7.6). */
  readonly proxy: boolean;
  /** NSLP header E flag (only meaningful with P, s4.1). */
  readonly edgeContinue: boolean;
  /** Seconds (s4.2.1). 0 = delete (s3.7.4). */
  readonly lifetime: number;
  readonly msn: number;
  readonly efi: Efi;
  readonly nonce?: number;
  readonly icmpTypes?: readonly number[];
  readonly carried?: Carried;
}

export interface CreateMsg extends RequestCommon {
  readonly type: 'CREATE';
}

export interface ExternalMsg extends RequestCommon {
  readonly type: 'EXTERNAL';
  /** Mandatory in EXTERNAL (s4.3.2); optional here so the core answers 7/0x07 itself when absent. */
  readonly dtinfo?: DtInfo;
  readonly externalBinding?: ExternalBinding;
}

export interface ResponseMsg {
  readonly type: 'RESPONSE';
  readonly info: InfoCode;
  readonly msn: number;
  readonly lifetime?: number;
  readonly externalIp?: ExternalAddress;
  readonly externalBinding?: ExternalBinding;
}

export interface NotifyMsg {
  readonly type: 'NOTIFY';
  readonly info: InfoCode;
}

export type NatfwMsg = CreateMsg | ExternalMsg | ResponseMsg | NotifyMsg;

/** What a decoder says must be answered (s4.2.5 class/code) when it refuses bytes. */
export interface NatfwDecodeFailure {
  readonly responseClass: number;
  readonly responseCode: number;
  readonly objectType?: number;
  readonly message: string;
  /** The message type from the header, when it could be read (RESPONSE/NOTIFY are never answered, s3.2.7). */
  readonly messageType?: number;
  /** The MSN, when it could be read, so that the error RESPONSE matches the request (s3.5). */
  readonly msn?: number;
}

/** The core's view of the wire codec. */
export interface NatfwMessageCodec {
  encode(msg: NatfwMsg): Uint8Array;
  decode(bytes: Uint8Array): Result<NatfwMsg, NatfwDecodeFailure>;
}
