/**
 * `natfw demo`: a temporary demo (the simulator demo replaces it) that decodes
 * the bundled sample capture `samples/handshake.pcap`, made by the project's own
 * codecs and pcap writer (samples/make-samples.ts), and prints one line per
 * GIST message. `natfw decode --pcap` gives the full JSON.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { action, CliFailure } from './common';
import { decodeCaptureBytes } from './decode';

/** samples/ from dist/cli (built) or cli/ (sources). */
function samplePath(name: string): string | undefined {
  return [join(__dirname, '../../samples', name), join(__dirname, '../samples', name)].find((p) => existsSync(p));
}

type Line = { [k: string]: unknown };

function summary(l: Line, t0: number): string {
  const time = `${((Number(l.time) - t0) * 1000).toFixed(3).padStart(8)} ms`;
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
  return `  #${String(l.frame).padEnd(3)}${time}  ${where.padEnd(40)} ${how.padEnd(18)} ${what}`;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('decode the bundled sample capture (a GIST handshake carrying a NATFW CREATE and its RESPONSE)')
    .action(
      action(() => {
        const file = samplePath('handshake.pcap');
        if (!file) throw new CliFailure('samples/handshake.pcap is missing from this installation');
        const r = decodeCaptureBytes(new Uint8Array(readFileSync(file)));
        if (r.failure) throw new CliFailure(r.failure);
        const t0 = Number(r.lines[0]?.time ?? 0);
        process.stdout.write('natfw demo: samples/handshake.pcap, a capture natfw made with its own GIST and NATFW codecs:\n');
        for (const l of r.lines) process.stdout.write(summary(l, t0) + '\n');
        process.stdout.write('\nEvery field, one JSON object per message: natfw decode --pcap samples/handshake.pcap\n');
        process.stdout.write('The same over C-mode (TCP, IPv6, SESSION_AUTH): natfw decode --pcap samples/cmode.pcap\n');
      }),
    );
}
