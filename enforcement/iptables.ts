/**
 * The iptables backend: one rule per pinhole in dedicated chains, as older
 * deployments and the early NATFW prototypes did; also the baseline of the
 * benchmark. Chains (filter table, IPv4 and IPv6):
 *
 *   FORWARD -> NATFW: -j NATFW_DENY; ESTABLISHED,RELATED -j ACCEPT; -j NATFW_ALLOW; [standalone] -j DROP
 *
 * Every rule carries a comment "natfw <id> <owner> <expiresAt>" so that the
 * CLI (no daemon) and a restarted node can rebuild the pinholes from the
 * kernel. A commit is one `iptables-restore --noflush` per family (atomic per
 * family; if the IPv6 half fails the IPv4 half is undone).
 *
 * Limits, compared with the nftables backend: no kernel timeouts (a dead
 * daemon leaves its pinholes open until something reconciles), per-packet
 * cost linear in the number of rules, and removal cuts running flows with a
 * `conntrack -D` for exact pinholes only.
 */
import { execFile } from 'node:child_process';
import { parseAddress } from './address';
import { EnforcementError } from './errors';
import { PROTO_DCCP, PROTO_SCTP, PROTO_TCP, PROTO_UDP, hasPorts, normalizeSpec, protocolName } from './model';
import { type Op, type Plan, PinholeTable, StagedTransaction } from './table';
import type { LookupResult, NatBinding, PacketKey, Pinhole, PinholeSet, Transaction } from './types';

export interface IptablesOptions {
  readonly mode?: 'standalone' | 'integration';
  /** Integration mode: packet-mark bits set on admitted packets. */
  readonly markBits?: number;
  /** Run inside this named network namespace (ip netns exec). */
  readonly netns?: string;
}

