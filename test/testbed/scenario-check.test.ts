/**
 * The scenario's assertions judged on what a testbed run saw
 * (testbed/scenario-check.ts), on hand-made observations. No root needed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../../sim/scenario/parse';
import type { Scenario } from '../../sim/scenario/types';
import { checkAssertions, probeTimes, type FlowRecord, type Observations, type Sample } from '../../testbed/scenario-check';

function flip(): Scenario {
  const r = parseScenario(readFileSync(join(__dirname, '../fixtures/testbed/route-flip.yaml'), 'utf8'));
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const S1 = 'aa'.repeat(16);
const S2 = 'bb'.repeat(16);
const OLD = ['a', 'r1', 'fw1', 'r2', 'b'];
const NEW = ['a', 'r1', 'fw2', 'r2', 'b'];

/** One sample per second: f1 on fw1 until 12 s, on fw2 from 18 s, gone from fw1 at 30 s; f2 on fw1 from 2 s to 8 s. */
function observations(s: Scenario, tweak: (t: number, pins: Record<string, Array<{ owner: string; action: string }>>) => void = () => undefined): Observations {
  const flows = new Map<string, FlowRecord>(s.flows.map((f) => [f.id, { spec: f }]));
  Object.assign(flows.get('f1') as FlowRecord, { session: S1, establishedAtMs: 1100 });
  Object.assign(flows.get('f2') as FlowRecord, { session: S2, establishedAtMs: 2050, endedAtMs: 8000 });
  Object.assign(flows.get('unsigned') as FlowRecord, { rejected: { atMs: 2040, responseClass: 5, responseCode: 2, message: 'refused' } });
  const samples: Sample[] = [];
  for (let t = 0; t <= 50; t++) {
    const pins: Record<string, Array<{ owner: string; action: string }>> = { fw1: [], fw2: [] };
    if (t >= 2 && t < 30) pins.fw1.push({ owner: S1, action: 'allow' });
    if (t >= 18) pins.fw2.push({ owner: S1, action: 'allow' });
    if (t >= 3 && t < 8) pins.fw1.push({ owner: S2, action: 'allow' });
    tweak(t, pins);
    const path = t < 12 ? OLD : NEW;
    samples.push({ atMs: t * 1000 + 100, pinholes: pins, paths: { f1: { path, sinceMs: t < 12 ? 0 : 12_000 }, f2: { path: [...path].reverse(), sinceMs: t < 12 ? 0 : 12_000 }, unsigned: { path, sinceMs: 0 } } });
  }
  const probes = [
    ...['f1-delivered', 'f2-delivered', 'f1-delivered-on-fw2'].map((assertion) => ({ assertion, atMs: 5000, delivered: true })),
    ...['unsigned-blocked', 'f2-blocked'].map((assertion) => ({ assertion, atMs: 11_000, delivered: false })),
  ];
  return { firewalls: ['fw1', 'fw2'], flows, samples, probes };
}

const byId = (outcomes: ReturnType<typeof checkAssertions>) => new Map(outcomes.map((o) => [o.id, o]));

