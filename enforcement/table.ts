/**
 * The exact userspace index of pinholes and NAT bindings, and the staging of
 * transactions against it. The memory backend is this table; kernel backends
 * keep one as the exact record of what they installed (pipapo deletes with an
 * inexact key would remove an enclosing element, so deletes are always built
 * from this index, never from a packet).
 */
import { formatAddress } from './address';
import { BindingPlan, unknownId as unknown, type BindingOp } from './binding-plan';
import { EnforcementError } from './errors';
import { normalizeBinding, normalizeSpec, parsePacket, pinholeMatches, pinholeOf } from './model';
import type { LookupResult, NatBinding, NatBindingSpec, PacketKey, Pinhole, PinholeSpec, Transaction } from './types';

export type Op =
  | { readonly kind: 'add'; readonly pinhole: Pinhole }
  | { readonly kind: 'remove'; readonly id: string }
  | { readonly kind: 'refresh'; readonly id: string; readonly expiresAt: number }
  | BindingOp;

/** The net effect of a transaction on the table. */
export interface Plan {
  readonly now: number;
  readonly added: Pinhole[];
  readonly removed: Pinhole[];
  readonly refreshed: Array<{ readonly before: Pinhole; readonly after: Pinhole }>;
  readonly addedBindings: NatBinding[];
  readonly removedBindings: NatBinding[];
  readonly refreshedBindings: Array<{ readonly before: NatBinding; readonly after: NatBinding }>;
}

export function emptyPlan(now: number): Plan {
  return { now, added: [], removed: [], refreshed: [], addedBindings: [], removedBindings: [], refreshedBindings: [] };
}

export function planSize(p: Plan): number {
  return p.added.length + p.removed.length + p.refreshed.length + p.addedBindings.length + p.removedBindings.length + p.refreshedBindings.length;
}

export class PinholeTable {
  /**
   * @param indexLookups false: no destination index, `lookup` scans every pinhole. For the kernel
   * backends, where lookups are rare (`natfw explain`) and the index only cost memory and time per change.
   */
  constructor(private readonly indexLookups = true) {}

  private readonly pinholes = new Map<string, Pinhole>();
  private readonly bindings = new Map<string, NatBinding>();
  /** Host-destination pinholes by protocol and destination address; the rest are scanned. */
  private readonly byDst = new Map<string, Set<Pinhole>>();
  private readonly wide = new Set<Pinhole>();

  get size(): number {
    return this.pinholes.size;
  }

  get(id: string): Pinhole | undefined {
    return this.pinholes.get(id);
  }

  has(id: string): boolean {
    return this.pinholes.has(id);
  }

  hasBinding(id: string): boolean {
    return this.bindings.has(id);
  }

  getBinding(id: string): NatBinding | undefined {
    return this.bindings.get(id);
  }

  list(): Pinhole[] {
    return [...this.pinholes.values()];
  }

  listBindings(): NatBinding[] {
    return [...this.bindings.values()];
  }

  /** Specs in the table are normalized (canonical address text), so the text is the key. */
  private dstKey(ph: PinholeSpec): string | undefined {
    const full = ph.dst.address.includes(':') ? 128 : 32;
    if (ph.dst.length !== full) return undefined;
    return `${ph.protocol}|${ph.dst.address}`;
  }

  insert(ph: Pinhole): void {
    this.pinholes.set(ph.id, ph);
    if (!this.indexLookups) return;
    const k = this.dstKey(ph);
    if (k === undefined) this.wide.add(ph);
    else {
      let s = this.byDst.get(k);
      if (s === undefined) this.byDst.set(k, (s = new Set()));
      s.add(ph);
    }
  }

  delete(id: string): Pinhole | undefined {
    const ph = this.pinholes.get(id);
    if (ph === undefined) return undefined;
    this.pinholes.delete(id);
    if (!this.indexLookups) return ph;
    const k = this.dstKey(ph);
    if (k === undefined) this.wide.delete(ph);
    else {
      const s = this.byDst.get(k);
      s?.delete(ph);
      if (s !== undefined && s.size === 0) this.byDst.delete(k);
    }
    return ph;
  }

