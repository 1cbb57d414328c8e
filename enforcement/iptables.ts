/**
 * The iptables backend: one rule per pinhole in dedicated chains, as older
 * deployments and the early NATFW prototypes did; also the baseline of the
 * benchmark. Chains (filter table, IPv4 and IPv6):
 *
 *   FORWARD -> NATFW: -j NATFW_DENY; ESTABLISHED,RELATED -j ACCEPT; -j NATFW_ALLOW; [standalone] -j DROP
 *
 * NAT bindings are rules too: in the nat table, NATFW_PRE (from PREROUTING)
 * holds a DNAT rule and NATFW_POST (from POSTROUTING) a SNAT rule per
 * binding, and NATFW_ALLOW admits the binding's flows (inbound by the
 * conntrack original destination, outbound by the internal source).
 *
 * Every rule carries a comment "natfw <id> <owner> <expiresAt>" so that the
 * CLI (no daemon) and a restarted node can rebuild the pinholes from the
 * kernel. A commit is one `iptables-restore --noflush` per family (atomic per
 * family and table; if the IPv6 half fails the IPv4 half is undone).
 *
 * Expiry without the daemon: iptables cannot time rules out, but the xt_time
 * match can stop one from matching: every rule carries `-m time --datestop`
 * (UTC, whole seconds) = its expiry + grace on the wall clock, so a dead
 * daemon's pinholes and bindings admit no new flow after that (fail closed).
 * Flows already running then go on until their conntrack entry times out
 * (nobody is left to run `conntrack -D`), unlike the nftables backend whose
 * `live` set cuts them.
 *
 * Limits, compared with the nftables backend: per-packet cost linear in the
 * number of rules, and removal cuts running flows with a `conntrack -D` for
 * exact pinholes only.
 */
import { execFile } from 'node:child_process';
import { parseAddress } from './address';
import { EnforcementError } from './errors';
import { PROTO_DCCP, PROTO_SCTP, PROTO_TCP, PROTO_UDP, hasPorts, normalizeBinding, normalizeSpec, protocolName } from './model';
import { type Op, type Plan, PinholeTable, StagedTransaction } from './table';
import type { LookupResult, NatBinding, PacketKey, Pinhole, PinholeSet, Transaction } from './types';

