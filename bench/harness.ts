/**
 * Benchmarks: each `bench/*.bench.ts` exports `benches`, a list of groups. A
 * group measures its figures side by side in one run (ratios are what is
 * comparable on a shared, noisy machine) and emits one JSON line per figure:
 *   {"bench":"<name>","value":<number>,"unit":"<unit>", ...context}
 */
export interface BenchLine {
  bench: string;
  value: number;
  unit: string;
  [context: string]: string | number | boolean;
}

export interface BenchGroup {
  /** Every figure name the group can emit; `--filter` selects groups by these. */
  names: string[];
  /** Emits the group's figures; `emit` drops figures the filter excludes. */
  run(emit: (line: BenchLine) => void): Promise<void> | void;
}

/**
 * Operations per second measured both ways: per CPU second of this process
 * (what compares on a shared, busy machine) and per wall second.
 */
export function rates(fn: () => void, minMs = 1000): { perCpuSecond: number; perWallSecond: number; calls: number } {
  const warmEnd = process.hrtime.bigint() + BigInt(Math.floor(minMs / 5)) * 1_000_000n;
  while (process.hrtime.bigint() < warmEnd) fn();
  const c0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(minMs) * 1_000_000n;
  let calls = 0;
  let now = start;
  do {
    for (let i = 0; i < 64; i++) fn();
    calls += 64;
    now = process.hrtime.bigint();
  } while (now < end);
  const c = process.cpuUsage(c0);
  const wall = Number(now - start) / 1e9;
  const cpu = (c.user + c.system) / 1e6;
  return { perCpuSecond: calls / cpu, perWallSecond: calls / wall, calls };
}

export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