  insertBinding(b: NatBinding): void {
    this.bindings.set(b.id, b);
  }

  deleteBinding(id: string): NatBinding | undefined {
    const b = this.bindings.get(id);
    this.bindings.delete(id);
    return b;
  }

  lookup(packet: PacketKey): LookupResult {
    const pkt = parsePacket(packet);
    if (pkt === undefined) return { verdict: 'none', matches: [] };
    const found: Pinhole[] = [];
    if (!this.indexLookups) {
      for (const ph of this.pinholes.values()) if (pinholeMatches(ph, pkt)) found.push(ph);
    } else {
      const bucket = this.byDst.get(`${pkt.protocol}|${formatAddress(pkt.dst)}`);
      if (bucket !== undefined) for (const ph of bucket) if (pinholeMatches(ph, pkt)) found.push(ph);
      for (const ph of this.wide) if (pinholeMatches(ph, pkt)) found.push(ph);
    }
    const denies = found.filter((p) => p.action === 'deny');
    const allows = found.filter((p) => p.action === 'allow');
    return { verdict: denies.length > 0 ? 'deny' : allows.length > 0 ? 'allow' : 'none', matches: [...denies, ...allows] };
  }

  /**
   * The net effect of `ops` in order, validated against the table as it is now.
   * Throws EnforcementError and changes nothing when any op does not apply.
   */
  plan(ops: readonly Op[], now: number, pinholeOfId: (id: string) => Pinhole | undefined = (id) => this.pinholes.get(id)): Plan {
    const ph = new Map<string, Pinhole | null>();
    // The table's entry of every id the ops touch, read once (a lookup in a table of 100,000 is a cache miss).
    const before = new Map<string, Pinhole | undefined>();
    const nb = new BindingPlan(this.bindings);
    const curP = (id: string): Pinhole | undefined => {
      const o = ph.get(id);
      if (o === null) return undefined;
      if (o !== undefined) return o;
      const b = pinholeOfId(id);
      before.set(id, b);
      return b;
    };
    for (const op of ops) {
      switch (op.kind) {
        case 'add':
          if (curP(op.pinhole.id) !== undefined) throw new EnforcementError('ENF_INVALID_SPEC', `pinhole id '${op.pinhole.id}' already in use`);
          ph.set(op.pinhole.id, op.pinhole);
          break;
        case 'remove':
          if (curP(op.id) === undefined) throw unknown('pinhole', op.id);
          ph.set(op.id, null);
          break;
        case 'refresh': {
          const c = curP(op.id);
          if (c === undefined) throw unknown('pinhole', op.id);
          ph.set(op.id, pinholeOf(c, c.id, op.expiresAt));
          break;
        }
        default:
          nb.op(op);
      }
    }
    const plan = emptyPlan(now);
    for (const [id, after] of ph) {
      const was = before.has(id) ? before.get(id) : pinholeOfId(id);
      if (after !== null && after.expiresAt <= now)
        throw new EnforcementError('ENF_INVALID_SPEC', `pinhole '${id}' would expire at ${after.expiresAt}, not after now (${now})`);
      if (was === undefined && after !== null) plan.added.push(after);
      else if (was !== undefined && after === null) plan.removed.push(was);
      else if (was !== undefined && after !== null && was.expiresAt !== after.expiresAt) plan.refreshed.push({ before: was, after });
    }
    const b = nb.changes(now);
    plan.addedBindings.push(...b.added);
    plan.removedBindings.push(...b.removed);
    plan.refreshedBindings.push(...b.refreshed);
    return plan;
  }

