/**
 * Overlap bookkeeping for the pipapo (interval) maps. The kernel refuses an
 * element whose start or end falls inside an existing element (EEXIST), so a
 * new range pinhole goes to the first slot set where it overlaps nothing
 * (stricter than the kernel: any intersection counts). Boxes are bucketed by
 * protocol and 16-port blocks of the destination port, the most selective
 * field, so the check stays cheap with many pinholes installed.
 */
import type { Field } from './layout';

export interface Box {
  readonly proto: number;
  readonly dp: readonly [number, number];
  readonly sp: readonly [number, number];
  readonly d: readonly [bigint, bigint];
  readonly s: readonly [bigint, bigint];
}

/** Builds the box of a range / rangenp element (start and end key fields in layout order). */
export function boxOf(shape: 'range' | 'rangenp', start: readonly Field[], end: readonly Field[]): Box {
  const n = (f: Field): number => (f.t === 'addr' ? 0 : f.v);
  const b = (f: Field): bigint => (f.t === 'addr' ? f.v : 0n);
  if (shape === 'range')
    return { dp: [n(start[0]), n(end[0])], sp: [n(start[1]), n(end[1])], proto: n(start[2]), d: [b(start[3]), b(end[3])], s: [b(start[4]), b(end[4])] };
  return { dp: [0, 0], sp: [0, 0], proto: n(start[2]), d: [b(start[0]), b(end[0])], s: [b(start[1]), b(end[1])] };
}

function overlaps(a: Box, b: Box): boolean {
  return (
    a.proto === b.proto &&
    a.dp[0] <= b.dp[1] &&
    b.dp[0] <= a.dp[1] &&
    a.sp[0] <= b.sp[1] &&
    b.sp[0] <= a.sp[1] &&
    a.d[0] <= b.d[1] &&
    b.d[0] <= a.d[1] &&
    a.s[0] <= b.s[1] &&
    b.s[0] <= a.s[1]
  );
}

/** Buckets are 16-port blocks of the destination port; a range spanning more than 16 blocks is "wide". */
const BLOCK_SHIFT = 4;
const WIDE_BLOCKS = 16;

export class RangeIndex {
  /** Every box by protocol and destination-port block. */
  private readonly byBlock = new Map<string, Set<Box>>();
  /** Boxes with a single destination address, by block and that address (the common case: O(1) checks). */
  private readonly byBlockDst = new Map<string, Set<Box>>();
  /** Boxes with a destination prefix, by block. */
  private readonly byBlockDwide = new Map<string, Set<Box>>();
  private readonly perProto = new Map<number, Set<Box>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  private blocks(b: Box): number[] | undefined {
    const lo = b.dp[0] >> BLOCK_SHIFT;
    const hi = b.dp[1] >> BLOCK_SHIFT;
    if (hi - lo >= WIDE_BLOCKS) return undefined;
    const out: number[] = [];
    for (let i = lo; i <= hi; i++) out.push(i);
    return out;
  }

  private static put(m: Map<string, Set<Box>>, k: string, b: Box): void {
    let s = m.get(k);
    if (s === undefined) m.set(k, (s = new Set()));
    s.add(b);
  }

  private static drop(m: Map<string, Set<Box>>, k: string, b: Box): void {
    const s = m.get(k);
    s?.delete(b);
    if (s?.size === 0) m.delete(k);
  }

  private keys(b: Box, blk: number | 'w'): { block: string; dst: string } {
    const block = `${b.proto}:${blk}`;
    return { block, dst: b.d[0] === b.d[1] ? `${block}:${b.d[0].toString(16)}` : `${block}:*` };
  }

  conflicts(b: Box): boolean {
    const blocks = this.blocks(b);
    if (blocks === undefined) {
      for (const x of this.perProto.get(b.proto) ?? []) if (overlaps(x, b)) return true;
      return false;
    }
    const check = (set: Set<Box> | undefined): boolean => {
      if (set !== undefined) for (const x of set) if (overlaps(x, b)) return true;
      return false;
    };
    for (const blk of [...blocks, 'w' as const]) {
      const k = this.keys(b, blk);
      if (b.d[0] === b.d[1]) {
        if (check(this.byBlockDst.get(k.dst)) || check(this.byBlockDwide.get(`${k.block}:*`))) return true;
      } else if (check(this.byBlock.get(k.block))) return true;
    }
    return false;
  }

  add(b: Box): void {
    let p = this.perProto.get(b.proto);
    if (p === undefined) this.perProto.set(b.proto, (p = new Set()));
    if (p.has(b)) return;
    p.add(b);
    this.count++;
    for (const blk of this.blocks(b) ?? ['w' as const]) {
      const k = this.keys(b, blk);
      RangeIndex.put(this.byBlock, k.block, b);
      RangeIndex.put(b.d[0] === b.d[1] ? this.byBlockDst : this.byBlockDwide, k.dst, b);
    }
  }

  remove(b: Box): void {
    if (this.perProto.get(b.proto)?.delete(b) !== true) return;
    this.count--;
    for (const blk of this.blocks(b) ?? ['w' as const]) {
      const k = this.keys(b, blk);
      RangeIndex.drop(this.byBlock, k.block, b);
      RangeIndex.drop(b.d[0] === b.d[1] ? this.byBlockDst : this.byBlockDwide, k.dst, b);
    }
  }
}
