/**
 * `natfw demo` (`npm run demo`): the main job a new user runs first. It runs
 * the `route-change` simulation scenario — two parallel firewall paths, the
 * route flips under running sessions — on the real GIST and NATFW cores, on a
 * virtual clock and network (no root, no network), and says where the report
 * and the capture of every signalling message are.
 */
import type { Command } from 'commander';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { action, CliFailure } from './common';
import { decodeCaptureBytes } from './decode';
import { summary } from './sim';
import { runScenarioFile } from '../sim/run';
import { resolveStack } from '../sim/stacks';

type Line = { [k: string]: unknown };

/** One line per message of the capture, as `natfw decode --pcap` sees it (from the first demo, by capture). */
function messageLine(l: Line): string {
  const time = `${(Number(l.time) * 1000).toFixed(3).padStart(9)} ms`;
  const where = `${l.src}:${l.srcPort} -> ${l.dst}:${l.dstPort}`;
  const how = `${String(l.transport).toUpperCase()} ${l.mode}-mode${l.routerAlert !== undefined ? ` RAO=${l.routerAlert}` : ''}`;
  const gist = l.gist as { messageType?: string } | undefined;
  const nslp = l.nslp as { messageType?: string; objects?: Array<{ type?: string; lifetime?: number; ruleAction?: string; responseClass?: number; responseCode?: number }> } | undefined;
  let what = gist ? `GIST ${gist.messageType}` : `undecodable: ${(l.error as { message?: string } | undefined)?.message ?? l.note}`;
  if (nslp) {
    const info = nslp.objects?.find((o) => o.type === 'NATFW_INFO');
    const lt = nslp.objects?.find((o) => o.type === 'NATFW_LT');
    const efi = nslp.objects?.find((o) => o.type === 'NATFW_EFI');
    what += ` carrying NATFW ${nslp.messageType}`;
    if (efi) what += ` ${efi.ruleAction}`;
    if (lt) what += ` lifetime ${lt.lifetime} s`;
    if (info) what += ` class ${info.responseClass} code 0x${(info.responseCode ?? 0).toString(16).padStart(2, '0')}`;
  }
  return `  #${String(l.frame).padEnd(4)}${time}  ${where.padEnd(40)} ${how.padEnd(18)} ${what}`;
}

/** sim/scenarios/ from dist/cli (built) or cli/ (sources). */
function scenarioPath(name: string): string | undefined {
  return [join(__dirname, '../../sim/scenarios', name), join(__dirname, '../sim/scenarios', name)].find((p) => existsSync(p));
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('simulate a route change under running sessions (the route-change scenario) and write its report')
    .option('--out <dir>', 'where to write the report and the capture', 'sim-out/demo')
    .action(
      action(async (o: { out: string }) => {
        const file = scenarioPath('route-change.yaml');
        if (file === undefined) throw new CliFailure('sim/scenarios/route-change.yaml is missing from this installation');
        const stack = resolveStack('auto');
        if ('error' in stack) throw new CliFailure(stack.error);
        const out = resolve(o.out);
        const pcap = join(out, 'route-change.pcap');
        process.stdout.write(`natfw demo: the route-change scenario on the ${stack.name} GIST and NATFW cores, on a virtual clock and network\n`);
        process.stdout.write('  a -- r1 -+- fw1 -+- r2 -- b     3 flows signalled through fw1; at 30 s the r1-fw1 link fails\n');
        process.stdout.write('           +- fw2 -+              (the route flips to fw2), at 90 s it comes back\n\n');
        const res = await runScenarioFile(file, { stack, out, pcap });
        if (!res.ok) throw new CliFailure(res.error.message);
        const { report, files, capturedPackets } = res.value;
        process.stdout.write(summary(report, files, capturedPackets));
        const decoded = decodeCaptureBytes(new Uint8Array(readFileSync(pcap)));
        if (decoded.failure === undefined) {
          process.stdout.write('\nThe first signalling messages of the run (flow f1 set up through fw1), from the capture:\n');
          for (const l of decoded.lines.slice(0, 8)) process.stdout.write(messageLine(l) + '\n');
        }
        const held = report.assertions.filter((a) => a.ok).length;
        process.stdout.write(`\n${held} of ${report.assertions.length} assertions hold.`);
        if (held < report.assertions.length) process.stdout.write(' The failing ones are what the simulator found wrong in the protocol stack (see the report).');
        process.stdout.write(`\n\nOpen the report: ${join(out, 'report.html')}\n`);
        process.stdout.write(`Look at the signalling: natfw decode --pcap ${pcap}   (or open it in Wireshark)\n`);
        // The shipped scenarios as they are on disk, so the hint never names one that is not there.
        const others = readdirSync(dirname(file))
          .filter((f) => f.endsWith('.yaml') && f !== basename(file))
          .map((f) => f.slice(0, -'.yaml'.length))
          .sort();
        if (others.length > 0) process.stdout.write(`Other scenarios: natfw sim run sim/scenarios/<${others.join('|')}>.yaml\n`);
      }),
    );
}
