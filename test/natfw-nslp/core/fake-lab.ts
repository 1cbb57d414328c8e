/** NATFW nodes over FakeGist with memory pinhole sets, driven on a virtual time line (unit tests). */
import { MemoryPinholeSet } from '../../../enforcement';
import { NatfwNode, type MiddleboxConfig, type NatfwNodeConfig } from '../../../natfw-nslp/core/node';
import { runEnforcementJob } from '../../../natfw-nslp/core/enforcement-job';
import { seededRandom } from '../../../natfw-nslp/core/random';
import { FakeGistNet } from './fake-gist';
import { jsonCodec } from './json-codec';
import type { NatfwMessageCodec } from '../../../natfw-nslp/core/messages';

export interface LabNode {
  readonly name: string;
  readonly address: string;
  readonly node: NatfwNode;
  readonly pinholes: MemoryPinholeSet;
}

export class FakeLab {
  readonly net = new FakeGistNet();
  readonly nodes = new Map<string, LabNode>();
  private seed = 1;
  /** JSON by default (protocol logic only); the wire codec for tests that want real bytes. */
  codec: NatfwMessageCodec = jsonCodec;
  /** Optional hook to make a node's enforcement fail. */
  failEnforcement = new Set<string>();

  add(name: string, address: string, middlebox?: MiddleboxConfig, extra: Partial<NatfwNodeConfig> = {}): LabNode {
    const gist = this.net.add(name, [address]);
    const node = new NatfwNode(gist, {
      addresses: [address],
      middlebox,
      random: seededRandom(this.seed++),
      codec: this.codec,
      ...extra,
    });
    const n: LabNode = { name, address, node, pinholes: new MemoryPinholeSet() };
    this.nodes.set(name, n);
    return n;
  }

  get(name: string): LabNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  get now(): number {
    return this.net.now;
  }

  private async drainJobs(): Promise<boolean> {
    let any = false;
    for (const n of this.nodes.values()) {
      for (let i = 0; i < 100_000; i++) {
        const job = n.node.pollEnforcement();
        if (job === undefined) break;
        any = true;
        const res = this.failEnforcement.has(n.name)
          ? { ok: false as const, code: 'ENF_KERNEL_REFUSED', message: 'injected failure' }
          : await runEnforcementJob(n.pinholes, job, this.net.now);
        n.node.enforcementDone(this.net.now, job.jobId, res);
      }
    }
    return any;
  }

  /** Runs deliveries, timers and enforcement jobs in time order until `until` (bounded). */
  async runUntil(until: number, maxSteps = 2_000_000): Promise<void> {
    for (let i = 0; i < maxSteps; i++) {
      if (await this.drainJobs()) continue;
      const tNet = this.net.nextAt();
      let tTimer: number | undefined;
      let who: LabNode | undefined;
      for (const n of this.nodes.values()) {
        const d = n.node.nextDeadline();
        if (d !== undefined && (tTimer === undefined || d < tTimer)) {
          tTimer = d;
          who = n;
        }
      }
      const next = tNet === undefined ? tTimer : tTimer === undefined ? tNet : Math.min(tNet, tTimer);
      if (next === undefined || next > until) break;
      if (tNet !== undefined && tNet === next) this.net.step();
      else if (who !== undefined) {
        this.net.now = Math.max(this.net.now, next);
        who.node.handleTimeout(this.net.now);
      }
    }
    if (until > this.net.now) this.net.now = until;
    await this.drainJobs();
  }

  async runFor(ms: number): Promise<void> {
    await this.runUntil(this.net.now + ms);
  }
}

/** NI - NF1 - NF2 - NR on a line; route() follows the line in either direction. */
export function lineLab(opts: { nf?: Partial<MiddleboxConfig>; extra?: Partial<NatfwNodeConfig>; codec?: NatfwMessageCodec } = {}): FakeLab {
  const lab = new FakeLab();
  if (opts.codec !== undefined) lab.codec = opts.codec;
  lab.add('ni', '198.18.0.1', undefined, opts.extra);
  lab.add('nf1', '198.18.1.1', { kind: 'firewall', ...opts.nf }, opts.extra);
  lab.add('nf2', '198.18.2.1', { kind: 'firewall', ...opts.nf }, opts.extra);
  lab.add('nr', '198.18.3.1', undefined, opts.extra);
  const order = ['ni', 'nf1', 'nf2', 'nr'];
  lab.net.route = (src, dst) => {
    const a = [...lab.nodes.values()].find((n) => n.address === src)?.name;
    const b = [...lab.nodes.values()].find((n) => n.address === dst)?.name;
    const i = order.indexOf(a ?? '');
    const j = order.indexOf(b ?? '');
    if (i < 0 || j < 0) return [];
    return i <= j ? order.slice(i, j + 1) : order.slice(j, i + 1).reverse();
  };
  return lab;
}
