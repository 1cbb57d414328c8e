import { NatfwError } from '../../common/errors';
import type { ResponseCodeInfo } from './constants';

/**
 * A NATFW NSLP message (or SESSION_AUTH object) that does not decode. It
 * carries the RESPONSE class and code that RFC 5973 s4 says the receiver
 * answers with, and the byte offset (from the start of the decoded buffer)
 * where the problem was found.
 */
export class NatfwDecodeError extends NatfwError {
  readonly responseClass: number;
  readonly responseCode: number;

  constructor(
    readonly response: ResponseCodeInfo,
    readonly offset: number,
    message: string,
    /** The NSLP object type concerned (NATFW_INFO's 'Object Type' field of the error RESPONSE), 0 if none. */
    readonly objectType = 0,
  ) {
    super(`NATFW_${response.id}`, message);
    this.responseClass = response.responseClass;
    this.responseCode = response.responseCode;
  }

  /** One line: the RFC error, the offset and what was wrong. */
  describe(): string {
    return `NATFW ${this.responseClass}/0x${this.responseCode.toString(16).padStart(2, '0')} (${this.response.description.split(':')[0].replace(/\.$/, '')}) at offset ${this.offset}: ${this.message}`;
  }
}
