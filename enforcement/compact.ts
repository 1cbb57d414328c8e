/**
 * A compact pinhole table for the memory backend (issue 5: < 1 KB per session
 * for GIST + NSLP + pinhole together). One pinhole is a row of typed arrays
 * (struct of arrays) instead of a graph of objects: number, protocol, flags,
 * prefix lengths, IPv4 addresses as 32-bit words, four ports, expiry, and a
 * reference to the owner string the caller holds anyway (its session id).
 * About 80 bytes per IPv4 pinhole at 100,000 (with the two hash indexes and
 * the growth slack), against ~860 for the object table (table.ts).
 *
 * Lookups use a chained hash index on (protocol, destination host address,
 * destination port) (see hashDst); pinholes whose destination is a prefix
 * are scanned, as in table.ts. The
 * semantics are model.ts's: `pinholeMatches`, deny wins (types.ts). Pinhole
 * objects are built on demand (`get`, `list`, `lookup` results); the table
 * itself never holds one.
 */
import { formatAddress, parseAddress, parseV4Number } from './address';
import { BindingPlan, unknownId as unknown } from './binding-plan';
import { EnforcementError } from './errors';
import type { Op } from './table';
import type { LookupResult, NatBinding, PacketKey, Pinhole, PortRange } from './types';

const F_DENY = 1;
const F_V6 = 2;
const F_SPORTS = 4;
const F_DPORTS = 8;
const F_USED = 16;

/**
 * The number of a pinhole id `ph-<1 to 8 lowercase hex digits>`, or -1 for any other text. Read by
 * hand: every lookup, refresh and removal parses an id, and a regular expression's match array
 * was a steady share of the simulator's allocations.
 */
