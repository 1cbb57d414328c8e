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
  private readonly buckets = new Map<string, Set<Box>>();
  private readonly perProto = new Map<number, Set<Box>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  private blocks(b: Box): string[] {
    const lo = b.dp[0] >> BLOCK_SHIFT;
    const hi = b.dp[1] >> BLOCK_SHIFT;
    if (hi - lo >= WIDE_BLOCKS) return [`${b.proto}:w`];
    const out: string[] = [];
    for (let i = lo; i <= hi; i++) out.push(`${b.proto}:${i}`);
    return out;
  }

  conflicts(b: Box): boolean {
    const keys = this.blocks(b);
    if (keys[0].endsWith(':w')) {
      for (const x of this.perProto.get(b.proto) ?? []) if (overlaps(x, b)) return true;
      return false;
    }
    for (const k of [...keys, `${b.proto}:w`]) for (const x of this.buckets.get(k) ?? []) if (overlaps(x, b)) return true;
    return false;
  }

  add(b: Box): void {
    for (const k of this.blocks(b)) {
      let s = this.buckets.get(k);
      if (s === undefined) this.buckets.set(k, (s = new Set()));
      s.add(b);
    }
    let p = this.perProto.get(b.proto);
    if (p === undefined) this.perProto.set(b.proto, (p = new Set()));
    if (!p.has(b)) this.count++;
    p.add(b);
  }

  remove(b: Box): void {
    for (const k of this.blocks(b)) {
      const s = this.buckets.get(k);
      s?.delete(b);
      if (s?.size === 0) this.buckets.delete(k);
    }
    if (this.perProto.get(b.proto)?.delete(b) === true) this.count--;
  }
}