describe('testbed assertions', () => {
  it('holds where the observations match, fails the one meant to fail, and skips what only the simulator measures', () => {
    const out = byId(checkAssertions(flip(), observations(flip()), 1500));
    for (const [id, o] of out) {
      if (id === 'expected-to-fail') expect(o).toMatchObject({ ok: false, checked: true, message: 'at 44.1s: fw2 holds 1 pinholes, expected 0', firstFailureAtS: 44.1 });
      else if (id === 'repair') expect(o).toMatchObject({ ok: true, checked: false, checks: 0 });
      else expect([id, o.ok, o.message]).toEqual([id, true, 'holds']);
    }
    expect(out.get('f1-on-fw1')?.checks).toBe(6); // samples at 4.1 .. 9.1 s, inside [2 + 1.5, 11 - 1.5]
  });

  it('fails allowed_on_path for a missing pinhole on the path and for one left off the path', () => {
    const s = flip();
    const missing = byId(checkAssertions(s, observations(s, (t, p) => t === 5 && (p.fw1 = p.fw1.filter((x) => x.owner !== S1))), 1500));
    expect(missing.get('f1-on-fw1')).toMatchObject({ ok: false, message: 'at 5.1s: flow f1 has no allow pinhole at fw1 on its path (fw1)' });
    const stale = byId(checkAssertions(s, observations(s, (t, p) => t === 45 && p.fw1.push({ owner: S1, action: 'allow' })), 1500));
    expect(stale.get('f1-on-fw2-only')).toMatchObject({ ok: false, message: 'at 45.1s: flow f1 still has pinholes off its path at fw1' });
    expect(stale.get('all-on-path')?.ok).toBe(true);
  });

  it('does not count a deny pinhole as an allow one', () => {
    const s = flip();
    const out = byId(checkAssertions(s, observations(s, (t, p) => t === 6 && (p.fw1 = p.fw1.map((x) => ({ ...x, action: 'deny' })))), 1500));
    expect(out.get('f1-on-fw1')?.ok).toBe(false);
    expect(out.get('all-on-path')?.ok).toBe(true); // its settle time (28 s) excludes t = 6 s
  });

  it('judges established, rejected (with class and code), probes and windows with no sample', () => {
    const s = flip();
    const obs = observations(s);
    (obs.flows.get('f1') as FlowRecord).establishedAtMs = 3600; // by 2 s + 1.5 s slack: late
    (obs.flows.get('unsigned') as FlowRecord).rejected = { atMs: 2040, responseClass: 7, responseCode: 6, message: 'x' };
    const probes = [...obs.probes, { assertion: 'f2-blocked', atMs: 11_500, delivered: true }];
    const out = byId(checkAssertions(s, { ...obs, probes, samples: obs.samples.filter((x) => x.atMs < 40_000) }, 1500));
    expect(out.get('f1-established')).toMatchObject({ ok: false, message: 'flow f1 was not established by 2s (at 3.60s)' });
    expect(out.get('unsigned-refused')).toMatchObject({ ok: false, message: 'flow unsigned was rejected with class 7 code 6, expected class 5 code 2' });
    expect(out.get('f2-blocked')).toMatchObject({ ok: false, message: 'at 11.5s: a probe of flow f2 arrived' });
    expect(out.get('f1-on-fw2-only')).toMatchObject({ ok: false, message: 'no sample fell inside its window: nothing was checked' });
    const unprobed = byId(checkAssertions(s, { ...obs, probes: [] }, 1500));
    expect(unprobed.get('f1-delivered')).toMatchObject({ ok: false, message: 'no probe ran: its window (less the slack) is shorter than a probe takes (1.5 s)' });
  });

  it('judges established_fraction_min as the simulator counts it: established of all flows started', () => {
    const s = flip();
    const text = readFileSync(join(__dirname, '../fixtures/testbed/route-flip.yaml'), 'utf8');
    const parsed = parseScenario(text.replace('assertions:\n', 'assertions:\n  - { id: most, kind: established_fraction_min, fraction: 0.6 }\n  - { id: all, kind: established_fraction_min, fraction: 1 }\n'));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const out = byId(checkAssertions(parsed.value, observations(s), 1500));
    // f1 and f2 established, unsigned rejected: 2 of 3.
    expect(out.get('most')).toMatchObject({ ok: true, checked: true, checks: 1 });
    expect(out.get('all')).toMatchObject({ ok: false, checked: true, message: '2 of 3 sessions established (66.67%, min 100.00%)' });
  });

  it('does not judge a flow whose teardown fell within a sample\'s reads (the kernel may have been read after it)', () => {
    const text = readFileSync(join(__dirname, '../fixtures/testbed/route-flip.yaml'), 'utf8');
    const parsed = parseScenario(text.replace('assertions:\n', 'assertions:\n  - { id: tight, kind: all_allowed_on_path, settle: 1s, until: 11s }\n'));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const s = parsed.value;
    // f2 torn down at 8.2 s; the sample at 8.1 s (reads 7.6 .. 8.6 s) no longer saw its pinhole.
    const obs = observations(s);
    (obs.flows.get('f2') as FlowRecord).endedAtMs = 8200;
    const samples = obs.samples.map((x) => (x.atMs === 8100 ? { ...x, fromMs: 7600, untilMs: 8600 } : x));
    expect(byId(checkAssertions(s, { ...obs, samples }, 1500)).get('tight')).toMatchObject({ ok: true, checked: true });
    // Had the reads ended before the teardown, the missing pinhole is a failure.
    const early = obs.samples.map((x) => (x.atMs === 8100 ? { ...x, fromMs: 7600, untilMs: 8150 } : x));
    expect(byId(checkAssertions(s, { ...obs, samples: early }, 1500)).get('tight')).toMatchObject({ ok: false, message: 'at 8.1s: flow f2 is not allowed at fw1 on its path (fw1)' });
  });

  it('probes near both ends of a window and every 10 s between, never past the run', () => {
    expect(probeTimes({ fromMs: 2000, untilMs: 11_000 }, 1500, 50_000)).toEqual([3500, 8000]);
    expect(probeTimes({ fromMs: 0, untilMs: 50_000 }, 1000, 50_000)).toEqual([1000, 11_000, 21_000, 31_000, 41_000, 48_500]);
    expect(probeTimes({ fromMs: 9000, untilMs: 10_000 }, 1500, 50_000)).toEqual([]);
  });
});
