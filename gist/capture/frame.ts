/** What the capture file readers produce: frames with their link type and time, independent of the file format. */
import type { CaptureError } from './errors';

/** LINKTYPE_* values (tcpdump.org/linktypes.html) that natfw decodes. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** A point in time as whole seconds since the epoch plus nanoseconds (0..999999999). */
export interface Timestamp {
  readonly sec: number;
  readonly nsec: number;
}

export interface CapturedFrame {
  /** 1-based, in file order, as Wireshark numbers frames. */
  readonly number: number;
  readonly timestamp: Timestamp;
  readonly linkType: number;
  /** pcapng interface index (0 for classic pcap). */
  readonly interfaceId: number;
  /** The captured bytes (a view into the file buffer, not a copy). */
  readonly data: Uint8Array;
  /** The length of the frame on the wire; larger than `data.length` when the capture was cut at a snap length. */
  readonly originalLength: number;
  /** Byte offset of the frame data inside the file (for error offsets). */
  readonly fileOffset: number;
}

export interface CaptureFile {
  readonly format: 'pcap' | 'pcapng';
  readonly frames: CapturedFrame[];
  /**
   * Set when reading stopped early (a truncated or malformed record): every
   * frame before it is in `frames`; nothing after it could be read safely.
   */
  readonly error?: CaptureError;
  /** Records that were read but skipped (e.g. a packet for an undeclared interface), with why. */
  readonly skipped: CaptureError[];
}

/** "1700000000.123456789": exact, sortable, what tshark prints as epoch time. */
export function formatTimestamp(t: Timestamp): string {
  return `${t.sec}.${String(t.nsec).padStart(9, '0')}`;
}

/**
 * Milliseconds since the epoch (fractions allowed) to a Timestamp, kept to the
 * microsecond: a double holds an epoch time in ms only to about 0.25 us, so
 * finer digits would be noise (0.1 + 0.2 printing as ...0.300000004).
 */
export function timestampFromMs(ms: number): Timestamp {
  const us = Math.round(ms * 1000);
  const sec = Math.floor(us / 1_000_000);
  return { sec, nsec: (us - sec * 1_000_000) * 1000 };
}
