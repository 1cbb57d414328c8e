/** Test wiring: GIST nodes on a virtual network, with recorded NSLP events. */
import type { MessageStatusEvent, NetworkNotificationEvent, PeeringDecision, RecvMessageEvent } from '../../../gist/api';
import { createGistNode, type GistNode, type GistNodeConfig } from '../../../gist/core';
import { udpFlowMri, type PathCoupledMri } from '../../../gist/types';
import { SeededRandom, VirtualNetwork } from '../../../sim/vnet';

export const NSLP = 33;

export interface TestNode {
  readonly name: string;
  readonly node: GistNode;
  readonly recv: RecvMessageEvent[];
  readonly status: MessageStatusEvent[];
  readonly notes: NetworkNotificationEvent[];
  /** Peering decision for intercepted Queries (default: accept). */
  peering?: (ev: RecvMessageEvent) => PeeringDecision | undefined;
}

export function addNode(net: VirtualNetwork, rnd: SeededRandom, name: string, addresses: string[], cfg: Partial<GistNodeConfig> = {}, nslps = [NSLP]): TestNode {
  if (!hasHost(net, name)) net.addHost(name, addresses);
  const r = rnd.fork();
  const node = createGistNode({ addresses, randomBytes: (n) => r.bytes(n), t1Ms: 100, ...cfg });
  for (const n of nslps) node.registerNslp(n);
  const t: TestNode = { name, node, recv: [], status: [], notes: [] };
  node.events.on('recvMessage', (ev) => {
    t.recv.push(ev);
    if (ev.routingStateCheck && t.peering !== undefined) ev.peering = t.peering(ev);
  });
  node.events.on('messageStatus', (ev) => t.status.push(ev));
  node.events.on('networkNotification', (ev) => t.notes.push(ev));
  net.attach(name, node);
  return t;
}

function hasHost(net: VirtualNetwork, name: string): boolean {
  try {
    net.host(name);
    return true;
  } catch {
    return false;
  }
}

export function flow(src: string, dst: string, extra: Partial<PathCoupledMri> = {}): PathCoupledMri {
  return udpFlowMri(src, dst, { sourcePort: 5000, destinationPort: 6000, ...extra });
}

export function sid(rnd: SeededRandom): Uint8Array {
  return rnd.bytes(16);
}

/** NSLP payloads are whole words (A.3.10): pad with NULs. */
export const bytes = (s: string): Uint8Array => {
  const b = Buffer.from(s);
  const out = new Uint8Array(Math.ceil(b.length / 4) * 4);
  out.set(b);
  return out;
};
export const text = (b: Uint8Array): string => Buffer.from(b).toString().replace(/\0+$/, '');

/**
 * A - R - B line (198.18.1.0/24 and 198.18.2.0/24). `cfg` applies to every node, `nodes.a` / `.r` /
 * `.b` to one node on top of it.
 */
export function line3(
  opts: {
    seed?: number;
    delayMs?: number;
    cfg?: Partial<GistNodeConfig>;
    nodes?: { a?: Partial<GistNodeConfig>; r?: Partial<GistNodeConfig>; b?: Partial<GistNodeConfig> };
    rNslps?: number[];
  } = {},
) {
  const net = new VirtualNetwork({ seed: opts.seed ?? 1, trace: true });
  const rnd = new SeededRandom(opts.seed ?? 1);
  net.addHost('A', ['198.18.1.1']);
  net.addHost('R', ['198.18.1.2', '198.18.2.1']);
  net.addHost('B', ['198.18.2.2']);
  net.link('A', 'R', { delayMs: opts.delayMs ?? 5 });
  net.link('R', 'B', { delayMs: opts.delayMs ?? 5 });
  const a = addNode(net, rnd, 'A', ['198.18.1.1'], { ...opts.cfg, ...opts.nodes?.a });
  const r = addNode(net, rnd, 'R', ['198.18.1.2', '198.18.2.1'], { ...opts.cfg, ...opts.nodes?.r }, opts.rNslps ?? [NSLP]);
  const b = addNode(net, rnd, 'B', ['198.18.2.2'], { ...opts.cfg, ...opts.nodes?.b });
  return { net, rnd, a, r, b };
}

/** GIST message type of a datagram payload (magic + common header), or undefined. */
export function gistType(payload: Uint8Array): string | undefined {
  if (payload.length < 12 || payload[0] !== 0x4e) return undefined;
  return ['Query', 'Response', 'Confirm', 'Data', 'Error', 'MA-Hello'][payload[10] & 0x7f];
}

/** Drops the first `count` datagrams of a GIST message type, anywhere in the network. */
export function dropFirst(net: VirtualNetwork, type: string, count = 1): { dropped: number } {
  const st = { dropped: 0 };
  net.addFilter((dg) => {
    if (gistType(dg.payload) === type && st.dropped < count) {
      st.dropped++;
      return false;
    }
    return true;
  });
  return st;
}