function run(cmd: string, args: string[], input: string | undefined, netns: string | undefined): Promise<string> {
  const c = netns === undefined ? cmd : 'ip';
  const a = netns === undefined ? args : ['netns', 'exec', netns, cmd, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(c, a, { maxBuffer: 1 << 30, timeout: 300_000 }, (error, stdout, stderr) => {
      if (error !== null) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new EnforcementError('ENF_BACKEND_UNAVAILABLE', `'${c}' not found: install iptables`));
          return;
        }
        const msg = String(stderr).trim().split('\n')[0] || error.message;
        reject(new EnforcementError('ENF_KERNEL_REFUSED', `${cmd}: ${msg}`, String(stderr).trim()));
        return;
      }
      resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

const PORT_MODULE: Record<number, string> = { [PROTO_TCP]: 'tcp', [PROTO_UDP]: 'udp', [PROTO_SCTP]: 'sctp', [PROTO_DCCP]: 'dccp' };
const OWNER_RE = /^[\x21\x23-\x5b\x5d-\x7e]{0,100}$/;

/** The rule spec (without -A/-D and chain) of a pinhole, exactly as `iptables -S` prints it back. */
export function ruleSpec(ph: Pinhole, mode: 'standalone' | 'integration', markBits: number): string {
  const parts = [`-s ${ph.src.address}/${ph.src.length}`, `-d ${ph.dst.address}/${ph.dst.length}`, `-p ${protocolName(ph.protocol)}`];
  if (ph.srcPorts !== undefined || ph.dstPorts !== undefined) {
    parts.push(`-m ${PORT_MODULE[ph.protocol]}`);
    const r = (x: { from: number; to: number }): string => (x.from === x.to ? `${x.from}` : `${x.from}:${x.to}`);
    if (ph.srcPorts !== undefined) parts.push(`--sport ${r(ph.srcPorts)}`);
    if (ph.dstPorts !== undefined) parts.push(`--dport ${r(ph.dstPorts)}`);
  }
  parts.push(`-m comment --comment "natfw ${ph.id} ${ph.owner === '' ? '-' : ph.owner} ${ph.expiresAt}"`);
  if (ph.action === 'deny') parts.push('-j DROP');
  else if (mode === 'standalone') parts.push('-j ACCEPT');
  else parts.push(`-j MARK --set-xmark 0x${markBits.toString(16)}/0x${markBits.toString(16)}`);
  return parts.join(' ');
}

function familyOf(ph: Pinhole): 4 | 6 {
  return parseAddress(ph.src.address)?.family === 6 ? 6 : 4;
}

const chainOf = (ph: Pinhole): string => (ph.action === 'deny' ? 'NATFW_DENY' : 'NATFW_ALLOW');

export class IptablesPinholeSet implements PinholeSet {
  readonly backend = 'iptables';
  private readonly table = new PinholeTable();
  private readonly mode: 'standalone' | 'integration';
  private readonly markBits: number;
  readonly netns: string | undefined;
  private next = 1;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(o: IptablesOptions) {
    this.mode = o.mode ?? 'standalone';
    this.markBits = o.markBits ?? 0x00100000;
    this.netns = o.netns;
  }

  static async setup(o: IptablesOptions = {}): Promise<void> {
    const mode = o.mode ?? 'standalone';
    for (const cmd of ['iptables', 'ip6tables']) {
      // Idempotent: create chains if missing, rebuild NATFW (mode may change), keep pinhole rules.
      const existing = await run(cmd, ['-S'], undefined, o.netns);
      const L = ['*filter'];
      for (const c of ['NATFW', 'NATFW_DENY', 'NATFW_ALLOW']) if (!existing.includes(`-N ${c}\n`)) L.push(`:${c} - [0:0]`);
      L.push('-F NATFW', '-A NATFW -j NATFW_DENY', '-A NATFW -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT', '-A NATFW -j NATFW_ALLOW');
      if (mode === 'standalone') L.push('-A NATFW -j DROP');
      if (!existing.includes('-A FORWARD -j NATFW\n')) L.push('-I FORWARD 1 -j NATFW');
      L.push('COMMIT', '');
      await run(`${cmd}-restore`, ['--noflush'], L.join('\n'), o.netns);
    }
  }

  static async teardown(o: IptablesOptions = {}): Promise<void> {
    for (const cmd of ['iptables', 'ip6tables']) {
      const existing = await run(cmd, ['-S'], undefined, o.netns);
      const L = ['*filter'];
      if (existing.includes('-A FORWARD -j NATFW\n')) L.push('-D FORWARD -j NATFW');
      for (const c of ['NATFW', 'NATFW_DENY', 'NATFW_ALLOW']) if (existing.includes(`-N ${c}\n`)) L.push(`-F ${c}`);
      for (const c of ['NATFW', 'NATFW_DENY', 'NATFW_ALLOW']) if (existing.includes(`-N ${c}\n`)) L.push(`-X ${c}`);
      L.push('COMMIT', '');
      await run(`${cmd}-restore`, ['--noflush'], L.join('\n'), o.netns);
    }
  }

  /** Reads the pinholes back from the rules' comments (the chains must exist: `setup`). */
  static async open(o: IptablesOptions & { now: number; desired?: { pinholes: readonly Pinhole[] } }): Promise<IptablesPinholeSet> {
    const s = new IptablesPinholeSet(o);
    for (const cmd of ['iptables', 'ip6tables']) {
      let text: string;
      try {
        text = await run(cmd, ['-S'], undefined, o.netns);
      } catch (e) {
        throw e;
      }
      if (!text.includes('-N NATFW_ALLOW\n')) throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', `${cmd}: chain NATFW_ALLOW does not exist: run 'natfw pinhole setup --backend iptables' first`);
      for (const line of text.split('\n')) {
        const m = /^-A (NATFW_DENY|NATFW_ALLOW) (.*) -m comment --comment "natfw (ph-[0-9a-f]+) (\S+) (\d+)" -j (.*)$/.exec(line);
        if (m === null) continue;
        const ph = parseRule(m[2], m[1] === 'NATFW_DENY' ? 'deny' : 'allow', m[3], m[4] === '-' ? '' : m[4], Number(m[5]));
        if (ph === undefined) continue;
        s.table.insert(ph);
        s.next = Math.max(s.next, parseInt(ph.id.slice(3), 16) + 1);
      }
    }
    // Reconcile: drop what expired meanwhile (no kernel timeouts here), and what the node no longer wants.
    const tx = s.begin();
    let n = 0;
    for (const p of s.table.list()) {
      const want = o.desired?.pinholes.find((d) => d.id === p.id);
      if (p.expiresAt <= o.now || (o.desired !== undefined && want === undefined)) {
        tx.remove(p.id);
        n++;
      }
    }
    if (n > 0) await tx.commit(o.now);
    else tx.abort();
    return s;
  }

  begin(): Transaction {
    return new StagedTransaction(
      this.table,
      {
        pinhole: (spec) => {
          if (!OWNER_RE.test(spec.owner)) throw new EnforcementError('ENF_INVALID_SPEC', 'owner must be at most 100 printable ASCII characters without spaces, quotes or backslashes');
          if (!hasPorts(spec.protocol) || PORT_MODULE[spec.protocol] !== undefined || (spec.srcPorts === undefined && spec.dstPorts === undefined)) {
            return `ph-${(this.next++).toString(16)}`;
          }
          throw new EnforcementError('ENF_INVALID_SPEC', `iptables cannot match ports of protocol ${spec.protocol}`);
        },
        binding: () => {
          throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', 'the iptables backend does not implement NAT bindings (use nftables)');
        },
      },
      (ops, now) => this.enqueue(() => this.commitOps(ops, now)),
    );
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private script(plan: Plan, family: 4 | 6, inverse: boolean): string | undefined {
    const L: string[] = [];
    const rm = (p: Pinhole): void => {
      L.push(`-D ${chainOf(p)} ${ruleSpec(p, this.mode, this.markBits)}`);
    };
    const add = (p: Pinhole): void => {
      L.push(`-A ${chainOf(p)} ${ruleSpec(p, this.mode, this.markBits)}`);
    };
    const mine = (p: Pinhole): boolean => familyOf(p) === family;
    const removed = inverse ? plan.added : plan.removed;
    const added = inverse ? plan.removed : plan.added;
    for (const p of removed.filter(mine)) rm(p);
    // A refresh rewrites the comment (it carries the expiry): delete and re-add, in place in the same transaction.
    for (const r of plan.refreshed.filter((x) => mine(x.before))) {
      rm(inverse ? r.after : r.before);
      add(inverse ? r.before : r.after);
    }
    for (const p of added.filter(mine)) add(p);
    if (L.length === 0) return undefined;
    return ['*filter', ...L, 'COMMIT', ''].join('\n');
  }

  private async commitOps(ops: readonly Op[], now: number): Promise<void> {
    const plan = this.table.plan(ops, now);
    if (plan.addedBindings.length + plan.removedBindings.length + plan.refreshedBindings.length > 0)
      throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', 'the iptables backend does not implement NAT bindings (use nftables)');
    for (const p of plan.added) normalizeSpec(p);
    const v4 = this.script(plan, 4, false);
    const v6 = this.script(plan, 6, false);
    if (v4 !== undefined) await run('iptables-restore', ['--noflush'], v4, this.netns);
    if (v6 !== undefined) {
      try {
        await run('ip6tables-restore', ['--noflush'], v6, this.netns);
      } catch (e) {
        const undo = this.script(plan, 4, true);
        if (v4 !== undefined && undo !== undefined) await run('iptables-restore', ['--noflush'], undo, this.netns).catch(() => undefined);
        throw e;
      }
    }
    this.table.apply(plan);
    // Cut flows the removed allows let in: conntrack -D works on exact tuples only.
    for (const p of plan.removed) if (p.action === 'allow') await this.cut(p);
    for (const p of plan.added) if (p.action === 'deny') await this.cut(p);
  }

  private async cut(p: Pinhole): Promise<void> {
    const host = (x: { length: number }, f: 4 | 6): boolean => x.length === (f === 4 ? 32 : 128);
    const f = familyOf(p);
    const args = ['-D', '-f', f === 4 ? 'ipv4' : 'ipv6', '-p', String(p.protocol)];
    if (host(p.src, f)) args.push('--orig-src', p.src.address);
    if (host(p.dst, f)) args.push('--orig-dst', p.dst.address);
    const sp = p.srcPorts;
    if (sp !== undefined && sp.from === sp.to) args.push('--orig-port-src', String(sp.from));
    const dps = p.dstPorts === undefined ? [undefined] : p.dstPorts.to - p.dstPorts.from <= 1 ? [p.dstPorts.from, p.dstPorts.to] : [undefined];
    for (const dp of new Set(dps)) {
      const a = dp === undefined ? args : [...args, '--orig-port-dst', String(dp)];
      // rc 1 = no entry matched; that is fine.
      await run('conntrack', a, undefined, this.netns).catch(() => undefined);
    }
  }

  list(): readonly Pinhole[] {
    return this.table.list();
  }

  listBindings(): readonly NatBinding[] {
    return [];
  }

  lookup(packet: PacketKey): LookupResult {
    return this.table.lookup(packet);
  }

  get(id: string): Pinhole | undefined {
    return this.table.get(id);
  }

  async expire(now: number): Promise<{ pinholes: Pinhole[]; bindings: NatBinding[] }> {
    const gone = this.table.expired(now);
    if (gone.pinholes.length > 0) {
      const tx = this.begin();
      for (const p of gone.pinholes) tx.remove(p.id);
      await tx.commit(now);
    }
    return { pinholes: gone.pinholes, bindings: [] };
  }

  /** The rules as the kernel holds them (`iptables -S` lines of our chains). */
  async kernelRules(): Promise<string[]> {
    const out: string[] = [];
    for (const cmd of ['iptables', 'ip6tables'])
      for (const l of (await run(cmd, ['-S'], undefined, this.netns)).split('\n')) if (/^-A NATFW/.test(l)) out.push(`${cmd === 'iptables' ? '4' : '6'} ${l}`);
    return out;
  }
}

/** Parses the match part of an `iptables -S` line back into a pinhole. */
function parseRule(spec: string, action: 'allow' | 'deny', id: string, owner: string, expiresAt: number): Pinhole | undefined {
  const get = (flag: string): string | undefined => {
    const m = new RegExp(`(?:^| )${flag} (\\S+)`).exec(spec);
    return m === null ? undefined : m[1];
  };
  const pfx = (v: string | undefined): { address: string; length: number } | undefined => {
    if (v === undefined) return undefined;
    const [a, l] = v.split('/');
    const addr = parseAddress(a);
    if (addr === undefined) return undefined;
    return { address: a, length: l === undefined ? (addr.family === 4 ? 32 : 128) : Number(l) };
  };
  const ports = (v: string | undefined): { from: number; to: number } | undefined => {
    if (v === undefined) return undefined;
    const [a, b] = v.split(':');
    return { from: Number(a), to: Number(b ?? a) };
  };
  const src = pfx(get('-s'));
  const dst = pfx(get('-d'));
  const p = get('-p');
  const proto = p === undefined ? undefined : /^\d+$/.test(p) ? Number(p) : ({ tcp: 6, udp: 17, sctp: 132, dccp: 33, icmp: 1, 'ipv6-icmp': 58, udplite: 136 } as Record<string, number>)[p];
  if (src === undefined || dst === undefined || proto === undefined) return undefined;
  const sp = ports(get('--sport'));
  const dp = ports(get('--dport'));
  try {
    return { ...normalizeSpec({ protocol: proto, src, dst, ...(sp ? { srcPorts: sp } : {}), ...(dp ? { dstPorts: dp } : {}), action, owner, expiresAt }), id };
  } catch {
    return undefined;
  }
}
