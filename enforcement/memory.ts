/**
 * The memory backend: the reference semantics of a pinhole set, with no
 * kernel behind it. The simulator and the protocol core's tests use it; the
 * kernel backends are tested against its answers. Pinholes are rows of the
 * compact table (compact.ts: ~80 bytes each); Pinhole objects are built when
 * asked for.
 */
import { CompactPinholeTable } from './compact';
import { EnforcementError } from './errors';
import { type Op, StagedTransaction } from './table';
import type { ImmediateTransaction, LookupResult, NatBinding, PacketKey, Pinhole, PinholeSet } from './types';

export class MemoryPinholeSet implements PinholeSet {
  readonly backend = 'memory';
  private readonly table = new CompactPinholeTable();
  private nextPinhole = 1;
  private nextBinding = 1;
  /** How transactions name what they add (made once: a simulation begins millions of transactions). */
  private readonly ids = { pinhole: (): string => this.newPinholeId(), binding: (): string => `nb-${(this.nextBinding++).toString(16)}` };

  begin(): ImmediateTransaction {
    return new MemoryTransaction(this.table, this.ids, this);
  }

  /** Pinhole numbers are 32-bit (the compact table's rows); after 2^32 - 1 they wrap, skipping numbers in use. */
  private newPinholeId(): string {
    for (;;) {
      const id = `ph-${this.nextPinhole.toString(16)}`;
      this.nextPinhole = this.nextPinhole >= 0xffffffff ? 1 : this.nextPinhole + 1;
      if (!this.table.has(id)) return id;
    }
  }

  /** Applies a transaction's ops at once, all or nothing. */
  commitOps(ops: readonly Op[], now: number): void {
    if (!Number.isFinite(now)) throw new EnforcementError('ENF_INVALID_SPEC', 'now must be a finite number');
    // plan() validates everything first and throws before any change: all or nothing.
    this.table.apply(this.table.plan(ops, now));
  }

  /** Number of pinholes (without building them). */
  get size(): number {
    return this.table.size;
  }

  list(): readonly Pinhole[] {
    return this.table.list();
  }

  listBindings(): readonly NatBinding[] {
    return this.table.listBindings();
  }

  get(id: string): Pinhole | undefined {
    return this.table.get(id);
  }

  lookup(packet: PacketKey): LookupResult {
    return this.table.lookup(packet);
  }

  async expire(now: number): Promise<{ pinholes: Pinhole[]; bindings: NatBinding[] }> {
    const gone = this.table.expired(now);
    const pinholes = gone.slots.map((s) => this.table.pinholeAt(s));
    for (const s of gone.slots) this.table.deleteSlot(s);
    for (const b of gone.bindings) this.table.deleteBinding(b.id);
    return { pinholes, bindings: gone.bindings };
  }
}

/** A transaction on the memory set: nothing to wait for, so it also commits at once. */
class MemoryTransaction extends StagedTransaction implements ImmediateTransaction {
  constructor(
    table: CompactPinholeTable,
    ids: { pinhole(): string; binding(): string },
    private readonly set: MemoryPinholeSet,
  ) {
    super(table, ids, async (ops, now) => set.commitOps(ops, now));
  }

  commitNow(now: number): void {
    this.set.commitOps(this.close(), now);
  }
}
