/**
 * `natfw pinhole add|remove|list|setup|teardown`: works on a backend directly,
 * with no daemon, in the current network namespace. Everything it shows is
 * read back from the kernel (ids, owners and expiries are stored in it).
 */
import type { Command } from 'commander';
import { EnforcementError } from '../enforcement/errors';
import type { IptablesPinholeSet } from '../enforcement/iptables';
import { portRangeFromText, prefixFromText, protocolName, protocolNumber, hasPorts } from '../enforcement/model';
import type { NftPinholeSet } from '../enforcement/nft/backend';
import { type BackendName, isBackendName, openBackend, setupBackend, teardownBackend } from '../enforcement/open';
import type { NatBinding, Pinhole, PinholeSpec, PortRange, Prefix } from '../enforcement/types';
import { CliFailure, CliUsageError, action } from './common';

export function backendArg(v: string | undefined): BackendName {
  const b = v ?? 'nftables';
  if (!isBackendName(b)) throw new CliUsageError(`--backend must be nftables or iptables, got '${b}'`);
  return b;
}

export function protoArg(v: string | undefined): number {
  if (v === undefined) throw new CliUsageError('--proto is required');
  const p = protocolNumber(v);
  if (p === undefined) throw new CliUsageError(`--proto must be tcp, udp, sctp, dccp, udplite, icmp, ipv6-icmp or 0-255, got '${v}'`);
  return p;
}

function prefixArg(name: string, v: string | undefined): Prefix {
  if (v === undefined) throw new CliUsageError(`${name} is required`);
  const p = prefixFromText(v);
  if (p === undefined) throw new CliUsageError(`${name} must be an IPv4/IPv6 address or prefix, got '${v}'`);
  return p;
}

function portsArg(name: string, v: string | undefined): PortRange | undefined {
  if (v === undefined) return undefined;
  const r = portRangeFromText(v);
  if (r === undefined) throw new CliUsageError(`${name} must be a port or a range a-b within 0-65535, got '${v}'`);
  return r;
}

/** Turns an EnforcementError about the input into a usage error (exit 2); kernel refusals stay exit 1. */
export function asCliError(e: unknown): unknown {
  if (e instanceof EnforcementError) {
    if (e.code === 'ENF_INVALID_SPEC') return new CliUsageError(e.message);
    return new CliFailure(e.message, e.code);
  }
  return e;
}