export interface IptablesOptions {
  readonly mode?: 'standalone' | 'integration';
  /** Rules stop matching at expiry + grace (ms) on the wall clock. Default 3000. */
  readonly graceMs?: number;
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

/** `-m time --datestop` text (UTC, whole seconds, rounded up) of a wall-clock deadline in ms. */
export function datestopOf(wallMs: number): string {
  return new Date(Math.ceil(wallMs / 1000) * 1000).toISOString().slice(0, 19);
}

function timeMatch(datestop: string | undefined): string {
  return datestop === undefined ? '' : ` -m time --datestop ${datestop}`;
}

function commentOf(id: string, owner: string, expiresAt: number): string {
  return `-m comment --comment "natfw ${id} ${owner === '' ? '-' : owner} ${expiresAt}"`;
}

/** The rule spec (without -A/-D and chain) of a pinhole, exactly as `iptables -S` prints it back. */
export function ruleSpec(ph: Pinhole, mode: 'standalone' | 'integration', markBits: number, datestop?: string): string {
  const parts = [`-s ${ph.src.address}/${ph.src.length}`, `-d ${ph.dst.address}/${ph.dst.length}`, `-p ${protocolName(ph.protocol)}`];
  if (ph.srcPorts !== undefined || ph.dstPorts !== undefined) {
    parts.push(`-m ${PORT_MODULE[ph.protocol]}`);
    const r = (x: { from: number; to: number }): string => (x.from === x.to ? `${x.from}` : `${x.from}:${x.to}`);
    if (ph.srcPorts !== undefined) parts.push(`--sport ${r(ph.srcPorts)}`);
    if (ph.dstPorts !== undefined) parts.push(`--dport ${r(ph.dstPorts)}`);
  }
  if (datestop !== undefined) parts.push(`-m time --datestop ${datestop}`);
  parts.push(commentOf(ph.id, ph.owner, ph.expiresAt));
  parts.push(ph.action === 'deny' ? '-j DROP' : admit(mode, markBits));
  return parts.join(' ');
}

function admit(mode: 'standalone' | 'integration', markBits: number): string {
  return mode === 'standalone' ? '-j ACCEPT' : `-j MARK --set-xmark 0x${markBits.toString(16)}/0x${markBits.toString(16)}`;
}

type Fam = 4 | 6;

function familyOf(ph: Pinhole): Fam {
  return parseAddress(ph.src.address)?.family === 6 ? 6 : 4;
}

const chainOf = (ph: Pinhole): string => (ph.action === 'deny' ? 'NATFW_DENY' : 'NATFW_ALLOW');

/** One installed rule: where it is and its exact spec (deleted with the same text). */
interface Rule {
  readonly family: Fam;
  readonly table: 'filter' | 'nat';
  readonly chain: string;
  readonly spec: string;
}

/** The four rules of a NAT binding. */
export function bindingRules(b: NatBinding, mode: 'standalone' | 'integration', markBits: number, datestop?: string): Rule[] {
  const f: Fam = parseAddress(b.external.address)?.family === 6 ? 6 : 4;
  const host = f === 4 ? 32 : 128;
  const p = protocolName(b.protocol);
  const m = PORT_MODULE[b.protocol];
  const t = timeMatch(datestop);
  const c = commentOf(b.id, b.owner, b.expiresAt);
  const hp = (a: string, port: number): string => (f === 6 ? `[${a}]:${port}` : `${a}:${port}`);
  const E = b.external;
  const I = b.internal;
  return [
    { family: f, table: 'nat', chain: 'NATFW_PRE', spec: `-d ${E.address}/${host} -p ${p} -m ${m} --dport ${E.port}${t} ${c} -j DNAT --to-destination ${hp(I.address, I.port)}` },
    { family: f, table: 'nat', chain: 'NATFW_POST', spec: `-s ${I.address}/${host} -p ${p} -m ${m} --sport ${I.port}${t} ${c} -j SNAT --to-source ${hp(E.address, E.port)}` },
    // Inbound flows were addressed to the external address:port before DNAT (conntrack original tuple).
    { family: f, table: 'filter', chain: 'NATFW_ALLOW', spec: `-p ${p} -m conntrack --ctorigdst ${E.address} --ctorigdstport ${E.port}${t} ${c} ${admit(mode, markBits)}` },
    // Outbound flows leave from the internal address:port (SNAT happens after forwarding).
    { family: f, table: 'filter', chain: 'NATFW_ALLOW', spec: `-s ${I.address}/${host} -p ${p} -m ${m} --sport ${I.port}${t} ${c} ${admit(mode, markBits)}` },
  ];
}

const CHAINS = { filter: ['NATFW', 'NATFW_DENY', 'NATFW_ALLOW'], nat: ['NATFW_PRE', 'NATFW_POST'] } as const;
const JUMPS = { filter: [['FORWARD', 'NATFW']], nat: [['PREROUTING', 'NATFW_PRE'], ['POSTROUTING', 'NATFW_POST']] } as const;

export class IptablesPinholeSet implements PinholeSet {
  readonly backend = 'iptables';
  private readonly table = new PinholeTable();
  private readonly mode: 'standalone' | 'integration';
  private readonly markBits: number;
  private readonly graceMs: number;
  readonly netns: string | undefined;
  private next = 1;
  private nextB = 1;
  /** The exact rules installed per pinhole or binding id. */
  private readonly rules = new Map<string, Rule[]>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(o: IptablesOptions) {
    this.mode = o.mode ?? 'standalone';
    this.markBits = o.markBits ?? 0x00100000;
    this.graceMs = o.graceMs ?? 3000;
    this.netns = o.netns;
  }

  static async setup(o: IptablesOptions = {}): Promise<void> {
    const mode = o.mode ?? 'standalone';
    for (const cmd of ['iptables', 'ip6tables']) {
      // Idempotent: create chains if missing, rebuild NATFW (mode may change), keep pinhole and binding rules.
      const existing = await run(cmd, ['-S'], undefined, o.netns);
      const existingNat = await run(cmd, ['-t', 'nat', '-S'], undefined, o.netns);
      const L = ['*filter'];
      for (const c of CHAINS.filter) if (!existing.includes(`-N ${c}\n`)) L.push(`:${c} - [0:0]`);
      L.push('-F NATFW', '-A NATFW -j NATFW_DENY', '-A NATFW -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT', '-A NATFW -j NATFW_ALLOW');
      if (mode === 'standalone') L.push('-A NATFW -j DROP');
      if (!existing.includes('-A FORWARD -j NATFW\n')) L.push('-I FORWARD 1 -j NATFW');
      L.push('COMMIT', '*nat');
      for (const c of CHAINS.nat) if (!existingNat.includes(`-N ${c}\n`)) L.push(`:${c} - [0:0]`);
      for (const [from, to] of JUMPS.nat) if (!existingNat.includes(`-A ${from} -j ${to}\n`)) L.push(`-I ${from} 1 -j ${to}`);
      L.push('COMMIT', '');
      await run(`${cmd}-restore`, ['--noflush'], L.join('\n'), o.netns);
    }
  }

