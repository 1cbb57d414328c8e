/**
 * Child process of bench/sim.bench.ts: runs the full `scale` scenario and
 * prints one JSON line with its wall time and the process's peak RSS (a
 * separate process, so the figure is the simulator's alone).
 */
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { loadScenario, runScenario } from '../sim/run';
import { resolveStack } from '../sim/stacks';

async function main(): Promise<void> {
  const file = process.argv[2] ?? join(__dirname, '../../sim/scenarios/scale.yaml');
  const factor = process.argv[3] !== undefined ? Number(process.argv[3]) : undefined;
  const stackName = (process.argv[4] ?? 'auto') as 'auto' | 'real' | 'model';
  const sc = loadScenario(file, factor);
  if (!sc.ok) throw sc.error;
  const stack = resolveStack(stackName);
  if ('error' in stack) throw new Error(stack.error);
  // Garbage collection pauses (wall time on the main thread; inflated like wallS on a loaded machine), for context.
  let gcMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const start = process.hrtime.bigint();
  const { report } = await runScenario(sc.value, { stack });
  const wallS = Number(process.hrtime.bigint() - start) / 1e9;
  gcObserver.disconnect();
  process.stdout.write(
    JSON.stringify({
      wallS,
      cpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      gcPauseS: gcMs / 1000,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      events: report.simulatedEvents,
      sessions: report.sessions.signalled,
      established: report.sessions.established,
      nodes: report.scenario.nodes,
      stack: report.stack,
      ok: report.ok,
    }) + '\n',
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
