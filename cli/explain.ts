/**
 * `natfw explain --proto --src --sport --dst --dport`: which pinhole allows or
 * denies this packet (deny wins), or that none does, and whether the kernel
 * agrees (nftables: the kernel is asked element by element; iptables: the
 * rules read back from the kernel are matched).
 */
import type { Command } from 'commander';
import { parseAddress } from '../enforcement/address';
import { hasPorts } from '../enforcement/model';
import type { NftPinholeSet } from '../enforcement/nft/backend';
import { askKernel } from '../enforcement/nft/explain';
import { openBackend } from '../enforcement/open';
import type { PacketKey } from '../enforcement/types';
import { CliFailure, CliUsageError, action } from './common';
import { asCliError, backendArg, describePinhole, pinholeJson, protoArg } from './pinhole';

interface ExplainOpts {
  backend?: string;
  proto?: string;
  src?: string;
  sport?: string;
  dst?: string;
  dport?: string;
  json?: boolean;
}

function addrArg(name: string, v: string | undefined): string {
  if (v === undefined) throw new CliUsageError(`${name} is required`);
  if (parseAddress(v) === undefined) throw new CliUsageError(`${name} must be an IPv4 or IPv6 address, got '${v}'`);
  return v;
}

function portArg(name: string, v: string | undefined, needed: boolean): number | undefined {
  if (v === undefined) {
    if (needed) throw new CliUsageError(`${name} is required for this protocol`);
    return undefined;
  }
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new CliUsageError(`${name} must be a port 0-65535, got '${v}'`);
  return Number(v);
}

export function register(program: Command): void {
  program
    .command('explain')
    .description('which pinhole allows or denies a packet, and whether the kernel agrees')
    .option('--backend <name>', 'nftables or iptables', 'nftables')
    .option('--proto <p>', 'tcp, udp, ... or a number')
    .option('--src <ip>', 'source address')
    .option('--sport <port>', 'source port')
    .option('--dst <ip>', 'destination address')
    .option('--dport <port>', 'destination port')
    .option('--json', 'one JSON object')
    .action(
      action(async (o: ExplainOpts) => {
        const backend = backendArg(o.backend);
        const protocol = protoArg(o.proto);
        const src = addrArg('--src', o.src);
        const dst = addrArg('--dst', o.dst);
        if (parseAddress(src)?.family !== parseAddress(dst)?.family) throw new CliUsageError('--src and --dst must be of the same address family');
        const ported = hasPorts(protocol);
        const srcPort = portArg('--sport', o.sport, ported);
        const dstPort = portArg('--dport', o.dport, ported);
        const pkt: PacketKey = { protocol, src, dst, ...(srcPort !== undefined ? { srcPort } : {}), ...(dstPort !== undefined ? { dstPort } : {}) };
        const now = Date.now();
        let agrees: boolean;
        let kernelView: unknown;
        let result;
        let set;
        try {
          set = await openBackend(backend, { now, repair: false });
          result = set.lookup(pkt);
          if (set.backend === 'nftables') {
            const nft = set as NftPinholeSet;
            const k = await askKernel(nft, pkt);
            const kernelMarks = new Set(k.hits.filter((h) => h.action === 'deny' || h.live === true).map((h) => h.mark));
            const userMarks = new Set(result.matches.map((m) => nft.markOf(m.id)));
            agrees = k.verdict === result.verdict && kernelMarks.size === userMarks.size && [...userMarks].every((m) => m !== undefined && kernelMarks.has(m));
            kernelView = { verdict: k.verdict, elements: k.hits };
          } else {
            // iptables: the index was rebuilt from the rules the kernel holds; a rule per pinhole.
            agrees = true;
            kernelView = { verdict: result.verdict, rules: result.matches.length };
          }
        } catch (e) {
          throw asCliError(e);
        } finally {
          if (set !== undefined && set.backend === 'nftables') (set as NftPinholeSet).close();
        }
        if (o.json) {
          process.stdout.write(JSON.stringify({ packet: pkt, verdict: result.verdict, matches: result.matches.map((m) => pinholeJson(m, set)), kernel: kernelView, agrees }) + '\n');
        } else {
          const w = (s: string): boolean => process.stdout.write(s + '\n');
          if (result.matches.length === 0) w(`verdict: none (no pinhole matches; the packet falls to the policy)`);
          else {
            w(`verdict: ${result.verdict}${result.verdict === 'deny' && result.matches.some((m) => m.action === 'allow') ? ' (deny wins over allow)' : ''}`);
            for (const m of result.matches) w(`  ${describePinhole(m, now)}`);
          }
          w(`kernel: ${agrees ? 'agrees' : 'DISAGREES'} ${JSON.stringify(kernelView)}`);
        }
        if (!agrees) throw new CliFailure('the kernel table does not agree with the pinholes read from it (see above)');
      }),
    );
}
