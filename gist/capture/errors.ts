/**
 * Typed errors of the capture layer (pcap/pcapng files, link layers, IP,
 * UDP, TCP). Every reader in `gist/capture/` returns these in a `Result` and
 * never throws on bad input; `offset` is the byte offset of the problem,
 * counted from the start of the buffer the caller passed (the file for the
 * file readers, the frame for the packet decoders).
 */
import { NatfwError } from '../../common/errors';

export type CaptureErrorCode =
  | 'CAPTURE_NOT_A_CAPTURE'
  | 'CAPTURE_TRUNCATED'
  | 'CAPTURE_BAD_BLOCK'
  | 'CAPTURE_BAD_RECORD'
  | 'CAPTURE_UNKNOWN_INTERFACE'
  | 'LINK_TRUNCATED'
  | 'LINK_UNSUPPORTED'
  | 'IP_TRUNCATED'
  | 'IP_BAD_VERSION'
  | 'IP_BAD_HEADER_LENGTH'
  | 'IP_BAD_TOTAL_LENGTH'
  | 'IP_BAD_OPTION'
  | 'IP_TOO_MANY_EXTENSION_HEADERS'
  | 'UDP_TRUNCATED'
  | 'UDP_BAD_LENGTH'
  | 'TCP_TRUNCATED'
  | 'TCP_BAD_DATA_OFFSET';

export class CaptureError extends NatfwError {
  constructor(
    override readonly code: CaptureErrorCode,
    readonly offset: number,
    message: string,
  ) {
    super(code, message);
  }

  /** The same error with its offset moved by `by` (a frame decoded inside a file, a header inside a frame). */
  shifted(by: number): CaptureError {
    return new CaptureError(this.code, this.offset + by, this.message);
  }
}