  apply(plan: Plan): void {
    for (const p of plan.removed) this.delete(p.id);
    for (const p of plan.added) this.insert(p);
    for (const r of plan.refreshed) {
      if (this.indexLookups) {
        this.delete(r.before.id);
        this.insert(r.after);
      } else this.pinholes.set(r.after.id, r.after); // same rule, new expiry: nothing to re-index
    }
    this.applyBindings(plan);
  }

  /** The NAT-binding half of `apply` (for a backend that keeps its pinholes in an index of its own). */
  applyBindings(plan: Plan): void {
    for (const b of plan.removedBindings) this.deleteBinding(b.id);
    for (const b of plan.addedBindings) this.insertBinding(b);
    for (const r of plan.refreshedBindings) this.insertBinding(r.after);
  }

  /** Everything that has expired by `now` (expiresAt <= now). */
  expired(now: number): { pinholes: Pinhole[]; bindings: NatBinding[] } {
    return {
      pinholes: [...this.pinholes.values()].filter((p) => p.expiresAt <= now),
      bindings: [...this.bindings.values()].filter((b) => b.expiresAt <= now),
    };
  }
}

/**
 * A transaction that records ops; the backend supplies ids and the commit.
 * Specs are validated when staged (add throws ENF_INVALID_SPEC at once), and
 * the whole op list again at commit against the table as it is then.
 */
export class StagedTransaction implements Transaction {
  private readonly ops: Op[] = [];
  private closed = false;
  private readonly stagedP = new Set<string>();
  private readonly stagedB = new Set<string>();

  constructor(
    private readonly table: { has(id: string): boolean; hasBinding(id: string): boolean },
    private readonly ids: { pinhole(spec: PinholeSpec): string; binding(spec: NatBindingSpec): string },
    private readonly doCommit: (ops: readonly Op[], now: number) => Promise<void>,
  ) {}

  private open(): void {
    if (this.closed) throw new EnforcementError('ENF_TX_CLOSED', 'transaction already committed or aborted');
  }

  add(spec: PinholeSpec): string {
    this.open();
    const n = normalizeSpec(spec);
    const id = this.ids.pinhole(n);
    this.ops.push({ kind: 'add', pinhole: pinholeOf(n, id) });
    this.stagedP.add(id);
    return id;
  }

  private knownP(id: string): void {
    if (!this.table.has(id) && !this.stagedP.has(id)) throw unknown('pinhole', id);
  }

  private knownB(id: string): void {
    if (!this.table.hasBinding(id) && !this.stagedB.has(id)) throw unknown('NAT binding', id);
  }

  remove(id: string): void {
    this.open();
    this.knownP(id);
    this.ops.push({ kind: 'remove', id });
  }

  refresh(id: string, expiresAt: number): void {
    this.open();
    this.knownP(id);
    if (!Number.isFinite(expiresAt)) throw new EnforcementError('ENF_INVALID_SPEC', 'expiresAt must be a finite number');
    this.ops.push({ kind: 'refresh', id, expiresAt });
  }

  addBinding(spec: NatBindingSpec): string {
    this.open();
    const n = normalizeBinding(spec);
    const id = this.ids.binding(n);
    this.ops.push({ kind: 'addBinding', binding: { ...n, id } });
    this.stagedB.add(id);
    return id;
  }

  removeBinding(id: string): void {
    this.open();
    this.knownB(id);
    this.ops.push({ kind: 'removeBinding', id });
  }

  refreshBinding(id: string, expiresAt: number): void {
    this.open();
    this.knownB(id);
    if (!Number.isFinite(expiresAt)) throw new EnforcementError('ENF_INVALID_SPEC', 'expiresAt must be a finite number');
    this.ops.push({ kind: 'refreshBinding', id, expiresAt });
  }

  async commit(now: number): Promise<void> {
    await this.doCommit(this.close(), now);
  }

  /** Closes the transaction for its commit and hands over its ops. */
  protected close(): readonly Op[] {
    this.open();
    this.closed = true;
    return this.ops;
  }

  abort(): void {
    this.closed = true;
  }
}
