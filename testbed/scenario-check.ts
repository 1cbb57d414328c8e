/**
 * A scenario's assertions judged against what a testbed run observed, with no
 * I/O: the kernel pinholes each firewall held at each sample, the flows' paths
 * as the routing tables had them, the answers to CREATE, and the data-plane
 * probes. The meaning of each assertion is the simulator's (sim/engine.ts);
 * real daemons take real time, so each window's edges give `slackMs` to the
 * processes (the simulator's instants are exact, the kernel's are not).
 */
import type { AssertionSpec, FlowSpec, Scenario } from '../sim/scenario/types';
import { SIMULATOR_ONLY_ASSERTIONS } from './scenario-plan';

export interface FlowRecord {
  readonly spec: FlowSpec;
  /** The Session ID natfwd answered with (hex): kernel pinholes carry it as their owner. */
  session?: string;
  /** When the control request went to the NI (for the setup time). */
  requestedAtMs?: number;
  establishedAtMs?: number;
  grantedLifetimeS?: number;
  rejected?: { atMs: number; responseClass?: number; responseCode?: number; message: string };
  /** Torn down by its NI, by an operator, or its NI crashed. */
  endedAtMs?: number;
}

export interface KernelEntry {
  readonly owner: string;
  readonly action: string;
}

export interface Sample {
  /** The middle of the reads. */
  readonly atMs: number;
  /** When the first read began and the last ended (default atMs): what changed in between may or may not be in it. */
  readonly fromMs?: number;
  readonly untilMs?: number;
  /** Firewall id -> the pinholes its kernel held (signalling transit pinholes left out). */
  readonly pinholes: Readonly<Record<string, readonly KernelEntry[]>>;
  /** Flow id -> the nodes of its data path now (null: unreachable), and since when that path holds. */
  readonly paths: Readonly<Record<string, { readonly path: readonly string[] | null; readonly sinceMs: number }>>;
}

export interface ProbeRecord {
  readonly assertion: string;
  readonly atMs: number;
  readonly delivered: boolean;
}

export interface Observations {
  readonly firewalls: readonly string[];
  readonly flows: ReadonlyMap<string, FlowRecord>;
  readonly samples: readonly Sample[];
  readonly probes: readonly ProbeRecord[];
}

export interface AssertionOutcome {
  readonly id: string;
  readonly kind: string;
  readonly line: number;
  /** False for figures only the simulator measures (repair time, stale pinhole age, latency percentiles). */
  readonly checked: boolean;
  readonly ok: boolean;
  readonly checks: number;
  readonly message: string;
  readonly firstFailureAtS?: number;
}

const names = (ids: readonly string[]): string => (ids.length === 0 ? 'none' : ids.join(', '));

class Outcome {
  ok = true;
  checks = 0;
  message = 'holds';
  firstFailureAtMs: number | undefined;

  fail(atMs: number | undefined, message: string): void {
    this.checks++;
    if (!this.ok) return;
    this.ok = false;
    this.firstFailureAtMs = atMs;
    this.message = atMs === undefined ? message : `at ${(atMs / 1000).toFixed(1)}s: ${message}`;
  }

  pass(): void {
    this.checks++;
  }
}

/** Judges every assertion of `s`; windows shrink by `slackMs` at their start (and their end, when it is not the run's). */
export function checkAssertions(s: Scenario, obs: Observations, slackMs: number): AssertionOutcome[] {
  return s.assertions.map((a) => {
    if (SIMULATOR_ONLY_ASSERTIONS.has(a.kind)) {
      return { id: a.id, kind: a.kind, line: a.line, checked: false, ok: true, checks: 0, message: 'measured by the simulator only; not checked on the testbed' };
    }
    const o = new Outcome();
    judge(a, obs, slackMs, s.durationMs, o);
    if (o.ok && o.checks === 0) {
      const probed = a.kind === 'delivered' || a.kind === 'blocked';
      o.fail(undefined, probed ? 'no probe ran: its window (less the slack) is shorter than a probe takes (1.5 s)' : 'no sample fell inside its window: nothing was checked');
    }
    return {
      id: a.id, kind: a.kind, line: a.line, checked: true, ok: o.ok, checks: o.checks, message: o.message,
      ...(o.firstFailureAtMs !== undefined ? { firstFailureAtS: Math.round(o.firstFailureAtMs) / 1000 } : {}),
    };
  });
}