  static async teardown(o: IptablesOptions = {}): Promise<void> {
    for (const cmd of ['iptables', 'ip6tables']) {
      const L: string[] = [];
      for (const t of ['filter', 'nat'] as const) {
        const existing = await run(cmd, ['-t', t, '-S'], undefined, o.netns);
        L.push(`*${t}`);
        for (const [from, to] of JUMPS[t]) if (existing.includes(`-A ${from} -j ${to}\n`)) L.push(`-D ${from} -j ${to}`);
        for (const c of CHAINS[t]) if (existing.includes(`-N ${c}\n`)) L.push(`-F ${c}`);
        for (const c of CHAINS[t]) if (existing.includes(`-N ${c}\n`)) L.push(`-X ${c}`);
        L.push('COMMIT');
      }
      L.push('');
      await run(`${cmd}-restore`, ['--noflush'], L.join('\n'), o.netns);
    }
  }

  /** Reads the pinholes and bindings back from the rules' comments (the chains must exist: `setup`). */
  static async open(
    o: IptablesOptions & {
      now: number;
      desired?: { pinholes: readonly Pinhole[]; bindings?: readonly NatBinding[] };
      /** false: only read the rules (list, explain); strays and expired rules are left alone. Default true. */
      repair?: boolean;
    },
  ): Promise<IptablesPinholeSet> {
    const s = new IptablesPinholeSet(o);
    const byId = new Map<string, Rule[]>();
    const stray: Rule[] = [];
    for (const [cmd, family] of [
      ['iptables', 4],
      ['ip6tables', 6],
    ] as const) {
      const text = await run(cmd, ['-S'], undefined, o.netns);
      if (!text.includes('-N NATFW_ALLOW\n')) throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', `${cmd}: chain NATFW_ALLOW does not exist: run 'natfw pinhole setup --backend iptables' first`);
      const nat = await run(cmd, ['-t', 'nat', '-S'], undefined, o.netns);
      for (const [table, lines] of [
        ['filter', text],
        ['nat', nat],
      ] as const) {
        for (const line of lines.split('\n')) {
          const m = /^-A (NATFW_DENY|NATFW_ALLOW|NATFW_PRE|NATFW_POST) (.*-m comment --comment "natfw ((?:ph|nb)-[0-9a-f]+) (\S+) (\d+)" -j .*)$/.exec(line);
          if (m === null) continue;
          const rule: Rule = { family, table, chain: m[1], spec: m[2] };
          let l = byId.get(m[3]);
          if (l === undefined) byId.set(m[3], (l = []));
          l.push(rule);
          if (m[3].startsWith('ph-') && (m[1] === 'NATFW_DENY' || m[1] === 'NATFW_ALLOW')) {
            const r = /^(.*) -m comment --comment "natfw (ph-[0-9a-f]+) (\S+) (\d+)" -j (.*)$/.exec(m[2]);
            const ph = r === null ? undefined : parseRule(r[1], m[1] === 'NATFW_DENY' ? 'deny' : 'allow', r[2], r[3] === '-' ? '' : r[3], Number(r[4]));
            if (ph !== undefined && s.table.get(ph.id) === undefined) {
              s.table.insert(ph);
              s.next = Math.max(s.next, parseInt(ph.id.slice(3), 16) + 1);
            }
          } else if (m[3].startsWith('nb-') && m[1] === 'NATFW_PRE') {
            const b = parseBinding(m[2], m[3], m[4] === '-' ? '' : m[4], Number(m[5]));
            if (b !== undefined && s.table.getBinding(b.id) === undefined) {
              s.table.insertBinding(b);
              s.nextB = Math.max(s.nextB, parseInt(b.id.slice(3), 16) + 1);
            }
          }
        }
      }
    }
    // Rules whose pinhole or binding could not be rebuilt (or is incomplete) are strays: removed below.
    for (const [id, rules] of byId) {
      const ok = id.startsWith('ph-') ? s.table.get(id) !== undefined && rules.length === 1 : s.table.getBinding(id) !== undefined && rules.length === 4;
      if (ok) s.rules.set(id, rules);
      else {
        stray.push(...rules);
        if (id.startsWith('ph-')) s.table.delete(id);
        else s.table.deleteBinding(id);
      }
    }
    if (o.repair === false) return s;
    if (stray.length > 0) await s.runRules(stray.map((r) => ({ op: 'D' as const, r })));
    // Reconcile: drop what expired meanwhile (its rules stopped matching at expiry + grace anyway), and
    // what the node no longer wants.
    const tx = s.begin();
    let n = 0;
    const wantP = o.desired === undefined ? undefined : new Set(o.desired.pinholes.map((d) => d.id));
    const wantB = o.desired === undefined ? undefined : new Set((o.desired.bindings ?? []).map((d) => d.id));
    for (const p of s.table.list()) {
      if (p.expiresAt <= o.now || (wantP !== undefined && !wantP.has(p.id))) {
        tx.remove(p.id);
        n++;
      }
    }
    for (const b of s.table.listBindings()) {
      if (b.expiresAt <= o.now || (wantB !== undefined && !wantB.has(b.id))) {
        tx.removeBinding(b.id);
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
        binding: (spec) => {
          if (!OWNER_RE.test(spec.owner)) throw new EnforcementError('ENF_INVALID_SPEC', 'owner must be at most 100 printable ASCII characters without spaces, quotes or backslashes');
          if (PORT_MODULE[spec.protocol] === undefined) throw new EnforcementError('ENF_INVALID_SPEC', `iptables cannot translate ports of protocol ${spec.protocol}`);
          return `nb-${(this.nextB++).toString(16)}`;
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

  /** Applies rule deletions/additions: one iptables-restore per family (both tables in it). */
  private async runRules(ops: ReadonlyArray<{ op: 'A' | 'D'; r: Rule }>): Promise<void> {
    const script = (family: Fam, list: ReadonlyArray<{ op: 'A' | 'D'; r: Rule }>): string | undefined => {
      const L: string[] = [];
      for (const t of ['filter', 'nat'] as const) {
        const mine = list.filter((x) => x.r.family === family && x.r.table === t);
        if (mine.length === 0) continue;
        L.push(`*${t}`, ...mine.map((x) => `-${x.op} ${x.r.chain} ${x.r.spec}`), 'COMMIT');
      }
      return L.length === 0 ? undefined : [...L, ''].join('\n');
    };
    const v4 = script(4, ops);
    const v6 = script(6, ops);
    if (v4 !== undefined) await run('iptables-restore', ['--noflush'], v4, this.netns);
    if (v6 !== undefined) {
      try {
        await run('ip6tables-restore', ['--noflush'], v6, this.netns);
      } catch (e) {
        // Undo the IPv4 half: the inverse ops in reverse order.
        const undo = script(4, [...ops].reverse().map((x) => ({ op: x.op === 'A' ? ('D' as const) : ('A' as const), r: x.r })));
        if (v4 !== undefined && undo !== undefined) await run('iptables-restore', ['--noflush'], undo, this.netns).catch(() => undefined);
        throw e;
      }
    }
  }

  private async commitOps(ops: readonly Op[], now: number): Promise<void> {
    const plan: Plan = this.table.plan(ops, now);
    for (const p of plan.added) normalizeSpec(p);
    for (const b of plan.addedBindings) normalizeBinding(b);
    // Rules stop matching at expiry + grace on the wall clock (the caller's clock may be another one).
    const wall = Date.now();
    const stop = (expiresAt: number): string => datestopOf(wall + (expiresAt - now) + this.graceMs);
    const L: Array<{ op: 'A' | 'D'; r: Rule }> = [];
    const next = new Map<string, Rule[] | null>();
    const drop = (id: string): void => {
      for (const r of this.rules.get(id) ?? []) L.push({ op: 'D', r });
      next.set(id, null);
    };
    const put = (id: string, rules: Rule[]): void => {
      for (const r of rules) L.push({ op: 'A', r });
      next.set(id, rules);
    };
    const phRules = (p: Pinhole): Rule[] => [{ family: familyOf(p), table: 'filter', chain: chainOf(p), spec: ruleSpec(p, this.mode, this.markBits, stop(p.expiresAt)) }];
    for (const p of plan.removed) drop(p.id);
    for (const b of plan.removedBindings) drop(b.id);
    // A refresh rewrites the rule (its datestop and comment carry the expiry): delete and re-add in one transaction.
    for (const r of plan.refreshed) {
      drop(r.before.id);
      put(r.after.id, phRules(r.after));
    }
    for (const r of plan.refreshedBindings) {
      drop(r.before.id);
      put(r.after.id, bindingRules(r.after, this.mode, this.markBits, stop(r.after.expiresAt)));
    }
    for (const p of plan.added) put(p.id, phRules(p));
    for (const b of plan.addedBindings) put(b.id, bindingRules(b, this.mode, this.markBits, stop(b.expiresAt)));
    if (L.length > 0) await this.runRules(L);
    this.table.apply(plan);
    for (const [id, rules] of next) {
      if (rules === null) this.rules.delete(id);
      else this.rules.set(id, rules);
    }
    // Cut flows the removed allows and bindings let in: conntrack -D works on exact tuples only.
    for (const p of plan.removed) if (p.action === 'allow') await this.cut(p);
    for (const p of plan.added) if (p.action === 'deny') await this.cut(p);
    for (const b of plan.removedBindings) await this.cutBinding(b);
  }

  private async conntrackDelete(args: string[]): Promise<void> {
    // rc 1 = no entry matched; that is fine.
    await run('conntrack', ['-D', ...args], undefined, this.netns).catch(() => undefined);
  }

  private async cut(p: Pinhole): Promise<void> {
    const host = (x: { length: number }, f: Fam): boolean => x.length === (f === 4 ? 32 : 128);
    const f = familyOf(p);
    const args = ['-f', f === 4 ? 'ipv4' : 'ipv6', '-p', String(p.protocol)];
    if (host(p.src, f)) args.push('--orig-src', p.src.address);
    if (host(p.dst, f)) args.push('--orig-dst', p.dst.address);
    const sp = p.srcPorts;
    if (sp !== undefined && sp.from === sp.to) args.push('--orig-port-src', String(sp.from));
    const dps = p.dstPorts === undefined ? [undefined] : p.dstPorts.to - p.dstPorts.from <= 1 ? [p.dstPorts.from, p.dstPorts.to] : [undefined];
    for (const dp of new Set(dps)) await this.conntrackDelete(dp === undefined ? args : [...args, '--orig-port-dst', String(dp)]);
  }

  private async cutBinding(b: NatBinding): Promise<void> {
    const f = parseAddress(b.external.address)?.family === 6 ? 'ipv6' : 'ipv4';
    const base = ['-f', f, '-p', String(b.protocol)];
    // Inbound: addressed to the external address:port; outbound: from the internal address:port.
    await this.conntrackDelete([...base, '--orig-dst', b.external.address, '--orig-port-dst', String(b.external.port)]);
    await this.conntrackDelete([...base, '--orig-src', b.internal.address, '--orig-port-src', String(b.internal.port)]);
  }

  list(): readonly Pinhole[] {
    return this.table.list();
  }

  listBindings(): readonly NatBinding[] {
    return this.table.listBindings();
  }

  lookup(packet: PacketKey): LookupResult {
    return this.table.lookup(packet);
  }

  get(id: string): Pinhole | undefined {
    return this.table.get(id);
  }

  async expire(now: number): Promise<{ pinholes: Pinhole[]; bindings: NatBinding[] }> {
    const gone = this.table.expired(now);
    if (gone.pinholes.length > 0 || gone.bindings.length > 0) {
      const tx = this.begin();
      for (const p of gone.pinholes) tx.remove(p.id);
      for (const b of gone.bindings) tx.removeBinding(b.id);
      await tx.commit(now);
    }
    return gone;
  }

  /** The rules as the kernel holds them (`iptables -S` lines of our chains, both tables). */
  async kernelRules(): Promise<string[]> {
    const out: string[] = [];
    for (const cmd of ['iptables', 'ip6tables'])
      for (const t of ['filter', 'nat'])
        for (const l of (await run(cmd, ['-t', t, '-S'], undefined, this.netns)).split('\n')) if (/^-A NATFW/.test(l)) out.push(`${cmd === 'iptables' ? '4' : '6'} ${l}`);
    return out;
  }
}

/** Parses a NATFW_PRE (DNAT) rule back into its binding. */
function parseBinding(spec: string, id: string, owner: string, expiresAt: number): NatBinding | undefined {
  const get = (flag: string): string | undefined => {
    const m = new RegExp(`(?:^| )${flag} (\\S+)`).exec(spec);
    return m === null ? undefined : m[1];
  };
  const d = get('-d')?.split('/')[0];
  const p = get('-p');
  const dport = get('--dport');
  const to = /-j DNAT --to-destination (?:\[([^\]]+)\]|([^:\s]+)):(\d+)$/.exec(spec);
  const proto = p === undefined ? undefined : /^\d+$/.test(p) ? Number(p) : ({ tcp: 6, udp: 17, sctp: 132, dccp: 33 } as Record<string, number>)[p];
  if (d === undefined || proto === undefined || dport === undefined || to === null) return undefined;
  try {
    const b = normalizeBinding({ protocol: proto, external: { address: d, port: Number(dport) }, internal: { address: to[1] ?? to[2], port: Number(to[3]) }, owner, expiresAt });
    return { ...b, id };
  } catch {
    return undefined;
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
