/**
 * The process a simulation runs in. A large run (the `scale` scenario: 1,000
 * nodes, 100,000 sessions) keeps a heap of about 1 GB of protocol state alive
 * while it allocates messages, timers and transactions at a high rate; with
 * V8's default young generation (16 MB semi-spaces) many of those short- and
 * mid-lived objects survive two scavenges, are promoted and die in the old
 * generation, and the scavenges dominate the GC time. Larger semi-spaces let
 * them die young. V8 sizes its heap when the process starts (setting the flag
 * later with `v8.setFlagsFromString` has no effect), so `natfw sim run`
 * relaunches itself once with the flags unless the user gave semi-space flags
 * of their own (on the command line or in NODE_OPTIONS).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';

/** Node flags of the simulation process (measured side by side on the full `scale` run; see README "Simulator"). */
export const SIM_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** Set in the relaunched process (and by anyone who wants the simulation to stay in the current process). */
export const RELAUNCHED_ENV = 'NATFW_SIM_RELAUNCHED';

/** When set to a file name, the simulating process writes its wall/CPU/GC/peak-RSS figures there as JSON (the bench). */
export const STATS_ENV = 'NATFW_SIM_STATS';

/** Whether this process should relaunch itself with SIM_NODE_FLAGS before simulating. */
export function wantsRelaunch(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): boolean {
  if (env[RELAUNCHED_ENV] !== undefined && env[RELAUNCHED_ENV] !== '') return false;
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  return !given.some((a) => /^--(max|min)[-_]semi[-_]space[-_]size\b/.test(a));
}

/**
 * Runs this same command line again in a child Node process with SIM_NODE_FLAGS (stdio shared, signals
 * passed on) and resolves with its exit status; a child killed by a signal kills this process the same way.
 */
export function relaunch(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...SIM_NODE_FLAGS, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [RELAUNCHED_ENV]: '1' },
    });
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const pass = (s: NodeJS.Signals): void => {
      child.kill(s);
    };
    for (const s of signals) process.on(s, pass);
    const done = (): void => {
      for (const s of signals) process.removeListener(s, pass);
    };
    child.on('error', (e) => {
      done();
      reject(e);
    });
    child.on('exit', (code, signal) => {
      done();
      if (signal !== null) {
        process.kill(process.pid, signal);
        return;
      }
      resolve(code ?? 1);
    });
  });
}

/** Wall time, CPU time, GC pauses and peak RSS of this process from now until `finish` (for the bench). */
export function startRunStats(file: string | undefined): { finish(extra: Record<string, unknown>): void } {
  if (file === undefined || file === '') return { finish: () => undefined };
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let gcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    finish(extra) {
      // Entries not yet delivered to the callback (they come on a later turn of the event loop).
      for (const e of obs.takeRecords()) gcMs += e.duration;
      obs.disconnect();
      const cpu = process.cpuUsage(cpu0);
      writeFileSync(
        file,
        JSON.stringify({
          wallS: Number(process.hrtime.bigint() - start) / 1e9,
          cpuS: (cpu.user + cpu.system) / 1e6,
          gcPauseS: gcMs / 1000,
          peakRssBytes: process.resourceUsage().maxRSS * 1024,
          execArgv: process.execArgv,
          ...extra,
        }) + '\n',
      );
    },
  };
}
