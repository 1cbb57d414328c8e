/**
 * `natfw sim run <scenario.yaml> [--seed N] [--out DIR] [--pcap FILE]`: runs a
 * simulation scenario and writes its report. Exit status: 0 when every
 * assertion holds, 1 when one fails (named on stderr), 2 on a bad scenario
 * file (with the line and what is wrong) or bad arguments.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { basename, extname, join } from 'node:path';
import { action, CliFailure, CliUsageError, intArg } from './common';
import type { Report } from '../sim/report';
import { runScenarioFile } from '../sim/run';
import { relaunch, startRunStats, STATS_ENV, wantsRelaunch } from '../sim/process';
import { resolveStack, type StackName } from '../sim/stacks';

export function register(program: Command): void {
  const sim = program.command('sim').description('simulate many NSIS nodes on a virtual clock and network');
  sim
    .command('run')
    .description('run a scenario (YAML) and write DIR/report.json and DIR/report.html')
    .argument('<scenario>', 'scenario file (see sim/scenarios/)')
    .option('--seed <n>', 'seed of the pseudo-random numbers (default: the scenario\'s)', intArg('--seed', 0, 0xffffffff))
    .option('--out <dir>', 'where to write report.json and report.html (default: sim-out/<scenario name>)')
    .option('--pcap <file>', 'write every signalling message as a pcap capture')
    .addOption(new Option('--stack <name>', 'protocol stack on the nodes').choices(['auto', 'real', 'model']).default('auto'))
    .option('--size-factor <f>', 'scale generated topologies and session counts (e.g. 0.01)', floatArg('--size-factor', 1e-6, 1))
    .option('--json', 'print the report as JSON on stdout instead of the summary')
    .option('--no-progress', 'no progress display')
    .action(
      action(async (file: string, o: { seed?: number; out?: string; pcap?: string; stack: StackName | 'auto'; sizeFactor?: number; json?: boolean; progress: boolean }) => {
        // The simulation runs in a process with its own heap settings (sim/process.ts): this one only waits for it.
        if (wantsRelaunch()) {
          process.exitCode = await relaunch();
          return;
        }
        const stats = startRunStats(process.env[STATS_ENV]);
        const stack = resolveStack(o.stack);
        if ('error' in stack) throw new CliFailure(stack.error);
        if (stack.name === 'model' && o.pcap !== undefined) {
          process.stderr.write('natfw: note: the model stack carries no wire encoding; the capture holds placeholder payloads (use --stack real)\n');
        }
        const progress = o.progress ? makeProgress() : undefined;
        const out = o.out ?? join('sim-out', basename(file, extname(file)));
        let res;
        try {
          res = await runScenarioFile(file, { seed: o.seed, sizeFactor: o.sizeFactor, stack, out, pcap: o.pcap, onProgress: progress?.update });
        } finally {
          progress?.stop();
        }
        if (!res.ok) throw new CliUsageError(res.error.message);
        const { report, files } = res.value;
        stats.finish({ events: report.simulatedEvents, sessions: report.sessions.signalled, established: report.sessions.established, nodes: report.scenario.nodes, stack: report.stack, ok: report.ok });
        if (o.json === true) process.stdout.write(JSON.stringify(report) + '\n');
        else process.stdout.write(summary(report, files, res.value.capturedPackets));
        const failed = report.assertions.filter((a) => !a.ok);
        if (failed.length > 0) {
          throw new CliFailure(`assertion${failed.length > 1 ? 's' : ''} failed: ${failed.map((a) => `${a.id} (line ${a.line}): ${a.message}`).join('; ')}`, 'SIM_ASSERTION_FAILED');
        }
      }),
    );
}

function floatArg(name: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number between ${min} and ${max}, got '${v}'`);
    return n;
  };
}

export function summary(r: Report, files: string[], captured?: number): string {
  const lines: string[] = [];
  const lat = r.latencyMs;
  lines.push(`scenario ${r.scenario.name}: ${r.scenario.nodes} nodes, ${r.scenario.durationS}s virtual, seed ${r.seed}, stack ${r.stack}, ${r.simulatedEvents} events`);
  lines.push(`sessions: ${r.sessions.signalled} signalled, ${r.sessions.established} established, ${r.sessions.rejected} rejected, ${r.sessions.terminated} terminated; peak ${r.sessions.peakPinholes} pinholes`);
  lines.push(`messages: ${r.messages.total} (${Object.entries(r.messages.byType).map(([k, v]) => `${k} ${v}`).join(', ')}); ${r.handshakes} handshakes`);
  if (lat.count > 0) lines.push(`signalling latency ms: p50 ${lat.p50} p90 ${lat.p90} p99 ${lat.p99} max ${lat.max}`);
  for (const c of r.routeChanges) lines.push(`route change at ${c.atS}s (${c.event}): ${c.affectedFlows} flows affected, repaired in ${c.repairMs === null ? 'never' : `${c.repairMs}ms`}`);
  if (r.stalePinholes.lifetimeMs.count > 0 || r.stalePinholes.stillThereAtEnd > 0) {
    lines.push(`stale pinholes: ${r.stalePinholes.lifetimeMs.count} removed after p50 ${r.stalePinholes.lifetimeMs.p50}ms max ${r.stalePinholes.lifetimeMs.max}ms; ${r.stalePinholes.stillThereAtEnd} still there at the end`);
  }
  for (const a of r.assertions) lines.push(`${a.ok ? 'PASS' : 'FAIL'} ${a.id}: ${a.message}`);
  for (const f of files) lines.push(`wrote ${f}${f.endsWith('.pcap') && captured !== undefined ? ` (${captured} packets)` : ''}`);
  return lines.join('\n') + '\n';
}

/** A progress bar on a terminal; plain lines when stderr is piped, and only for runs that take a while. */
function makeProgress(): { update: (simNow: number, durationMs: number) => void; stop: () => void } {
  const start = process.hrtime.bigint();
  const wallS = (): number => Number(process.hrtime.bigint() - start) / 1e9;
  if (process.stderr.isTTY === true) {
    // Loaded lazily: only interactive runs need it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const cliProgress = require('cli-progress') as typeof import('cli-progress');
    let bar: import('cli-progress').SingleBar | undefined;
    return {
      update: (now, total) => {
        if (bar === undefined) {
          if (wallS() < 1) return;
          bar = new cliProgress.SingleBar({ format: 'sim [{bar}] {percentage}% | {value}/{total}s virtual | ETA {eta}s', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
          bar.start(Math.round(total / 1000), 0);
        }
        bar.update(Math.round(now / 1000));
      },
      stop: () => bar?.stop(),
    };
  }
  let lastTenth = -1;
  return {
    update: (now, total) => {
      const tenth = Math.floor((now / total) * 10);
      if (tenth === lastTenth || wallS() < 2) return;
      lastTenth = tenth;
      process.stderr.write(`sim: ${Math.round(now / 1000)}s of ${Math.round(total / 1000)}s virtual (${tenth * 10}%), ${wallS().toFixed(1)}s wall\n`);
    },
    stop: () => undefined,
  };
}
