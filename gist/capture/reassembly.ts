/**
 * TCP stream reassembly for one direction of one connection (RFC 9293
 * sequence space, modulo 2^32): in-order data is delivered at once,
 * retransmitted and overlapping bytes are trimmed, out-of-order segments wait
 * in a bounded window. When the window overflows (a segment that never came),
 * reassembly skips to the earliest waiting byte and reports a gap, because
 * a capture cannot ask for the missing bytes again.
 */

export interface ReassemblyOptions {
  /** Bytes waiting out of order before the hole is given up (default 1 MiB). */
  readonly maxBufferedBytes?: number;
  /** Segments waiting out of order before the hole is given up (default 1024). */
  readonly maxBufferedSegments?: number;
}

export type ReassemblyEvent =
  /** The next bytes of the stream, in order. */
  | { readonly kind: 'data'; readonly bytes: Uint8Array }
  /** `bytes` bytes of the stream were never seen: whatever parses the stream has lost its framing. */
  | { readonly kind: 'gap'; readonly bytes: number }
  /** A SYN with a new initial sequence number: a new connection on the same addresses and ports. */
  | { readonly kind: 'restart' };

export interface SegmentInput {
  readonly seq: number;
  readonly syn?: boolean;
  readonly rst?: boolean;
  readonly payload: Uint8Array;
}

export interface ReassemblyStats {
  /** Payload bytes received again (retransmissions, overlaps). */
  retransmittedBytes: number;
  /** Segments that arrived ahead of a hole. */
  outOfOrderSegments: number;
  /** Holes given up. */
  gaps: number;
}

interface Pending {
  readonly seq: number;
  readonly data: Uint8Array;
}

/** a - b in sequence space, as a signed 32-bit number (RFC 9293 s3.4 comparisons). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export class TcpReassembler {
  private next: number | undefined;
  private isn: number | undefined;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private readonly maxBytes: number;
  private readonly maxSegments: number;
  readonly stats: ReassemblyStats = { retransmittedBytes: 0, outOfOrderSegments: 0, gaps: 0 };

  constructor(opts: ReassemblyOptions = {}) {
    this.maxBytes = opts.maxBufferedBytes ?? 1 << 20;
    this.maxSegments = opts.maxBufferedSegments ?? 1024;
  }

  /** The next sequence number expected, once known. */
  get expected(): number | undefined {
    return this.next;
  }

  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(seg: SegmentInput): ReassemblyEvent[] {
    const out: ReassemblyEvent[] = [];
    let seq = seg.seq >>> 0;
    let payload = seg.payload;
    if (seg.syn) {
      if (this.isn !== undefined && this.isn !== seq) {
        this.reset();
        out.push({ kind: 'restart' });
      }
      this.isn = seq;
      // The SYN takes one sequence number; data on a SYN (TCP Fast Open) starts after it.
      seq = (seq + 1) >>> 0;
      if (this.next === undefined) this.next = seq;
    }
    if (payload.length === 0) return out;
    // A capture that starts mid-connection: the first data seen defines the stream start.
    if (this.next === undefined) this.next = seq;
    const rel = seqDiff(seq, this.next);
    if (rel < 0) {
      const dup = Math.min(-rel, payload.length);
      this.stats.retransmittedBytes += dup;
      if (-rel >= payload.length) return out;
      payload = payload.subarray(-rel);
      seq = this.next;
    }
    if (seq === this.next) {
      out.push({ kind: 'data', bytes: payload });
      this.next = (this.next + payload.length) >>> 0;
      this.drain(out);
      return out;
    }
    this.stats.outOfOrderSegments++;
    this.insert({ seq, data: payload });
    // Bounded window: give up the oldest hole until the waiting data fits again.
    while (this.pending.length > 0 && (this.pendingBytes > this.maxBytes || this.pending.length > this.maxSegments)) {
      const first = this.pending[0];
      const missing = seqDiff(first.seq, this.next);
      this.stats.gaps++;
      out.push({ kind: 'gap', bytes: missing });
      this.next = first.seq;
      this.drain(out);
    }
    return out;
  }

  private insert(p: Pending): void {
    // Sorted by distance from `next`; a segment identical in start and length to a waiting one is a retransmission.
    const d = seqDiff(p.seq, this.next ?? 0);
    let i = this.pending.length;
    while (i > 0 && seqDiff(this.pending[i - 1].seq, this.next ?? 0) > d) i--;
    const prev = this.pending[i - 1];
    if (prev && prev.seq === p.seq && prev.data.length >= p.data.length) {
      this.stats.retransmittedBytes += p.data.length;
      return;
    }
    this.pending.splice(i, 0, p);
    this.pendingBytes += p.data.length;
  }

  /** Delivers every waiting segment that now touches or overlaps the in-order edge. */
  private drain(out: ReassemblyEvent[]): void {
    while (this.pending.length > 0 && this.next !== undefined) {
      const p = this.pending[0];
      const rel = seqDiff(p.seq, this.next);
      if (rel > 0) break;
      this.pending.shift();
      this.pendingBytes -= p.data.length;
      if (-rel >= p.data.length) {
        this.stats.retransmittedBytes += p.data.length;
        continue;
      }
      this.stats.retransmittedBytes += -rel;
      const bytes = p.data.subarray(-rel);
      out.push({ kind: 'data', bytes });
      this.next = (this.next + bytes.length) >>> 0;
    }
  }

  private reset(): void {
    this.next = undefined;
    this.isn = undefined;
    this.pending = [];
    this.pendingBytes = 0;
  }
}
