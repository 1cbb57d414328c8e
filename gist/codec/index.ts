/**
 * The GIST wire codec, RFC 5971 Appendix A: common header, every object,
 * the six messages with the s5.1 rules, D-mode datagrams with the magic
 * number (s5.3.1) and C-mode stream framing (s5.4). Decoders never throw:
 * they return a Result whose error carries the A.4 class/code/subcode/AI.
 */
import { UsageError } from '../../common/errors';
import { err, type Result } from '../../common/result';
import { COMMON_HEADER_LENGTH, GIST_MAGIC } from './constants';
import { GistDecodeError } from './errors';
import { decodeMessageAt, encodeMessageInto, planEncoding } from './message';
import { allocOutput } from './slab';
import type { Encapsulation, GistMessage } from './types';

export * from './constants';
export * from './types';
export { GistDecodeError, ObjectFail, describeGistError, gistErrorCodeName } from './errors';
export { GistStreamDecoder, type GistStreamDecoderOptions } from './stream';
export { buildErrorMessage, gistErrorFor, ERROR_MESSAGE_HOP_COUNT, type ErrorReplyContext } from './build-error';
export { gistMessageToJson, type JsonValue } from './json';
export { messageEncodingLength as gistMessageEncodingLength } from './message';
export { formatIpv4, formatIpv6, writeIpv4, writeIpv6 } from './addresses';
export { type ObjectCodec, encodeObject, decodeObject, objectEncodingLength } from './objects/codec';
export { OBJECT_REGISTRY, objectEntry } from './objects/registry';
export { mriCodec, decodeMriValue, encodeMriValue, mriValueLength } from './objects/mri';
export { sessionIdCodec } from './objects/session-id';
export { nliCodec } from './objects/nli';
export { stackProposalCodec } from './objects/stack-proposal';
export { stackConfigurationDataCodec, forwardsTcpOptions, forwardsTcpPort } from './objects/stack-configuration-data';
export { queryCookieCodec, responderCookieCodec } from './objects/cookies';
export { helloIdCodec } from './objects/hello-id';
export { natTraversalCodec } from './objects/nat-traversal';
export { nslpDataCodec } from './objects/nslp-data';
export { errorObjectCodec } from './objects/error-object';

export interface DecodeOptions {
  /** How the bytes arrived, to apply the s5.5 / s5.1 encapsulation rules; unset = check none of them. */
  readonly encapsulation?: Encapsulation;
}

/** A GIST message (common header + objects, no magic number) filling `bytes` exactly. */
export function decodeGistMessage(bytes: Uint8Array, opts: DecodeOptions = {}): Result<GistMessage, GistDecodeError> {
  return decodeMessageAt(bytes, 0, bytes.length, opts.encapsulation);
}

export interface DatagramOptions {
  /** true: arrived Q-mode encapsulated (Router Alert); false: normal D-mode; unset: not known. */
  readonly qMode?: boolean;
  /**
   * Query-Cookie, Responder-Cookie and the NLI's Peer-Identity as views into
   * `bytes` instead of copies (decodeMessageAt): only for a caller that does
   * not keep them beyond handling the message (gist/core copies what it keeps).
   */
  readonly views?: boolean;
}

/**
 * A D-mode UDP payload: the magic number 0x4e04bda5 then one message
 * (s5.3.1). Without the magic number the datagram MUST be silently dropped:
 * the error has code GIST_NO_MAGIC and reply = false. Offsets count the magic.
 */
export function decodeGistDatagram(bytes: Uint8Array, opts: DatagramOptions = {}): Result<GistMessage, GistDecodeError> {
  if (bytes.length < 4 || ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0 !== GIST_MAGIC) {
    return err(
      new GistDecodeError({ errorCode: 0, errorClass: 0, offset: 0, detail: 'no GIST magic number 0x4e04bda5: drop silently (RFC 5971 s5.3.1)', reply: false, code: 'GIST_NO_MAGIC' }),
    );
  }
  return decodeMessageAt(bytes, 4, bytes.length, opts.qMode === undefined ? 'datagram' : opts.qMode ? 'Q' : 'D', opts.views === true);
}

/** The message's bytes (common header with the computed Message Length, then the objects). Throws UsageError on an invalid model. */
export function encodeGistMessage(msg: GistMessage): Uint8Array {
  const plan = planEncoding(msg);
  const b = allocOutput(plan.length);
  encodeMessageInto(plan, b, 0);
  return b;
}

/** A D-mode UDP payload: magic number + message (s5.3.1). */
export function encodeGistDatagram(msg: GistMessage): Uint8Array {
  const plan = planEncoding(msg);
  const b = allocOutput(4 + plan.length);
  b[0] = 0x4e;
  b[1] = 0x04;
  b[2] = 0xbd;
  b[3] = 0xa5;
  encodeMessageInto(plan, b, 4);
  return b;
}

/** Total length of the message that starts a C-mode stream buffer, or undefined if fewer than 8 bytes are there. */
export function gistFramedLength(bytes: Uint8Array, offset = 0): number | undefined {
  if (bytes.length - offset < COMMON_HEADER_LENGTH) return undefined;
  return COMMON_HEADER_LENGTH + ((bytes[offset + 2] << 8) | bytes[offset + 3]) * 4;
}

export { UsageError };

/**
 * Unknown objects a node forwarding this message must keep (A.2.1 AB=10
 * "Forward"); AB=01 "Ignore" objects are kept in `unknownObjects` only so
 * tools can show them, and must be dropped by a node that forwards.
 */
export function unknownObjectsToForward(msg: GistMessage): readonly import('./types').UnknownObject[] {
  return msg.unknownObjects.filter((u) => u.ab === 2);
}