export function pinholeIdNumber(id: string): number {
  const n = id.length;
  if (n < 4 || n > 11 || id.charCodeAt(0) !== 0x70 || id.charCodeAt(1) !== 0x68 || id.charCodeAt(2) !== 0x2d) return -1;
  let v = 0;
  for (let i = 3; i < n; i++) {
    const c = id.charCodeAt(i);
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

function v4Text(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function mask4(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

const scratchA = new Uint32Array(4);
const scratchB = new Uint32Array(4);
const lookupSrc = new Uint32Array(4);
const lookupDst = new Uint32Array(4);

/** Fills `out` with the address's words (IPv4: out[0]); returns 4, 6 or 0 (not an address). */
function addrWords(text: string, out: Uint32Array): 0 | 4 | 6 {
  const v4 = parseV4Number(text);
  if (v4 >= 0) {
    out[0] = v4;
    return 4;
  }
  const a = parseAddress(text);
  if (a === undefined) return 0;
  if (a.family === 4) {
    out[0] = Number(a.value);
    return 4;
  }
  for (let i = 0; i < 4; i++) out[i] = Number((a.value >> BigInt(96 - 32 * i)) & 0xffffffffn);
  return 6;
}

function wordsToBigint(w: ArrayLike<number>, at: number): bigint {
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(w[at + i] >>> 0);
  return v;
}

/** Is the 128-bit address a[ao..] inside prefix n[no..]/len? */
function in6(a: ArrayLike<number>, ao: number, n: ArrayLike<number>, no: number, len: number): boolean {
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, len - 32 * i));
    if (bits === 0) return true;
    const m = mask4(bits);
    if (((a[ao + i] & m) >>> 0) !== ((n[no + i] & m) >>> 0)) return false;
  }
  return true;
}

/**
 * Index key of a host-destination pinhole: (protocol, destination, first destination port) when its
 * destination ports are one port or two (sub_ports=1, the common case), else (protocol, destination)
 * with port -1. A packet to port p probes (p), (p - 1) and (-1).
 */
function hashDst(proto: number, w: Uint32Array, v6: boolean, port: number): number {
  let h = Math.imul(proto + 0x9e3779b1 + ((port + 1) << 8), 0x85ebca6b) ^ Math.imul(w[0], 0xc2b2ae35);
  if (v6) for (let i = 1; i < 4; i++) h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ w[i];
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

function hashNum(n: number): number {
  let h = Math.imul(n ^ (n >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Net effect of a transaction on the compact table. */
export interface CompactPlan {
  readonly added: Pinhole[];
  readonly removed: number[];
  readonly refreshed: Array<readonly [slot: number, expiresAt: number]>;
  readonly addedBindings: NatBinding[];
  readonly removedBindings: string[];
  readonly refreshedBindings: NatBinding[];
}

export class CompactPinholeTable {
  private cap = 0;
  private count = 0;
  private num = new Uint32Array(0);
  private proto = new Uint8Array(0);
  private flags = new Uint8Array(0);
  private slen = new Uint8Array(0);
  private dlen = new Uint8Array(0);
  /** IPv4 src and dst per slot. */
  private a4 = new Uint32Array(0);
  private ports = new Uint16Array(0);
  private exp = new Float64Array(0);
  private owner: string[] = [];
  /** Destination-index chain, or the free list for unused slots. */
  private next = new Int32Array(0);
  private numNext = new Int32Array(0);
  private freeHead = -1;
  private highWater = 0;
  private dstBuckets = new Int32Array(16).fill(-1);
  private numBuckets = new Int32Array(16).fill(-1);
  /** IPv6 pinholes: src words 0-3, dst words 4-7 (rare: kept beside the rows). */
  private readonly v6 = new Map<number, Uint32Array>();
  /** Slots whose destination is a prefix, scanned on every lookup. */
  private readonly wide = new Set<number>();
  private readonly bindings = new Map<string, NatBinding>();

  get size(): number {
    return this.count;
  }

  private grow(): void {
    const cap = Math.max(64, this.cap * 2);
    const g = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(old: T, per: number, make: (n: number) => T): T => {
      const n = make(cap * per);
      n.set(old);
      return n;
    };
    this.num = g(this.num, 1, (n) => new Uint32Array(n));
    this.proto = g(this.proto, 1, (n) => new Uint8Array(n));
    this.flags = g(this.flags, 1, (n) => new Uint8Array(n));
    this.slen = g(this.slen, 1, (n) => new Uint8Array(n));
    this.dlen = g(this.dlen, 1, (n) => new Uint8Array(n));
    this.a4 = g(this.a4, 2, (n) => new Uint32Array(n));
    this.ports = g(this.ports, 4, (n) => new Uint16Array(n));
    this.exp = g(this.exp, 1, (n) => new Float64Array(n));
    this.next = g(this.next, 1, (n) => new Int32Array(n));
    this.numNext = g(this.numNext, 1, (n) => new Int32Array(n));
    this.cap = cap;
  }

  private rehash(): void {
    const size = this.dstBuckets.length * 2;
    this.dstBuckets = new Int32Array(size).fill(-1);
    this.numBuckets = new Int32Array(size).fill(-1);
    for (let s = 0; s < this.highWater; s++) {
      if ((this.flags[s] & F_USED) === 0) continue;
      this.linkNum(s);
      if (!this.wide.has(s)) this.linkDst(s);
    }
  }

  /** The first destination port of the slot's index key, or -1 (see hashDst). */
  private keyPort(s: number): number {
    if ((this.flags[s] & F_DPORTS) === 0) return -1;
    const from = this.ports[4 * s + 2];
    return this.ports[4 * s + 3] - from <= 1 ? from : -1;
  }

  private dstHashOf(s: number): number {
    const v6 = (this.flags[s] & F_V6) !== 0;
    if (v6) {
      const w = this.v6.get(s)!;
      scratchB[0] = w[4];
      scratchB[1] = w[5];
      scratchB[2] = w[6];
      scratchB[3] = w[7];
    } else scratchB[0] = this.a4[2 * s + 1];
    return hashDst(this.proto[s], scratchB, v6, this.keyPort(s));
  }

  private linkDst(s: number): void {
    const b = this.dstHashOf(s) & (this.dstBuckets.length - 1);
    this.next[s] = this.dstBuckets[b];
    this.dstBuckets[b] = s;
  }

  private unlinkDst(s: number): void {
    const b = this.dstHashOf(s) & (this.dstBuckets.length - 1);
    let prev = -1;
    for (let x = this.dstBuckets[b]; x >= 0; prev = x, x = this.next[x]) {
      if (x !== s) continue;
      if (prev < 0) this.dstBuckets[b] = this.next[x];
      else this.next[prev] = this.next[x];
      return;
    }
  }

  private linkNum(s: number): void {
    const b = hashNum(this.num[s]) & (this.numBuckets.length - 1);
    this.numNext[s] = this.numBuckets[b];
    this.numBuckets[b] = s;
  }

  private unlinkNum(s: number): void {
    const b = hashNum(this.num[s]) & (this.numBuckets.length - 1);
    let prev = -1;
    for (let x = this.numBuckets[b]; x >= 0; prev = x, x = this.numNext[x]) {
      if (x !== s) continue;
      if (prev < 0) this.numBuckets[b] = this.numNext[x];
      else this.numNext[prev] = this.numNext[x];
      return;
    }
  }

  /** The slot of a pinhole id, or -1. */
  slotOf(id: string): number {
    const n = pinholeIdNumber(id);
    if (n < 0) return -1;
    for (let x = this.numBuckets[hashNum(n) & (this.numBuckets.length - 1)]; x >= 0; x = this.numNext[x]) if (this.num[x] === n) return x;
    return -1;
  }

  has(id: string): boolean {
    return this.slotOf(id) >= 0;
  }

  hasBinding(id: string): boolean {
    return this.bindings.has(id);
  }

  get(id: string): Pinhole | undefined {
    const s = this.slotOf(id);
    return s < 0 ? undefined : this.pinholeAt(s);
  }

  getBinding(id: string): NatBinding | undefined {
    return this.bindings.get(id);
  }

  expiresAtOf(slot: number): number {
    return this.exp[slot];
  }

  /** Builds the Pinhole of a slot (the table keeps none). */
  pinholeAt(s: number): Pinhole {
    const f = this.flags[s];
    let src: string;
    let dst: string;
    if ((f & F_V6) !== 0) {
      const w = this.v6.get(s)!;
      src = formatAddress({ family: 6, value: wordsToBigint(w, 0) });
      dst = formatAddress({ family: 6, value: wordsToBigint(w, 4) });
    } else {
      src = v4Text(this.a4[2 * s]);
      dst = v4Text(this.a4[2 * s + 1]);
    }
    const p = 4 * s;
    const ph: Pinhole = {
      protocol: this.proto[s],
      src: { address: src, length: this.slen[s] },
      dst: { address: dst, length: this.dlen[s] },
      action: (f & F_DENY) !== 0 ? 'deny' : 'allow',
      owner: this.owner[s],
      expiresAt: this.exp[s],
      ...((f & F_SPORTS) !== 0 ? { srcPorts: { from: this.ports[p], to: this.ports[p + 1] } } : {}),
      ...((f & F_DPORTS) !== 0 ? { dstPorts: { from: this.ports[p + 2], to: this.ports[p + 3] } } : {}),
      id: `ph-${this.num[s].toString(16)}`,
    };
    return ph;
  }

  list(): Pinhole[] {
    const out: Pinhole[] = [];
    for (let s = 0; s < this.highWater; s++) if ((this.flags[s] & F_USED) !== 0) out.push(this.pinholeAt(s));
    return out;
  }

  listBindings(): NatBinding[] {
    return [...this.bindings.values()];
  }

  /** Stores a normalized pinhole (model.ts normalizeSpec) whose id is `ph-<hex>`. */
  insert(ph: Pinhole): void {
    const num = pinholeIdNumber(ph.id);
    if (num < 0) throw new EnforcementError('ENF_INVALID_SPEC', `pinhole id '${ph.id}' is not ph-<hex>`);
    const fs = addrWords(ph.src.address, scratchA);
    let s = this.freeHead;
    if (s >= 0) this.freeHead = this.next[s];
    else {
      if (this.highWater === this.cap) this.grow();
      s = this.highWater++;
    }
    this.count++;
    if (this.count > this.numBuckets.length * 0.75) this.rehashLater = true;
    let f = F_USED | (ph.action === 'deny' ? F_DENY : 0);
    const full = fs === 6 ? 128 : 32;
    if (fs === 6) {
      f |= F_V6;
      const w = new Uint32Array(8);
      w.set(scratchA, 0);
      addrWords(ph.dst.address, scratchA);
      w.set(scratchA, 4);
      this.v6.set(s, w);
    } else {
      this.a4[2 * s] = scratchA[0];
      addrWords(ph.dst.address, scratchA);
      this.a4[2 * s + 1] = scratchA[0];
    }
    const p = 4 * s;
    const sp: PortRange | undefined = ph.srcPorts;
    const dp: PortRange | undefined = ph.dstPorts;
    if (sp !== undefined) {
      f |= F_SPORTS;
      this.ports[p] = sp.from;
      this.ports[p + 1] = sp.to;
    }
    if (dp !== undefined) {
      f |= F_DPORTS;
      this.ports[p + 2] = dp.from;
      this.ports[p + 3] = dp.to;
    }
    this.num[s] = num;
    this.proto[s] = ph.protocol;
    this.flags[s] = f;
    this.slen[s] = ph.src.length;
    this.dlen[s] = ph.dst.length;
    this.exp[s] = ph.expiresAt;
    this.owner[s] = ph.owner;
    const wide = ph.dst.length !== full;
    if (wide) this.wide.add(s);
    if (this.rehashLater) {
      this.rehashLater = false;
      this.rehash(); // links every used slot, this one included
      return;
    }
    this.linkNum(s);
    if (!wide) this.linkDst(s);
  }

  private rehashLater = false;

  deleteSlot(s: number): void {
    if ((this.flags[s] & F_USED) === 0) return;
    this.unlinkNum(s);
    if (!this.wide.delete(s)) this.unlinkDst(s);
    this.flags[s] = 0;
    this.v6.delete(s);
    this.owner[s] = '';
    this.next[s] = this.freeHead;
    this.freeHead = s;
    this.count--;
  }

  /** Removes a pinhole by id; returns whether it was there. */
  delete(id: string): boolean {
    const s = this.slotOf(id);
    if (s < 0) return false;
    this.deleteSlot(s);
    return true;
  }

  private matches(s: number, proto: number, v6: boolean, src: Uint32Array, dst: Uint32Array, sport: number | undefined, dport: number | undefined): boolean {
    const f = this.flags[s];
    if (this.proto[s] !== proto || ((f & F_V6) !== 0) !== v6) return false;
    const p = 4 * s;
    if ((f & F_SPORTS) !== 0 && (sport === undefined || sport < this.ports[p] || sport > this.ports[p + 1])) return false;
    if ((f & F_DPORTS) !== 0 && (dport === undefined || dport < this.ports[p + 2] || dport > this.ports[p + 3])) return false;
    if (v6) {
      const w = this.v6.get(s)!;
      return in6(src, 0, w, 0, this.slen[s]) && in6(dst, 0, w, 4, this.dlen[s]);
    }
    const ms = mask4(this.slen[s]);
    const md = mask4(this.dlen[s]);
    return ((src[0] & ms) >>> 0) === ((this.a4[2 * s] & ms) >>> 0) && ((dst[0] & md) >>> 0) === ((this.a4[2 * s + 1] & md) >>> 0);
  }

  lookup(packet: PacketKey): LookupResult {
    const src = lookupSrc;
    const dst = lookupDst;
    const fs = addrWords(packet.src, src);
    const fd = addrWords(packet.dst, dst);
    if (fs === 0 || fs !== fd) return { verdict: 'none', matches: [] };
    const v6 = fs === 6;
    const hits: number[] = [];
    const mask = this.dstBuckets.length - 1;
    const dp = packet.dstPort;
    // Distinct buckets only (two keys may share one): a slot must not be reported twice.
    const b0 = hashDst(packet.protocol, dst, v6, -1) & mask;
    const b1 = dp === undefined ? -1 : hashDst(packet.protocol, dst, v6, dp) & mask;
    const b2 = dp === undefined || dp === 0 ? -1 : hashDst(packet.protocol, dst, v6, dp - 1) & mask;
    for (const b of [b0, b1 === b0 ? -1 : b1, b2 === b0 || b2 === b1 ? -1 : b2]) {
      if (b < 0) continue;
      for (let x = this.dstBuckets[b]; x >= 0; x = this.next[x]) if (this.matches(x, packet.protocol, v6, src, dst, packet.srcPort, dp)) hits.push(x);
    }
    for (const x of this.wide) if (this.matches(x, packet.protocol, v6, src, dst, packet.srcPort, packet.dstPort)) hits.push(x);
    if (hits.length === 0) return { verdict: 'none', matches: [] };
    // Denies first, each group in pinhole-number order (the order they were added).
    hits.sort((x, y) => (this.flags[y] & F_DENY) - (this.flags[x] & F_DENY) || this.num[x] - this.num[y]);
    const matches = hits.map((x) => this.pinholeAt(x));
    return { verdict: (this.flags[hits[0]] & F_DENY) !== 0 ? 'deny' : 'allow', matches };
  }

  /**
   * The net effect of `ops` in order, validated against the table as it is
   * now (the rules of table.ts PinholeTable.plan). Throws EnforcementError and
   * changes nothing when any op does not apply.
   */
  plan(ops: readonly Op[], now: number): CompactPlan {
    // id -> pinhole to add | slot's new expiry | null (removed)
    type P = { add: Pinhole } | { slot: number; exp: number } | null;
    const ph = new Map<string, P>();
    const nb = new BindingPlan(this.bindings);
    const cur = (id: string): P | undefined => {
      if (ph.has(id)) return ph.get(id);
      const s = this.slotOf(id);
      return s < 0 ? undefined : { slot: s, exp: this.exp[s] };
    };
    for (const op of ops) {
      switch (op.kind) {
        case 'add': {
          const c = cur(op.pinhole.id);
          if (c !== undefined && c !== null) throw new EnforcementError('ENF_INVALID_SPEC', `pinhole id '${op.pinhole.id}' already in use`);
          ph.set(op.pinhole.id, { add: op.pinhole });
          break;
        }
        case 'remove': {
          const c = cur(op.id);
          if (c === undefined || c === null) throw unknown('pinhole', op.id);
          ph.set(op.id, null);
          break;
        }
        case 'refresh': {
          const c = cur(op.id);
          if (c === undefined || c === null) throw unknown('pinhole', op.id);
          ph.set(op.id, 'add' in c ? { add: { ...c.add, expiresAt: op.expiresAt } } : { slot: c.slot, exp: op.expiresAt });
          break;
        }
        default:
          nb.op(op);
      }
    }
    const plan: CompactPlan = { added: [], removed: [], refreshed: [], addedBindings: [], removedBindings: [], refreshedBindings: [] };
    for (const [id, after] of ph) {
      if (after === null) {
        const s = this.slotOf(id);
        if (s >= 0) plan.removed.push(s);
        continue;
      }
      const exp = 'add' in after ? after.add.expiresAt : after.exp;
      if (exp <= now) throw new EnforcementError('ENF_INVALID_SPEC', `pinhole '${id}' would expire at ${exp}, not after now (${now})`);
      if ('add' in after) plan.added.push(after.add);
      else if (after.exp !== this.exp[after.slot]) plan.refreshed.push([after.slot, after.exp]);
    }
    const b = nb.changes(now);
    for (const x of b.added) plan.addedBindings.push(x);
    for (const x of b.removed) plan.removedBindings.push(x.id);
    for (const x of b.refreshed) plan.refreshedBindings.push(x.after);
    return plan;
  }

  apply(plan: CompactPlan): void {
    for (const s of plan.removed) this.deleteSlot(s);
    for (const [s, exp] of plan.refreshed) this.exp[s] = exp;
    for (const p of plan.added) this.insert(p);
    for (const id of plan.removedBindings) this.bindings.delete(id);
    for (const b of plan.addedBindings) this.bindings.set(b.id, b);
    for (const b of plan.refreshedBindings) this.bindings.set(b.id, b);
  }

  /** Slots of pinholes, and bindings, that have expired by `now`. */
  expired(now: number): { slots: number[]; bindings: NatBinding[] } {
    const slots: number[] = [];
    for (let s = 0; s < this.highWater; s++) if ((this.flags[s] & F_USED) !== 0 && this.exp[s] <= now) slots.push(s);
    return { slots, bindings: [...this.bindings.values()].filter((b) => b.expiresAt <= now) };
  }

  deleteBinding(id: string): void {
    this.bindings.delete(id);
  }
}
