/**
 * Simulator benchmarks:
 * - sim.events: simulated events per second of wall time (the voip scenario);
 * - sim.scale.wall, sim.scale.peak_rss: the full `scale` scenario (1,000 nodes,
 *   100,000 sessions) run by the CLI as a user runs it, its wall time and the
 *   simulating process's peak RSS (targets: under 60 s and under 4 GiB on the
 *   2-core machine).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchGroup } from './harness';
import { round } from './harness';
import { loadScenario, runScenario } from '../sim/run';
import { STATS_ENV } from '../sim/process';
import { resolveStack } from '../sim/stacks';

const scenarios = join(__dirname, '../../sim/scenarios');

export const benches: BenchGroup[] = [
  {
    names: ['sim.events'],
    async run(emit) {
      const sc = loadScenario(join(scenarios, 'voip.yaml'));
      if (!sc.ok) throw sc.error;
      const stack = resolveStack('auto');
      if ('error' in stack) throw new Error(stack.error);
      let events = 0;
      let seconds = 0;
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < 3 && seconds < 20; i++) {
        const start = process.hrtime.bigint();
        const { report } = await runScenario(sc.value, { stack, seed: i + 1 });
        seconds += Number(process.hrtime.bigint() - start) / 1e9;
        events += report.simulatedEvents;
      }
      const cpu = process.cpuUsage(cpu0);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      emit({ bench: 'sim.events', value: round(events / seconds, 0), unit: 'events/s', scenario: 'voip', stack: stack.name, per_cpu_second: round(events / cpuS, 0) });
    },
  },
  {
    names: ['sim.scale.wall', 'sim.scale.peak_rss'],
    run(emit) {
      // Exactly what a user runs: `natfw sim run sim/scenarios/scale.yaml` (which relaunches itself with its heap
      // flags, sim/process.ts); the wall time is the whole command's, the other figures the simulating process's.
      const dir = mkdtempSync(join(tmpdir(), 'natfw-sim-bench-'));
      try {
        const statsFile = join(dir, 'stats.json');
        const cli = join(__dirname, '../bin/natfw.js');
        const start = process.hrtime.bigint();
        const r = spawnSync(process.execPath, [cli, 'sim', 'run', join(scenarios, 'scale.yaml'), '--out', join(dir, 'out'), '--no-progress'], {
          encoding: 'utf8', timeout: 60 * 60 * 1000, maxBuffer: 1 << 20, env: { ...process.env, [STATS_ENV]: statsFile },
        });
        const wallS = Number(process.hrtime.bigint() - start) / 1e9;
        // Exit 1: an assertion failed (reported beside the figures); anything else is a failed run.
        if ((r.status !== 0 && r.status !== 1) || !existsSync(statsFile)) throw new Error(`natfw sim run failed (status ${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
        const m = JSON.parse(readFileSync(statsFile, 'utf8')) as { cpuS: number; gcPauseS: number; peakRssBytes: number; events: number; sessions: number; nodes: number; stack: string; ok: boolean; execArgv: string[] };
        // CPU seconds beside the wall time: on a shared machine the wall time says more about the neighbours.
        const ctx = { nodes: m.nodes, sessions: m.sessions, events: m.events, cpu_s: round(m.cpuS, 1), gc_pause_s: round(m.gcPauseS, 1), stack: m.stack, node_flags: m.execArgv.join(' '), assertions_ok: m.ok };
        emit({ bench: 'sim.scale.wall', value: round(wallS, 2), unit: 's', target: '< 60', ...ctx });
        emit({ bench: 'sim.scale.peak_rss', value: m.peakRssBytes, unit: 'bytes', target: '< 4 GiB', ...ctx });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
