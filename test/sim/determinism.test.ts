import { join } from 'node:path';
import { loadScenario, reportJson, runScenario } from '../../sim/run';
import { resolveStack } from '../../sim/stacks';
import { renderHtml } from '../../sim/report';

const dir = join(__dirname, '../../sim/scenarios');

async function run(file: string, seed?: number, stackName: 'auto' | 'model' = 'auto'): Promise<string> {
  const sc = loadScenario(join(dir, file));
  if (!sc.ok) throw sc.error;
  const stack = resolveStack(stackName);
  if ('error' in stack) throw new Error(stack.error);
  const { report } = await runScenario(sc.value, { stack, seed });
  return reportJson(report);
}

test.each(['route-change.yaml', 'voip.yaml'])('%s: the same seed gives the same report, byte for byte', async (file) => {
  const a = await run(file, 42);
  const b = await run(file, 42);
  expect(a.length).toBeGreaterThan(1000);
  expect(b).toBe(a);
}, 120_000);

test('voip: another seed gives another run', async () => {
  const a = JSON.parse(await run('voip.yaml', 1));
  const b = JSON.parse(await run('voip.yaml', 2));
  expect(b.sessions.signalled).not.toBe(a.sessions.signalled);
}, 120_000);

test('the HTML report is self-contained and marks the events', async () => {
  const rep = JSON.parse(await run('route-change.yaml'));
  const html = renderHtml(rep);
  expect(html).toContain('<svg');
  expect(html).toContain('link_down r1-fw1');
  expect(html).not.toMatch(/<script|<link|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
}, 60_000);
