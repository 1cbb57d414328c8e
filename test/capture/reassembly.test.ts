import fc from 'fast-check';
import { seqDiff, TcpReassembler, type ReassemblyEvent } from '../../gist/capture';

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function collect(events: ReassemblyEvent[], into: number[]): void {
  for (const e of events) if (e.kind === 'data') into.push(...e.bytes);
}

describe('TcpReassembler', () => {
  it('delivers in-order data after the SYN', () => {
    const r = new TcpReassembler();
    const out: number[] = [];
    collect(r.push({ seq: 1000, syn: true, payload: new Uint8Array(0) }), out);
    collect(r.push({ seq: 1001, payload: Uint8Array.of(1, 2, 3) }), out);
    collect(r.push({ seq: 1004, payload: Uint8Array.of(4) }), out);
    expect(out).toEqual([1, 2, 3, 4]);
    expect(r.expected).toBe(1005);
  });

  it('holds out-of-order segments until the hole is filled', () => {
    const r = new TcpReassembler();
    const out: number[] = [];
    r.push({ seq: 0, syn: true, payload: new Uint8Array(0) });
    collect(r.push({ seq: 5, payload: Uint8Array.of(5, 6) }), out);
    collect(r.push({ seq: 3, payload: Uint8Array.of(3, 4) }), out);
    expect(out).toEqual([]);
    expect(r.bufferedBytes).toBe(4);
    collect(r.push({ seq: 1, payload: Uint8Array.of(1, 2) }), out);
    expect(out).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.stats.outOfOrderSegments).toBe(2);
    expect(r.bufferedBytes).toBe(0);
  });

  it('drops retransmissions and trims overlaps', () => {
    const r = new TcpReassembler();
    const out: number[] = [];
    r.push({ seq: 99, syn: true, payload: new Uint8Array(0) });
    collect(r.push({ seq: 100, payload: Uint8Array.of(1, 2, 3) }), out);
    collect(r.push({ seq: 100, payload: Uint8Array.of(1, 2, 3) }), out); // full retransmission
    collect(r.push({ seq: 102, payload: Uint8Array.of(3, 4, 5) }), out); // overlaps one byte
    expect(out).toEqual([1, 2, 3, 4, 5]);
    expect(r.stats.retransmittedBytes).toBe(4);
  });

  it('works across the 2^32 wrap of sequence numbers', () => {
    const r = new TcpReassembler();
    const out: number[] = [];
    r.push({ seq: 0xfffffffd, syn: true, payload: new Uint8Array(0) });
    collect(r.push({ seq: 0x00000001, payload: Uint8Array.of(3, 4) }), out); // ahead, after the wrap
    collect(r.push({ seq: 0xfffffffe, payload: Uint8Array.of(0, 1, 2) }), out);
    expect(out).toEqual([0, 1, 2, 3, 4]);
    expect(r.expected).toBe(3);
    expect(seqDiff(2, 0xfffffffe)).toBe(4);
  });

  it('gives up a hole when the window overflows and reports the gap', () => {
    const r = new TcpReassembler({ maxBufferedBytes: 10 });
    const events: ReassemblyEvent[] = [];
    r.push({ seq: 0, syn: true, payload: new Uint8Array(0) });
    // bytes 1..4 never come
    events.push(...r.push({ seq: 5, payload: bytes(6) }));
    expect(events).toEqual([]);
    events.push(...r.push({ seq: 11, payload: bytes(6, 7) }));
    expect(events[0]).toEqual({ kind: 'gap', bytes: 4 });
    const data: number[] = [];
    collect(events, data);
    expect(data).toEqual([...bytes(6), ...bytes(6, 7)]);
    expect(r.stats.gaps).toBe(1);
  });

  it('starts mid-stream without a SYN, and restarts on a SYN with a new ISN', () => {
    const r = new TcpReassembler();
    const out: number[] = [];
    collect(r.push({ seq: 5000, payload: Uint8Array.of(9) }), out);
    r.push({ seq: 10, syn: true, payload: new Uint8Array(0) });
    expect(r.push({ seq: 20, syn: true, payload: new Uint8Array(0) })).toEqual([{ kind: 'restart' }]);
    collect(r.push({ seq: 21, payload: Uint8Array.of(8) }), out);
    expect(out).toEqual([9, 8]);
  });

  it('reassembles any segmentation, reordering and duplication within the window (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 1, max: 3000 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (isn, len, cuts, order, dups) => {
          const stream = bytes(len, isn & 0xff);
          const segs: Array<{ seq: number; payload: Uint8Array }> = [];
          let at = 0;
          for (let i = 0; at < len; i++) {
            const n = Math.min(cuts[i % cuts.length], len - at);
            segs.push({ seq: (isn + 1 + at) >>> 0, payload: stream.subarray(at, at + n) });
            at += n;
          }
          for (const d of dups) segs.push(segs[d % segs.length]);
          // a random permutation driven by `order`
          for (let i = 0; i < order.length && segs.length > 1; i++) {
            const a = order[i] % segs.length;
            const b = (i * 7) % segs.length;
            [segs[a], segs[b]] = [segs[b], segs[a]];
          }
          // a window large enough for every case generated here (up to 3000 one-byte segments)
          const r = new TcpReassembler({ maxBufferedSegments: 4096 });
          const out: number[] = [];
          r.push({ seq: isn, syn: true, payload: new Uint8Array(0) });
          for (const s of segs) collect(r.push(s), out);
          expect(out).toEqual([...stream]);
          expect(r.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: Number(process.env.REASM_RUNS ?? 150) },
    );
  });
});
