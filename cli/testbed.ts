/**
 * `natfw testbed run <scenario.yaml> [--out DIR] [--slack S] [--json]`: replays
 * a simulator scenario on real natfwd daemons in network namespaces, in real
 * time (root). Exit status as `natfw sim run`: 0 when every assertion the
 * testbed can check holds, 1 when one fails (named on stderr) or the testbed
 * cannot run here, 2 on a bad scenario file or a part the testbed cannot replay.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { basename, extname, join } from 'node:path';
import { loadScenario } from '../sim/run';
import { runScenarioOnTestbed, writeTestbedReport, type TestbedReport } from '../testbed/scenario-run';
import { expandGenerators, generatorLimits, unsupportedParts } from '../testbed/scenario-plan';
import { action, CliFailure, CliUsageError } from './common';

export function register(program: Command): void {
  const tb = program.command('testbed').description('replay a simulator scenario on real daemons in network namespaces (root)');
  tb.command('run')
    .description('run a scenario (YAML, as for `natfw sim run`) on real natfwd daemons, in real time; write DIR/report.json, DIR/report.html and each daemon\'s log in DIR/logs/')
    .argument('<scenario>', 'scenario file: hosts, routers, firewalls and NATs, flows, externals, generators, link/metric/crash/restart/loss_burst/teardown events')
    .option('--out <dir>', 'where to write report.json (default: testbed-out/<scenario name>)')
    .option('--slack <s>', "seconds given to real processes at each assertion window's edges", slackArg, 1.5)
    .addOption(new Option('--log-level <level>', "natfwd's log level (debug logs every message)").choices(['info', 'debug']).default('info'))
    .option('--json', 'print the report as JSON on stdout instead of the summary')
    .option('--quiet', 'no progress lines on stderr')
    .action(
      action(async (file: string, o: { out?: string; slack: number; logLevel: 'info' | 'debug'; json?: boolean; quiet?: boolean }) => {
        const parsed = loadScenario(file);
        if (!parsed.ok) throw new CliUsageError(parsed.error.message);
        const s = parsed.value;
        const unsupported = unsupportedParts(s);
        if (unsupported.length > 0) throw new CliUsageError(`${file}:${unsupported[0].line}: ${unsupported[0].detail}`);
        // Generators become explicit flows as the simulator makes them (same seed, same flows), within what real daemons carry.
        const generated = await expandGenerators(s);
        const beyond = generatorLimits(s, generated);
        if (beyond.length > 0) throw new CliUsageError(`${file}:${beyond[0].line}: ${beyond[0].detail}`);
        // Ctrl-C ends the run early; the namespaces and daemons are removed either way.
        const abort = new AbortController();
        const onSignal = (): void => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const out = o.out ?? join('testbed-out', basename(file, extname(file)));
        let report: TestbedReport;
        try {
          report = await runScenarioOnTestbed(s, {
            slackMs: o.slack * 1000,
            logsDir: join(out, 'logs'),
            logLevel: o.logLevel,
            generated,
            signal: abort.signal,
            log: o.quiet === true ? undefined : (line) => process.stderr.write(`${line}\n`),
          });
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        const written = writeTestbedReport(report, out);
        process.stdout.write(o.json === true ? JSON.stringify(report) + '\n' : summary(report, written));
        if (report.aborted) throw new CliFailure('interrupted: the report covers the part that ran', 'TESTBED_ABORTED');
        const failed = report.assertions.filter((a) => !a.ok);
        if (failed.length > 0) {
          throw new CliFailure(`assertion${failed.length > 1 ? 's' : ''} failed: ${failed.map((a) => `${a.id} (line ${a.line}): ${a.message}`).join('; ')}`, 'TESTBED_ASSERTION_FAILED');
        }
      }),
    );
}

function slackArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 60) throw new InvalidArgumentError(`--slack must be seconds between 0 and 60, got '${v}'`);
  return n;
}

export function summary(r: TestbedReport, file: string): string {
  const lines: string[] = [];
  const est = r.flows.filter((f) => f.session !== null).length;
  const rej = r.flows.filter((f) => f.rejected !== null).length;
  lines.push(`scenario ${r.scenario.name} on the testbed: ${r.scenario.nodes} nodes (natfwd on ${r.daemons.join(', ')}), ${r.scenario.durationS}s real time`);
  lines.push(`flows: ${r.flows.length} signalled (${r.scenario.generatedFlows} generated), ${est} established, ${rej} rejected; setup p50 ${r.setupMs.p50 ?? '-'} ms, p99 ${r.setupMs.p99 ?? '-'} ms`);
  for (const x of r.externals) lines.push(`external ${x.id}: ${x.address !== null ? `${x.address}:${x.port ?? '?'}` : `not reserved (${x.rejected ?? 'no answer'})`}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  for (const a of r.assertions) lines.push(`${!a.checked ? 'SKIP' : a.ok ? 'PASS' : 'FAIL'} ${a.id}: ${a.message}`);
  lines.push(`wrote ${file}`);
  return lines.join('\n') + '\n';
}