function fmtPorts(r: PortRange | undefined): string {
  return r === undefined ? 'any' : r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`;
}

export function describePinhole(p: Pinhole, now: number): string {
  const left = Math.round((p.expiresAt - now) / 1000);
  // Past its lifetime, a kernel element still admits packets until its grace time ends (fail closed, but later).
  const when = left >= 0 ? `expires in ${left}s` : `expired ${-left}s ago, in its kernel grace time`;
  return `${p.id} ${p.action} ${protocolName(p.protocol)} ${p.src.address}/${p.src.length} port ${fmtPorts(p.srcPorts)} -> ${p.dst.address}/${p.dst.length} port ${fmtPorts(p.dstPorts)} owner=${p.owner || '-'} ${when}`;
}

export function pinholeJson(p: Pinhole, set: NftPinholeSet | IptablesPinholeSet): Record<string, unknown> {
  const base: Record<string, unknown> = {
    type: 'pinhole',
    id: p.id,
    action: p.action,
    protocol: p.protocol,
    src: `${p.src.address}/${p.src.length}`,
    srcPorts: p.srcPorts ?? null,
    dst: `${p.dst.address}/${p.dst.length}`,
    dstPorts: p.dstPorts ?? null,
    owner: p.owner,
    expiresAt: new Date(p.expiresAt).toISOString(),
  };
  if (set.backend === 'nftables') {
    const k = (set as NftPinholeSet).kernelInfo(p.id);
    if (k !== undefined) base.kernel = { table: `inet ${(set as NftPinholeSet).options.table}`, set: k.set, mark: k.mark, elements: k.elements, timeout: k.timeoutS ?? null, expires: k.expiresS ?? null };
  }
  return base;
}

function bindingJson(b: NatBinding, set: NftPinholeSet | IptablesPinholeSet): Record<string, unknown> {
  const k = set.backend === 'nftables' ? (set as NftPinholeSet).kernelInfo(b.id) : undefined;
  return {
    type: 'nat-binding',
    id: b.id,
    protocol: b.protocol,
    external: `${b.external.address}:${b.external.port}`,
    internal: `${b.internal.address}:${b.internal.port}`,
    owner: b.owner,
    expiresAt: new Date(b.expiresAt).toISOString(),
    ...(k !== undefined ? { kernel: { table: `inet ${(set as NftPinholeSet).options.natTable}`, mark: k.mark, timeout: k.timeoutS ?? null, expires: k.expiresS ?? null } } : {}),
  };
}

function close(set: NftPinholeSet | IptablesPinholeSet): void {
  if (set.backend === 'nftables') (set as NftPinholeSet).close();
}

interface AddOpts {
  backend?: string;
  proto?: string;
  src?: string;
  sport?: string;
  dst?: string;
  dport?: string;
  subPorts?: string;
  action?: string;
  lifetime?: string;
  owner?: string;
  json?: boolean;
}

export function specFromArgs(o: AddOpts, now: number): PinholeSpec {
  const protocol = protoArg(o.proto);
  const src = prefixArg('--src', o.src);
  const dst = prefixArg('--dst', o.dst);
  if ((src.address.includes(':')) !== (dst.address.includes(':'))) throw new CliUsageError('--src and --dst must be of the same address family');
  const srcPorts = portsArg('--sport', o.sport);
  let dstPorts = portsArg('--dport', o.dport);
  if (hasPorts(protocol) && dstPorts === undefined) throw new CliUsageError('--dport is required for this protocol');
  if (!hasPorts(protocol) && (srcPorts !== undefined || dstPorts !== undefined)) throw new CliUsageError(`--sport/--dport: protocol ${o.proto} has no ports`);
  const sub = o.subPorts ?? '0';
  if (sub !== '0' && sub !== '1') throw new CliUsageError(`--sub-ports must be 0 or 1, got '${sub}'`);
  if (sub === '1') {
    if (dstPorts === undefined || dstPorts.from !== dstPorts.to) throw new CliUsageError('--sub-ports 1 needs a single --dport');
    if (dstPorts.to >= 65535) throw new CliUsageError('--sub-ports 1: --dport must be below 65535');
    dstPorts = { from: dstPorts.from, to: dstPorts.from + 1 };
  }
  const act = o.action ?? 'allow';
  if (act !== 'allow' && act !== 'deny') throw new CliUsageError(`--action must be allow or deny, got '${act}'`);
  const lt = o.lifetime ?? '3600';
  if (!/^\d{1,8}$/.test(lt) || Number(lt) < 1 || Number(lt) > 31_536_000) throw new CliUsageError(`--lifetime must be 1-31536000 seconds, got '${lt}'`);
  const owner = o.owner ?? 'static';
  if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/.test(owner)) throw new CliUsageError('--owner must be 1-100 printable characters without spaces, quotes or backslashes');
  return {
    protocol,
    src,
    dst,
    ...(srcPorts !== undefined ? { srcPorts } : {}),
    ...(dstPorts !== undefined ? { dstPorts } : {}),
    action: act,
    owner,
    expiresAt: now + Number(lt) * 1000,
  };
}

export function register(program: Command): void {
  const ph = program.command('pinhole').description('add, remove and list pinholes directly in the kernel (no daemon), set up or tear down the backend');

  ph.command('add')
    .description('add a pinhole; prints its id')
    .option('--backend <name>', 'nftables or iptables', 'nftables')
    .option('--proto <p>', 'tcp, udp, sctp, dccp, udplite, icmp, ipv6-icmp or a number')
    .option('--src <prefix>', 'source address or prefix')
    .option('--sport <port>', 'source port or range a-b (default any)')
    .option('--dst <prefix>', 'destination address or prefix')
    .option('--dport <port>', 'destination port or range a-b')
    .option('--sub-ports <0|1>', 'RFC 5973 sub_ports: 1 also opens dport+1', '0')
    .option('--action <a>', 'allow or deny', 'allow')
    .option('--lifetime <s>', 'seconds (the kernel timeout is a little longer)', '3600')
    .option('--owner <id>', 'owner label (session id)', 'static')
    .option('--json', 'print {"id":...}')
    .action(
      action(async (o: AddOpts) => {
        const backend = backendArg(o.backend);
        const now = Date.now();
        const spec = specFromArgs(o, now);
        let set: NftPinholeSet | IptablesPinholeSet | undefined;
        try {
          set = await openBackend(backend, { now });
          const tx = set.begin();
          const id = tx.add(spec);
          await tx.commit(now);
          process.stdout.write(o.json ? JSON.stringify({ id }) + '\n' : `${id}\n`);
        } catch (e) {
          throw asCliError(e);
        } finally {
          if (set) close(set);
        }
      }),
    );

  ph.command('remove')
    .description('remove pinholes (and NAT bindings) by id, all in one transaction')
    .argument('<id...>', 'pinhole ids (ph-...) or NAT binding ids (nb-...)')
    .option('--backend <name>', 'nftables or iptables', 'nftables')
    .action(
      action(async (ids: string[], o: { backend?: string }) => {
        const backend = backendArg(o.backend);
        for (const id of ids) if (!/^(ph|nb)-[0-9a-f]{1,8}$/.test(id)) throw new CliUsageError(`<id>: '${id}' is not a pinhole or binding id (ph-<hex> or nb-<hex>)`);
        const now = Date.now();
        let set: NftPinholeSet | IptablesPinholeSet | undefined;
        try {
          set = await openBackend(backend, { now });
          const tx = set.begin();
          for (const id of ids) {
            if (id.startsWith('nb-')) tx.removeBinding(id);
            else tx.remove(id);
          }
          await tx.commit(now);
        } catch (e) {
          throw asCliError(e);
        } finally {
          if (set) close(set);
        }
      }),
    );

  ph.command('list')
    .description('list the pinholes (and NAT bindings) as the kernel holds them')
    .option('--backend <name>', 'nftables or iptables', 'nftables')
    .option('--json', 'one JSON object per line, with the kernel details')
    .action(
      action(async (o: { backend?: string; json?: boolean }) => {
        const backend = backendArg(o.backend);
        const now = Date.now();
        let set: NftPinholeSet | IptablesPinholeSet | undefined;
        try {
          set = await openBackend(backend, { now, repair: false });
          const pins = [...set.list()].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
          for (const p of pins) process.stdout.write((o.json ? JSON.stringify(pinholeJson(p, set)) : describePinhole(p, now)) + '\n');
          for (const b of set.listBindings())
            process.stdout.write(
              (o.json
                ? JSON.stringify(bindingJson(b, set))
                : `${b.id} nat ${protocolName(b.protocol)} ${b.external.address}:${b.external.port} <-> ${b.internal.address}:${b.internal.port} owner=${b.owner || '-'} expires in ${Math.round((b.expiresAt - now) / 1000)}s`) + '\n',
            );
        } catch (e) {
          throw asCliError(e);
        } finally {
          if (set) close(set);
        }
      }),
    );

  ph.command('setup')
    .description("create the backend's own table/chains (idempotent; keeps installed pinholes)")
    .option('--backend <name>', 'nftables or iptables', 'nftables')
    .option('--mode <mode>', 'standalone (this table is the forward policy) or integration (mark for your own rules)', 'standalone')
    .option('--mark-bits <hex>', 'integration mode: packet mark bits set on admitted packets', '0x00100000')
    .option('--priority <n>', 'forward chain priority (default 0 standalone, -10 integration)')
    .option('--no-established', 'standalone: do not accept established flows that no pinhole admitted')
    .option('--no-icmp', 'standalone: do not accept ICMP/ICMPv6')
    .action(
      action(async (o: { backend?: string; mode: string; markBits: string; priority?: string; established: boolean; icmp: boolean }) => {
        const backend = backendArg(o.backend);
        if (o.mode !== 'standalone' && o.mode !== 'integration') throw new CliUsageError(`--mode must be standalone or integration, got '${o.mode}'`);
        if (!/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(o.markBits) || Number(o.markBits) === 0 || Number(o.markBits) > 0xffffffff)
          throw new CliUsageError(`--mark-bits must be a non-zero 32-bit value, got '${o.markBits}'`);
        if (o.priority !== undefined && (!/^-?\d{1,4}$/.test(o.priority) || Math.abs(Number(o.priority)) > 1000))
          throw new CliUsageError(`--priority must be an integer within -1000..1000, got '${o.priority}'`);
        try {
          await setupBackend(backend, {
            mode: o.mode,
            markBits: Number(o.markBits),
            ...(o.priority !== undefined ? { priority: Number(o.priority) } : {}),
            acceptEstablished: o.established,
            acceptIcmp: o.icmp,
          });
        } catch (e) {
          throw asCliError(e);
        }
      }),
    );

  ph.command('teardown')
    .description("remove the backend's own table/chains and every pinhole in them (nothing else)")
    .option('--backend <name>', 'nftables or iptables', 'nftables')
    .action(
      action(async (o: { backend?: string }) => {
        const backend = backendArg(o.backend);
        try {
          await teardownBackend(backend, {});
        } catch (e) {
          throw asCliError(e);
        }
      }),
    );
}
