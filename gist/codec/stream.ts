/**
 * C-mode framing (RFC 5971 s5.4): GIST messages follow each other on a TCP
 * stream with no magic number; the common header's Message Length gives each
 * boundary. Buffering is bounded: one message is at most 8 + 65535*4 bytes,
 * and `push` returns false once more than `highWaterMark` bytes wait, so the
 * driver pauses reading (as Node's stream.write does).
 */
import type { Result } from '../../common/result';
import { COMMON_HEADER_LENGTH } from './constants';
import type { GistDecodeError } from './errors';
import { decodeMessageAt } from './message';
import type { GistMessage } from './types';

export interface GistStreamDecoderOptions {
  /** push() returns false while more than this many bytes are buffered (default 1 MiB). */
  readonly highWaterMark?: number;
}

export class GistStreamDecoder {
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;
  private end = 0;
  private readonly highWaterMark: number;

  constructor(opts: GistStreamDecoderOptions = {}) {
    this.highWaterMark = opts.highWaterMark ?? 1 << 20;
  }

  /** Bytes received and not yet returned as messages. */
  get buffered(): number {
    return this.end - this.start;
  }

  /** Appends stream bytes (copied). Returns false when the caller should stop reading until next() drains. */
  push(bytes: Uint8Array): boolean {
    if (bytes.length > 0) {
      if (this.end + bytes.length > this.buf.length) {
        const live = this.end - this.start;
        const need = live + bytes.length;
        if (need <= this.buf.length && this.start > 0) {
          this.buf.copyWithin(0, this.start, this.end);
        } else {
          const next = new Uint8Array(Math.max(need, this.buf.length * 2, 4096));
          next.set(this.buf.subarray(this.start, this.end));
          this.buf = next;
        }
        this.start = 0;
        this.end = live;
      }
      this.buf.set(bytes, this.end);
      this.end += bytes.length;
    }
    return this.buffered <= this.highWaterMark;
  }

  /**
   * The next whole message, or undefined when more bytes are needed. A
   * message that fails to decode is consumed and returned as an error; the
   * stream stays in step because framing uses only the Message Length.
   */
  next(): Result<GistMessage, GistDecodeError> | undefined {
    const avail = this.end - this.start;
    if (avail < COMMON_HEADER_LENGTH) return undefined;
    const len = COMMON_HEADER_LENGTH + ((this.buf[this.start + 2] << 8) | this.buf[this.start + 3]) * 4;
    if (avail < len) return undefined;
    const at = this.start;
    this.start += len;
    // Decoders copy what they keep, so later compaction cannot change a returned message.
    // Error offsets are relative to the message start.
    const r = decodeMessageAt(this.buf.subarray(at, at + len), 0, len, 'C');
    if (this.start === this.end) this.start = this.end = 0;
    return r;
  }
}
