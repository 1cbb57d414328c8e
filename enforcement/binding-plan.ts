/**
 * The NAT-binding half of a transaction's plan, shared by both pinhole tables
 * (table.ts, compact.ts): the ops in order against the bindings as they are,
 * then the net change. Same rules as for pinholes: an id in use cannot be
 * added, an unknown one cannot be removed or refreshed, and nothing may end
 * up expired.
 */
import { EnforcementError } from './errors';
import type { NatBinding } from './types';

export type BindingOp =
  | { readonly kind: 'addBinding'; readonly binding: NatBinding }
  | { readonly kind: 'removeBinding'; readonly id: string }
  | { readonly kind: 'refreshBinding'; readonly id: string; readonly expiresAt: number };

export interface BindingChanges {
  readonly added: NatBinding[];
  readonly removed: NatBinding[];
  readonly refreshed: { readonly before: NatBinding; readonly after: NatBinding }[];
}

export function unknownId(what: string, id: string): EnforcementError {
  return new EnforcementError('ENF_UNKNOWN_PINHOLE', `no ${what} with id '${id}'`);
}

export class BindingPlan {
  /** id -> binding after the ops so far, or null when removed. */
  private readonly next = new Map<string, NatBinding | null>();

  constructor(private readonly current: ReadonlyMap<string, NatBinding>) {}

  private cur(id: string): NatBinding | undefined {
    const o = this.next.get(id);
    return o === null ? undefined : (o ?? this.current.get(id));
  }

  /** Applies one op in order; throws EnforcementError when it does not apply. */
  op(op: BindingOp): void {
    switch (op.kind) {
      case 'addBinding':
        if (this.cur(op.binding.id) !== undefined) throw new EnforcementError('ENF_INVALID_SPEC', `binding id '${op.binding.id}' already in use`);
        this.next.set(op.binding.id, op.binding);
        break;
      case 'removeBinding':
        if (this.cur(op.id) === undefined) throw unknownId('NAT binding', op.id);
        this.next.set(op.id, null);
        break;
      case 'refreshBinding': {
        const c = this.cur(op.id);
        if (c === undefined) throw unknownId('NAT binding', op.id);
        this.next.set(op.id, { ...c, expiresAt: op.expiresAt });
        break;
      }
    }
  }

  /** The net change against the current bindings; throws when a binding would be expired at `now`. */
  changes(now: number): BindingChanges {
    const out: BindingChanges = { added: [], removed: [], refreshed: [] };
    for (const [id, after] of this.next) {
      const before = this.current.get(id);
      if (after !== null && after.expiresAt <= now)
        throw new EnforcementError('ENF_INVALID_SPEC', `NAT binding '${id}' would expire at ${after.expiresAt}, not after now (${now})`);
      if (before === undefined && after !== null) out.added.push(after);
      else if (before !== undefined && after === null) out.removed.push(before);
      else if (before !== undefined && after !== null && before.expiresAt !== after.expiresAt) out.refreshed.push({ before, after });
    }
    return out;
  }
}
