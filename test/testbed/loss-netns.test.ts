/**
 * `natfw testbed run` with a loss_burst (test/fixtures/testbed/loss-burst.yaml):
 * this kernel has no netem, so the burst is an nftables drop rule on both ends
 * of the link for its duration. The flow must pass before and after the burst
 * and not during it, and no namespace may be left.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestbedReport } from '../../testbed/scenario-run';
import { describeNetns } from '../helpers/netns';
import { namespacesOf, runTestbedFixture } from './run-fixture';

jest.setTimeout(60_000);


describeNetns(
  'natfw testbed run: a loss burst on real daemons',
  () => {
    const out = mkdtempSync(join(tmpdir(), 'natfw-tb-loss-'));
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('drops the flow during the burst only', () => {
      const r = runTestbedFixture('loss-burst.yaml', out, 55_000);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as TestbedReport;
      for (const a of report.assertions) expect([a.id, a.ok, a.checked, a.checks > 0, a.message]).toEqual([a.id, true, true, true, 'holds']);
      const probes = (id: string): boolean[] => report.probes.filter((p) => p.assertion === id).map((p) => p.delivered);
      expect(probes('before').length).toBeGreaterThan(0);
      expect(probes('during')).toEqual(probes('during').map(() => false));
      expect(probes('after')).toEqual(probes('after').map(() => true));
      expect(report.timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(['loss_burst', 'loss_burst-end']));
      expect(report.timeline.filter((e) => e.kind === 'error')).toEqual([]);
      expect(namespacesOf(r.pid)).toEqual([]);
    });
  },
  ['nft', 'tc'],
);
