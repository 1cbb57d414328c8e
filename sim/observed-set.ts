/**
 * The memory enforcement backend as each simulated node sees it, wrapped so the
 * simulator learns when pinholes appear and disappear (for the report's counts
 * and for how long stale pinholes lived) and how many commits are in flight
 * (the run loop lets them settle before the clock moves on).
 */
import { MemoryPinholeSet } from '../enforcement/memory';
import type { LookupResult, NatBinding, NatBindingSpec, PacketKey, Pinhole, PinholeSet, PinholeSpec, Transaction } from '../enforcement/types';

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

  begin(): Transaction {
    const tx = this.inner.begin();
    const adds: string[] = [];
    const removes: string[] = [];
    const set = this;
    return {
      add(spec: PinholeSpec): string {
        const id = tx.add(spec);
        adds.push(id);
        return id;
      },
      remove(id: string): void {
        tx.remove(id);
        removes.push(id);
      },
      refresh: (id, at) => tx.refresh(id, at),
      addBinding: (spec: NatBindingSpec) => tx.addBinding(spec),
      removeBinding: (id) => tx.removeBinding(id),
      refreshBinding: (id, at) => tx.refreshBinding(id, at),
      abort: () => tx.abort(),
      commit(now: number): Promise<void> {
        const before = removes.map((id) => set.inner.get(id)).filter((p): p is Pinhole => p !== undefined);
        return set.tracker.track(
          tx.commit(now).then(() => {
            for (const p of before) {
              if (set.inner.get(p.id) !== undefined) continue;
              set.observer.removed(set.node, now, p);
            }
            for (const id of adds) {
              const p = set.inner.get(id);
              if (p === undefined) continue;
              set.observer.added(set.node, now, p);
            }
          }),
        );
      },
    };
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
