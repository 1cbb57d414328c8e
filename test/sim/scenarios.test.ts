/**
 * Every shipped scenario runs with its assertions (the `scale` one reduced with
 * a size factor), on the stack the CLI would pick, and again on the model stack
 * when that is a different one.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, runScenario } from '../../sim/run';
import { resolveStack } from '../../sim/stacks';

const dir = join(__dirname, '../../sim/scenarios');
const shipped = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

test('the five required scenarios are shipped', () => {
  for (const name of ['route-change', 'voip', 'nat-traversal', 'deny', 'scale']) expect(shipped).toContain(`${name}.yaml`);
});

const stacks = [...new Set([resolveStack('auto'), resolveStack('model')].map((s) => ('error' in s ? 'model' : s.name)))];

describe.each(stacks)('on the %s stack', (stackName) => {
  test.each(shipped)('%s: every assertion holds', async (file) => {
    const sc = loadScenario(join(dir, file), file === 'scale.yaml' ? 0.02 : undefined);
    if (!sc.ok) throw sc.error;
    const stack = resolveStack(stackName as 'real' | 'model');
    if ('error' in stack) throw new Error(stack.error);
    const { report } = await runScenario(sc.value, { stack });
    const failed = report.assertions.filter((a) => !a.ok).map((a) => `${a.id}: ${a.message}`);
    expect(failed).toEqual([]);
    expect(report.assertions.length).toBeGreaterThan(0);
    expect(report.sessions.established).toBeGreaterThan(0);
    expect(report.messages.total).toBeGreaterThan(0);
  }, 120_000);
});

test('route-change: both flips are repaired and the old path loses its pinholes (model stack)', async () => {
  const sc = loadScenario(join(dir, 'route-change.yaml'));
  if (!sc.ok) throw sc.error;
  const stack = resolveStack('model');
  if ('error' in stack) throw new Error(stack.error);
  const { report } = await runScenario(sc.value, { stack });
  expect(report.stack).toBe('model');
  expect(report.routeChanges.map((c) => c.atS)).toEqual([30, 90]);
  for (const c of report.routeChanges) {
    expect(c.affectedFlows).toBeGreaterThan(0);
    expect(c.repairedFlows).toBe(c.affectedFlows);
    expect(c.repairMs).not.toBeNull();
  }
  expect(report.stalePinholes.lifetimeMs.count).toBeGreaterThan(0);
  expect(report.stalePinholes.stillThereAtEnd).toBe(0);
}, 60_000);

test('the real stack is what the CLI picks by default', () => {
  const s = resolveStack('auto');
  expect('error' in s ? s.error : s.name).toBe('real');
});

test("the scenario's gist: settings reach the real cores: confirm_refreshes asks for a Confirm on every refresh", async () => {
  const stack = resolveStack('real');
  if ('error' in stack) throw new Error(stack.error);
  const run = async (gist: { confirmRefreshes?: boolean }) => {
    const sc = loadScenario(join(dir, 'route-change.yaml'));
    if (!sc.ok) throw sc.error;
    return (await runScenario({ ...sc.value, gist }, { stack })).report;
  };
  const byDefault = await run({});
  const confirmed = await run({ confirmRefreshes: true });
  for (const r of [byDefault, confirmed]) expect(r.assertions.filter((a) => !a.ok)).toEqual([]);
  // Refresh Queries are the same in both runs; only their Confirms differ.
  expect(confirmed.messages.byType.Query).toBe(byDefault.messages.byType.Query);
  const confirms = (r: typeof byDefault) => r.messages.byType.Confirm ?? 0;
  expect(confirms(confirmed)).toBeGreaterThan(confirms(byDefault));
  expect(confirms(confirmed)).toBe(byDefault.handshakes);
}, 120_000);
