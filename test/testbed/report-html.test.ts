/**
 * DIR/report.html of a testbed run (testbed/scenario-run.ts renderTestbedHtml),
 * from a hand-made report: the assertions, the chart of kernel pinholes with
 * the events marked, the tables, text escaped. No root needed.
 */
import { renderTestbedHtml, type TestbedReport } from '../../testbed/scenario-run';

function report(): TestbedReport {
  return {
    scenario: { name: 'n<1>', description: 'a & b', durationS: 3, nodes: 3, links: 2, flows: 1, generatedFlows: 0, externals: 0, events: 1 },
    mode: 'testbed', ok: false, aborted: false, daemons: ['a', 'fw', 'b'], notes: ['no netem'],
    flows: [{ id: 'f1', session: 'aa'.repeat(16), establishedAtS: 1.02, grantedLifetimeS: 30, rejected: null, endedAtS: null }],
    externals: [], setupMs: { count: 1, p50: 20, p99: 20, max: 20 },
    timeline: [{ atS: 2, kind: 'link_down', what: 'fw-b' }],
    series: { t: [0, 1, 2], pinholes: { fw: [0, 1, 0] } },
    probes: [{ assertion: 'f1-delivered', atS: 1.5, delivered: true }],
    assertions: [
      { id: 'f1-on-path', kind: 'allowed_on_path', line: 20, checked: true, ok: false, checks: 2, message: 'at 2.1s: flow f1 has no allow pinhole at fw on its path (fw)', firstFailureAtS: 2.1 },
      { id: 'repair', kind: 'repair_time_max', line: 21, checked: false, ok: true, checks: 0, message: 'measured by the simulator only; not checked on the testbed' },
    ],
  };
}

describe('testbed report.html', () => {
  it('shows the outcome, the assertions, a pinhole chart in real time with the events marked, and escapes text', () => {
    const html = renderTestbedHtml(report());
    expect(html).toMatch(/<title>natfw testbed: n&lt;1&gt;<\/title>/);
    expect(html).toContain('a &amp; b');
    expect(html).toContain('<span class="bad">an assertion failed</span>');
    expect(html).toContain('<td>✘</td><td>f1-on-path</td>');
    expect(html).toContain('<td>–</td><td>repair</td>');
    expect(html).toMatch(/<svg[^>]*aria-label="Kernel pinholes per firewall and NAT"/);
    expect(html).toContain('real time (s)');
    expect(html).not.toContain('virtual time');
    expect(html).toContain('link_down fw-b');
    expect(html).toContain('Note: no netem');
    expect(renderTestbedHtml({ ...report(), ok: true, assertions: [] })).toContain('every checked assertion holds');
  });
});
