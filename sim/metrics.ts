/** Figures the simulator collects during a run, and small statistics helpers for the report. */

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export interface Distribution {
  count: number;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export function distribution(values: readonly number[]): Distribution {
  const s = [...values].sort((a, b) => a - b);
  const r = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);
  return {
    count: s.length,
    min: r(s.length > 0 ? s[0] : null),
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    max: r(s.length > 0 ? s[s.length - 1] : null),
    mean: r(s.length > 0 ? s.reduce((a, b) => a + b, 0) / s.length : null),
  };
}

/** A counter keyed by label, serialized with sorted keys so reports are stable. */
export class Counter {
  private m = new Map<string, number>();
  add(key: string, n = 1): void {
    this.m.set(key, (this.m.get(key) ?? 0) + n);
  }
  get(key: string): number {
    return this.m.get(key) ?? 0;
  }
  total(): number {
    let t = 0;
    for (const v of this.m.values()) t += v;
    return t;
  }
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.m.keys()].sort()) out[k] = this.m.get(k) as number;
    return out;
  }
}
