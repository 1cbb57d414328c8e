/**
 * `natfw testbed run` on a short route-change scenario (test/fixtures/testbed/
 * route-flip.yaml): six namespaces, four real natfwd daemons with nftables at
 * both firewalls and tokens required, the route flipping at 12 s, probes
 * through the kernel's forwarding. The scenario holds one assertion meant to
 * fail: the run must exit 1 naming it and only it, every other assertion must
 * have been checked and hold, and nothing may be left behind.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestbedReport } from '../../testbed/scenario-run';
import { describeNetns } from '../helpers/netns';
import { namespacesOf, runTestbedFixture } from './run-fixture';

jest.setTimeout(180_000);


describeNetns(
  'natfw testbed run: a route change on real daemons',
  () => {
    const out = mkdtempSync(join(tmpdir(), 'natfw-tb-test-'));
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('replays the scenario, judges its assertions, writes the report and daemon logs, and removes its namespaces', () => {
      const r = runTestbedFixture('route-flip.yaml', out, 170_000);
      expect(r.stderr).toMatch(/^natfw: assertion failed: expected-to-fail \(line \d+\): at [\d.]+s: fw2 holds 1 pinholes, expected 0\n$/);
      expect(r.status).toBe(1);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as TestbedReport;
      expect(report.mode).toBe('testbed');
      expect(report.daemons.sort()).toEqual(['a', 'b', 'fw1', 'fw2']);
      for (const a of report.assertions) {
        if (a.id === 'expected-to-fail') expect(a.ok).toBe(false);
        else if (a.id === 'repair') expect(a.checked).toBe(false);
        else expect([a.id, a.ok, a.checked, a.checks > 0, a.message]).toEqual([a.id, true, true, true, 'holds']);
      }
      // The unsigned flow was refused by the path with RFC 5981's code; the others got sessions.
      const flows = new Map(report.flows.map((f) => [f.id, f]));
      expect(flows.get('unsigned')?.rejected).toMatch(/AUTHORIZATION_FAILED \(5\/0x02\)/);
      expect(flows.get('f1')?.session).toMatch(/^[0-9a-f]{32}$/);
      // fw1 held f1 before the flip and nothing at the end; fw2 nothing before it and f1 at the end.
      const { t, pinholes } = report.series;
      const at = (fw: string, s: number): number => pinholes[fw][t.findIndex((x) => x >= s)];
      expect([at('fw1', 5), at('fw2', 5)]).toEqual([2, 0]); // f1 and f2 at fw1
      expect([at('fw1', 45), at('fw2', 45)]).toEqual([0, 1]);
      expect(report.probes.some((p) => p.assertion === 'f2-delivered' && p.delivered)).toBe(true);
      expect(readdirSync(join(out, 'logs')).sort()).toEqual(['a.log', 'b.log', 'fw1.log', 'fw2.log']);
      expect(readFileSync(join(out, 'logs', 'fw1.log'), 'utf8')).toMatch(/"event":"authorization.refused"/);
      expect(r.pid).toBeGreaterThan(0);
      expect(namespacesOf(r.pid)).toEqual([]);
    });
  },
  ['nft', 'tc'],
);