/** [from, until] shrunk by the slack; `until` at or past the run's end stays at the end. */
export function window(a: { fromMs: number; untilMs: number }, slackMs: number, durationMs: number): [number, number] {
  return [a.fromMs + slackMs, a.untilMs >= durationMs ? durationMs : a.untilMs - slackMs];
}

function judge(a: AssertionSpec, obs: Observations, slackMs: number, durationMs: number, o: Outcome): void {
  const flow = 'flow' in a ? obs.flows.get(a.flow) : undefined;
  const inWindow = (x: { fromMs: number; untilMs: number }): Sample[] => {
    const [from, until] = window(x, slackMs, durationMs);
    return obs.samples.filter((p) => p.atMs >= from && p.atMs <= until);
  };
  const holders = (smp: Sample, session: string | undefined, action?: string): string[] =>
    session === undefined ? [] : obs.firewalls.filter((fw) => (smp.pinholes[fw] ?? []).some((p) => p.owner === session && (action === undefined || p.action === action)));
  const firewallsOn = (smp: Sample, id: string): string[] | null => {
    const p = smp.paths[id]?.path;
    return p === null || p === undefined ? null : p.filter((n) => obs.firewalls.includes(n));
  };
  switch (a.kind) {
    case 'allowed_on_path':
    case 'denied_on_path': {
      const want = a.kind === 'allowed_on_path' ? 'allow' : 'deny';
      for (const smp of inWindow(a)) {
        if (flow?.session === undefined) {
          o.fail(smp.atMs, `flow ${a.flow} has no session`);
          continue;
        }
        const fws = firewallsOn(smp, a.flow);
        if (fws === null) {
          o.fail(smp.atMs, `flow ${a.flow} has no route`);
          continue;
        }
        const have = holders(smp, flow.session, want);
        const missing = fws.filter((fw) => !have.includes(fw));
        const elsewhere = holders(smp, flow.session).filter((fw) => !fws.includes(fw));
        if (missing.length > 0) o.fail(smp.atMs, `flow ${a.flow} has no ${want} pinhole at ${names(missing)} on its path (${names(fws)})`);
        else if (a.kind === 'allowed_on_path' && elsewhere.length > 0) o.fail(smp.atMs, `flow ${a.flow} still has pinholes off its path at ${names(elsewhere)}`);
        else o.pass();
      }
      return;
    }
    case 'all_allowed_on_path':
      for (const smp of inWindow(a)) {
        let bad: string | undefined;
        for (const [id, f] of obs.flows) {
          if (bad !== undefined) break;
          const p = smp.paths[id];
          if (f.session === undefined || f.establishedAtMs === undefined || p === undefined) continue;
          // Settled before the reads began, and not ending before they were over (a teardown crossing a read is not judged).
          const from = smp.fromMs ?? smp.atMs;
          if (f.establishedAtMs > from - a.settleMs || p.sinceMs > from - a.settleMs) continue;
          if (f.endedAtMs !== undefined && f.endedAtMs <= (smp.untilMs ?? smp.atMs)) continue;
          const fws = firewallsOn(smp, id);
          if (fws === null) continue;
          const have = holders(smp, f.session, f.spec.action);
          const missing = fws.filter((fw) => !have.includes(fw));
          if (missing.length > 0) bad = `flow ${id} is not ${f.spec.action === 'allow' ? 'allowed' : 'denied'} at ${names(missing)} on its path (${names(fws)})`;
        }
        if (bad !== undefined) o.fail(smp.atMs, bad);
        else o.pass();
      }
      return;
    case 'no_pinholes_for':
      for (const smp of inWindow(a)) {
        const at = holders(smp, flow?.session);
        if (at.length > 0) o.fail(smp.atMs, `flow ${a.flow} still has pinholes at ${names(at)}`);
        else o.pass();
      }
      return;
    case 'pinholes':
      for (const smp of inWindow(a)) {
        const n = (smp.pinholes[a.node] ?? []).length;
        const ok = a.op === 'eq' ? n === a.value : a.op === 'le' ? n <= a.value : n >= a.value;
        if (ok) o.pass();
        else o.fail(smp.atMs, `${a.node} holds ${n} pinholes, expected ${a.op === 'eq' ? '' : a.op === 'le' ? 'at most ' : 'at least '}${a.value}`);
      }
      return;
    case 'delivered':
    case 'blocked':
      for (const p of obs.probes) {
        if (p.assertion !== a.id) continue;
        if (p.delivered === (a.kind === 'delivered')) o.pass();
        else o.fail(p.atMs, a.kind === 'delivered' ? `a probe of flow ${a.flow} did not arrive` : `a probe of flow ${a.flow} arrived`);
      }
      return;
    case 'established':
      if (flow?.establishedAtMs !== undefined && flow.establishedAtMs <= a.byMs + slackMs) o.pass();
      else if (flow?.rejected !== undefined) o.fail(undefined, `flow ${a.flow} was rejected: ${flow.rejected.message}`);
      else o.fail(undefined, `flow ${a.flow} was not established by ${a.byMs / 1000}s${flow?.establishedAtMs !== undefined ? ` (at ${(flow.establishedAtMs / 1000).toFixed(2)}s)` : ''}`);
      return;
    case 'established_fraction_min': {
      // As the simulator counts: every flow started (explicit and generated), established at some time.
      const started = [...obs.flows.values()].filter((f) => f.spec.startMs <= durationMs);
      const est = started.filter((f) => f.establishedAtMs !== undefined).length;
      const frac = started.length === 0 ? 0 : est / started.length;
      if (frac >= a.fraction) o.pass();
      else o.fail(undefined, `${est} of ${started.length} sessions established (${(frac * 100).toFixed(2)}%, min ${(a.fraction * 100).toFixed(2)}%)`);
      return;
    }
    case 'rejected': {
      const r = flow?.rejected;
      if (r === undefined || r.atMs > a.byMs + slackMs) o.fail(undefined, flow?.establishedAtMs !== undefined ? `flow ${a.flow} was established` : `flow ${a.flow} was not rejected by ${a.byMs / 1000}s`);
      else if ((a.responseClass !== undefined && r.responseClass !== a.responseClass) || (a.responseCode !== undefined && r.responseCode !== a.responseCode)) {
        o.fail(undefined, `flow ${a.flow} was rejected with class ${r.responseClass ?? '?'} code ${r.responseCode ?? '?'}, expected class ${a.responseClass ?? 'any'} code ${a.responseCode ?? 'any'}`);
      } else o.pass();
      return;
    }
    default:
      // Simulator-only kinds are answered before judge() is called.
      o.fail(undefined, `assertion kind ${a.kind} is not judged on the testbed`);
  }
}

/** When to probe for a delivered/blocked assertion: near both ends of its window and every 10 s between. */
export function probeTimes(a: { fromMs: number; untilMs: number }, slackMs: number, durationMs: number): number[] {
  // A probe takes up to ~1.5 s (three tries): the last starts that long before the window (or the run) ends.
  const [from, until0] = window(a, slackMs, durationMs);
  const until = Math.min(until0, durationMs) - 1500;
  if (until < from) return [];
  const out = [from];
  for (let t = from + 10_000; t < until; t += 10_000) out.push(t);
  if (until > from) out.push(until);
  return out;
}
