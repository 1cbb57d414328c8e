/**
 * The memory enforcement backend as each simulated node sees it, wrapped so the
 * simulator learns when pinholes appear and disappear (for the report's counts
 * and for how long stale pinholes lived) and how many commits are in flight
 * (the run loop lets them settle before the clock moves on).
 */
import { MemoryPinholeSet } from '../enforcement/memory';
import type { ImmediateTransaction, LookupResult, NatBinding, NatBindingSpec, PacketKey, Pinhole, PinholeSet, PinholeSpec } from '../enforcement/types';

export interface PinholeObserver {
  added(node: number, now: number, ph: Pinhole): void;
  removed(node: number, now: number, ph: Pinhole): void;
}

/** Counts promises the cores are waiting for, across all nodes. */
export class AsyncTracker {
  pending = 0;
  /** Set when a promise was made since the run loop last let them settle. */
  touched = false;
  track<T>(p: Promise<T>): Promise<T> {
    this.pending++;
    this.touched = true;
    return p.finally(() => {
      this.pending--;
    });
  }
}

export class ObservedPinholeSet implements PinholeSet {
  readonly backend = 'memory';
  private inner = new MemoryPinholeSet();

  constructor(
    readonly node: number,
    private readonly observer: PinholeObserver,
    private readonly tracker: AsyncTracker,
  ) {}

  /** Pinholes installed now (the backend counts them without building them). */
  get size(): number {
    return this.inner.size;
  }

  /** What the data plane does with a packet here, as the backend answers it (deny wins over allow). */
  verdict(packet: PacketKey): 'allow' | 'deny' | 'none' {
    return this.inner.lookup(packet).verdict;
  }

  begin(): ImmediateTransaction {
    return new ObservedTransaction(this, this.inner.begin());
  }

  /** A transaction committed: tell the observer what went and what came (its pinholes as installed now). */
  committed(now: number, before: readonly Pinhole[], adds: readonly string[]): void {
    for (const p of before) {
      if (this.inner.get(p.id) !== undefined) continue;
      this.observer.removed(this.node, now, p);
    }
    for (const id of adds) {
      const p = this.inner.get(id);
      if (p === undefined) continue;
      this.observer.added(this.node, now, p);
    }
  }

  /** The pinhole `id` as installed now. */
  get(id: string): Pinhole | undefined {
    return this.inner.get(id);
  }

  /** Counts a promise the run loop waits for. */
  track<T>(p: Promise<T>): Promise<T> {
    return this.tracker.track(p);
  }

  list(): readonly Pinhole[] {
    return this.inner.list();
  }

  listBindings(): readonly NatBinding[] {
    return this.inner.listBindings();
  }

  lookup(packet: PacketKey): LookupResult {
    return this.inner.lookup(packet);
  }

  expire(now: number): Promise<{ pinholes: Pinhole[]; bindings: NatBinding[] }> {
    return this.tracker.track(
      this.inner.expire(now).then((gone) => {
        for (const p of gone.pinholes) {
          this.observer.removed(this.node, now, p);
        }
        return gone;
      }),
    );
  }

  /** A crash: the node's state is lost, and so is what it installed (the kernel table is rebuilt at restart). */
  wipe(now: number): void {
    for (const p of this.inner.list()) this.observer.removed(this.node, now, p);
    this.inner = new MemoryPinholeSet();
  }
}

/** A transaction on the backend that remembers what it adds and removes, for the observer (one object, no closures). */
class ObservedTransaction implements ImmediateTransaction {
  private readonly adds: string[] = [];
  private readonly removes: string[] = [];

  constructor(
    private readonly set: ObservedPinholeSet,
    private readonly tx: ImmediateTransaction,
  ) {}

  add(spec: PinholeSpec): string {
    const id = this.tx.add(spec);
    this.adds.push(id);
    return id;
  }

  remove(id: string): void {
    this.tx.remove(id);
    this.removes.push(id);
  }

  refresh(id: string, at: number): void {
    this.tx.refresh(id, at);
  }

  addBinding(spec: NatBindingSpec): string {
    return this.tx.addBinding(spec);
  }

  removeBinding(id: string): void {
    this.tx.removeBinding(id);
  }

  refreshBinding(id: string, at: number): void {
    this.tx.refreshBinding(id, at);
  }

  abort(): void {
    this.tx.abort();
  }

  commit(now: number): Promise<void> {
    const before = this.removedPinholes();
    const adds = this.adds;
    return this.set.track(this.tx.commit(now).then(() => this.set.committed(now, before, adds)));
  }

  commitNow(now: number): void {
    const before = this.removedPinholes();
    this.tx.commitNow(now);
    this.set.committed(now, before, this.adds);
  }

  /** The pinholes this transaction removes, as installed before it commits. */
  private removedPinholes(): Pinhole[] {
    const before: Pinhole[] = [];
    for (const id of this.removes) {
      const p = this.set.get(id);
      if (p !== undefined) before.push(p);
    }
    return before;
  }
}
