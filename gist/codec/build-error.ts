/**
 * Building the Error message a receiver sends back (RFC 5971 s5.6, A.4.1)
 * from a GistDecodeError, or from a message the core rejects after decoding.
 */
import { UsageError } from '../../common/errors';
import { ERROR_CODE_INFO, MessageType, NSLPID_GIST } from './constants';
import { GistDecodeError } from './errors';
import { messageEncodingLength } from './message';
import type { AdditionalInfo, Encapsulation, ErrorMessage, GistErrorObject, GistMessage, NetworkLayerInformation } from './types';

/** GIST hop count we put on Error messages (they go to the adjacent peer and are never forwarded). */
export const ERROR_MESSAGE_HOP_COUNT = 16;

export interface ErrorReplyContext {
  /** How the offending message arrived: sets the D and Q flags of the Error object (A.4.1). */
  readonly encapsulation?: Encapsulation;
  /** This node's NLI; an Error sent in D-mode MUST carry it (s5.1). */
  readonly nli?: NetworkLayerInformation;
  readonly gistHopCount?: number;
  /** S flag of the Error message (s5.3.1: set unless replying through a NAT). */
  readonly sFlag?: boolean;
  /** Optional debugging comment (A.4.1). */
  readonly comment?: string;
}

/**
 * The Error message answering `error`. Its NSLPID is 0 (s5.6); it echoes the
 * original common header, the Session ID and MRI when they decoded, the
 * NAT-Traversal object as first TLV (s7.2.3), and the Additional
 * Information the catalogue (A.4.4) demands. Throws UsageError when the
 * error must not be answered (`error.reply` false: no magic number, or not
 * even a common header).
 */
export function buildErrorMessage(error: GistDecodeError, ctx: ErrorReplyContext = {}): ErrorMessage {
  if (!error.reply || error.commonHeader === undefined) {
    throw new UsageError('GIST_NO_ERROR_REPLY', `${error.code}: the RFC says not to answer this (${error.message})`);
  }
  const enc = ctx.encapsulation;
  const obj: GistErrorObject = {
    errorClass: error.errorClass,
    errorCode: error.errorCode,
    errorSubcode: error.subcode ?? 0,
    dMode: enc !== undefined && enc !== 'C',
    qMode: enc === 'Q',
    commonHeader: error.commonHeader,
    sessionId: error.sessionId,
    mri: error.mri,
    additionalInfo: error.additionalInfo,
    comment: ctx.comment,
  };
  return {
    type: 'Error',
    header: {
      version: 1,
      gistHopCount: ctx.gistHopCount ?? ERROR_MESSAGE_HOP_COUNT,
      messageType: MessageType.Error,
      nslpId: NSLPID_GIST,
      cFlag: false,
      sFlag: ctx.sFlag ?? enc !== 'C',
      rFlag: false,
      eFlag: false,
    },
    unknownObjects: [],
    natTraversal: error.natTraversal,
    nli: ctx.nli,
    error: obj,
  };
}

/**
 * A GistDecodeError for a message that decoded but that the core rejects
 * (No Routing State, Incorrectly Delivered Message, MRI Validation Failure,
 * Invalid IP-Layer TTL, Endpoint Found, Unknown NSLPID, Message Too Large,
 * Invalid Cookie, ...), so that buildErrorMessage can answer it.
 */
export function gistErrorFor(
  original: GistMessage,
  errorCode: number,
  subcode?: number,
  additionalInfo: readonly AdditionalInfo[] = [],
  detail = ERROR_CODE_INFO[errorCode]?.name ?? `error code ${errorCode}`,
): GistDecodeError {
  const e = new GistDecodeError({ errorCode, subcode, offset: 0, detail, additionalInfo });
  e.commonHeader = { ...original.header, messageLength: (messageEncodingLength(original) - 8) / 4 };
  if ('sessionId' in original && original.sessionId !== undefined) e.sessionId = original.sessionId;
  if ('mri' in original && original.mri !== undefined) e.mri = original.mri;
  if ('natTraversal' in original && original.natTraversal !== undefined) e.natTraversal = original.natTraversal;
  return e;
}
