/**
 * `natfw testbed run` through a NAT (test/fixtures/testbed/nat-short.yaml, the
 * shipped nat-traversal made short): b behind nat1 reserves an external
 * address and port with EXTERNAL, a signals its flow with CREATE to them
 * through fw1 and the NAT, probes cross the nftables translation, and the
 * teardown closes it again. Every assertion must be checked and hold, and
 * nothing may be left behind.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestbedReport } from '../../testbed/scenario-run';
import { describeNetns } from '../helpers/netns';
import { namespacesOf, runTestbedFixture } from './run-fixture';

jest.setTimeout(90_000);


describeNetns(
  'natfw testbed run: EXTERNAL at an edge NAT and a flow through the translation, on real daemons',
  () => {
    const out = mkdtempSync(join(tmpdir(), 'natfw-tb-nat-'));
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('reserves at the NAT, signals through it, delivers through the translation, and cleans up', () => {
      const r = runTestbedFixture('nat-short.yaml', out, 80_000);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as TestbedReport;
      expect(report.daemons.sort()).toEqual(['a', 'b', 'fw1', 'nat1']);
      for (const a of report.assertions) expect([a.id, a.ok, a.checked, a.checks > 0, a.message]).toEqual([a.id, true, true, true, 'holds']);
      // The NAT answered with its external address and a port of its range; a's CREATE went there.
      const [x] = report.externals;
      expect([x.id, x.address, x.rejected]).toEqual(['x1', '198.18.100.1', null]);
      expect(x.port).toBeGreaterThanOrEqual(40000);
      expect(x.port).toBeLessThanOrEqual(40999);
      expect(report.timeline.some((e) => e.kind === 'probe' && e.what.includes(`-> 198.18.100.1:${x.port} (to 198.19.0.10:7000) delivered`))).toBe(true);
      // Probes after the teardown (14 s) did not pass; those while the session ran did.
      expect(report.probes.filter((p) => p.assertion === 'f1-blocked').length).toBeGreaterThan(0);
      expect(report.probes.filter((p) => p.assertion === 'f1-delivered').every((p) => p.delivered)).toBe(true);
      // fw1 and the NAT held the flow's pinhole while it ran, fw1 none at the end.
      const { t, pinholes } = report.series;
      const at = (node: string, s: number): number => pinholes[node][t.findIndex((v) => v >= s)];
      expect(at('fw1', 8)).toBe(1);
      expect(at('nat1', 8)).toBeGreaterThanOrEqual(1);
      expect(at('fw1', 20)).toBe(0);
      // The NAT logged the EXTERNAL reservation it answered (RFC 5973 s3.7.2).
      expect(readFileSync(join(out, 'logs', 'nat1.log'), 'utf8')).toMatch(/"event":"session.created"[^\n]*"kind":"EXTERNAL"/);
      // natfwd on the NAT lists its inside address first (testbed/scenario-plan.ts), yet names towards fw1
      // the external address its outside routes carry (RFC 5971 s5.2.2): fw1 could send every Confirm and
      // Data back to it. Naming the inside address, fw1's sends to it failed with ENETUNREACH (driver.error).
      expect(readFileSync(join(out, 'logs', 'nat1.log'), 'utf8')).toContain('"event":"natfwd.started","role":"nat","addresses":["198.19.0.1","198.18.100.1"]');
      for (const node of report.daemons) expect([node, readFileSync(join(out, 'logs', `${node}.log`), 'utf8').match(/"event":"driver\.error".*/g)]).toEqual([node, null]);
      // The page beside the JSON: the assertions and the pinhole chart of fw1 and the NAT.
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      expect(html).toContain('<td>✔</td><td>f1-on-path</td>');
      expect(html).toMatch(/<svg[\s\S]*>fw1<[\s\S]*>nat1</);
      expect(r.pid).toBeGreaterThan(0);
      expect(namespacesOf(r.pid)).toEqual([]);
    });
  },
  ['nft', 'tc'],
);
