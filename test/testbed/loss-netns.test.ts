/**
 * `natfw testbed run` with a loss_burst (test/fixtures/testbed/loss-burst.yaml):
 * this kernel has no netem, so the burst is an nftables drop rule on both ends
 * of the link for its duration. The flow must pass before and after the burst
 * and not during it, and no namespace may be left.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestbedReport } from '../../testbed/scenario-run';
import { describeNetns } from '../helpers/netns';

jest.setTimeout(60_000);

const BIN = join(__dirname, '../../dist/bin/natfw.js');
/** The namespaces a `natfw testbed run` with this PID made (NetnsLab names them nftbd<pid>x...); other tests run beside this one. */
const namespacesOf = (pid: number | undefined): string[] =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`nftbd${(pid ?? 0) % 100000}x`));

describeNetns(
  'natfw testbed run: a loss burst on real daemons',
  () => {
    const out = mkdtempSync(join(tmpdir(), 'natfw-tb-loss-'));
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('drops the flow during the burst only', () => {
      const r = spawnSync(process.execPath, [BIN, 'testbed', 'run', join(__dirname, '../fixtures/testbed/loss-burst.yaml'), '--out', out, '--quiet'], { encoding: 'utf8', timeout: 55_000 });
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
