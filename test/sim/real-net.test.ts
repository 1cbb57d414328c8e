/**
 * The simulator's network for the real cores (sim/real/net.ts), with scripted
 * GIST nodes: hop-by-hop forwarding at one event per node that handles a
 * datagram, Router Alert interception, TTL, loss, link capacity, and datagrams
 * in flight re-walked when a link goes down under them.
 */
import type { DatagramDisposition, GistDriverFacing, InboundDatagram, Transmit } from '../../gist/core/driver-api';
import { SimClock } from '../../sim/clock';
import { Prng } from '../../sim/prng';
import { RealNetwork, type NetDropReason } from '../../sim/real/net';
import type { LinkSpec, NodeRole, NodeSpec } from '../../sim/scenario/types';
import { Topology } from '../../sim/topology';

interface Seen {
  node: string;
  at: number;
  dg: InboundDatagram;
}

/** A GIST node that sends what the test queues and records what it is given. */
class ScriptedNode implements GistDriverFacing {
  readonly out: Transmit[] = [];
  constructor(
    readonly name: string,
    private readonly seen: Seen[],
    private readonly clock: SimClock,
    private readonly answer: (dg: InboundDatagram) => DatagramDisposition = () => ({ kind: 'consume' }),
  ) {}
  readonly listen = { udpPort: 270, tcpPort: 30000, qmodePort: 270 };
  handleDatagram(now: number, dg: InboundDatagram): DatagramDisposition {
    expect(now).toBe(this.clock.now);
    this.seen.push({ node: this.name, at: now, dg });
    return this.answer(dg);
  }
  readonly streamLog: Array<[number, string, number, string?]> = [];
  handleStreamAccepted(now: number): number {
    this.streamLog.push([now, 'accepted', 7]);
    return 7;
  }
  handleStreamOpened(now: number, id: number): void {
    this.streamLog.push([now, 'opened', id]);
  }
  handleStreamData(now: number, id: number, b: Uint8Array): void {
    this.streamLog.push([now, 'data', id, Buffer.from(b).toString()]);
  }
  handleStreamClosed(now: number, id: number, reason?: string): void {
    this.streamLog.push([now, 'closed', id, reason]);
  }
  handleTimeout(): void {}
  pollTransmit(): Transmit | undefined {
    return this.out.shift();
  }
  nextDeadline(): number | undefined {
    return undefined;
  }
}

const policy = { defaultAction: 'allow' as const, maxLifetimeMs: 30000, allowDeny: true };

function lab(
  nodes: Array<[string, NodeRole, string]>,
  links: Array<[string, string, Partial<LinkSpec>?]>,
  opts: { answer?: Record<string, (dg: InboundDatagram) => DatagramDisposition>; seed?: number } = {},
) {
  const specs: NodeSpec[] = nodes.map(([id, role, address]) => ({ id, role, address, policy, line: 1 }));
  const ls: LinkSpec[] = links.map(([a, b, o]) => ({ id: `${a}-${b}`, a, b, delayMs: 1, loss: 0, capacityBps: 0, metric: 1, line: 1, ...o }));
  const topo = new Topology(specs, ls);
  const clock = new SimClock();
  const seen: Seen[] = [];
  const drops: NetDropReason[] = [];
  const net = new RealNetwork(topo, clock, new Prng(opts.seed ?? 1), {
    dropped: (r) => drops.push(r),
    touched: () => undefined,
    transmit: () => undefined,
    accepted: () => undefined,
  });
  const gist = new Map<string, ScriptedNode>();
  specs.forEach((s, i) => {
    if (s.role === 'router') return;
    const g = new ScriptedNode(s.id, seen, clock, opts.answer?.[s.id]);
    gist.set(s.id, g);
    net.attach(i, g);
  });
  const index = (id: string): number => specs.findIndex((s) => s.id === id);
  const send = (from: string, to: string, qmode: boolean, bytes = new Uint8Array(100)): void => {
    const g = gist.get(from) as ScriptedNode;
    g.out.push({
      kind: 'udp', ipVersion: 4, bytes,
      source: { address: specs[index(from)].address, port: 270 },
      destination: { address: specs[index(to)].address, port: 270 },
      qmode: qmode ? { routerAlert: 65, ipTtl: 64, dontFragment: true } : undefined,
    });
    net.pump(index(from));
  };
  return { topo, clock, seen, drops, net, gist, index, send };
}

const PASS = (): DatagramDisposition => ({ kind: 'forward' });

test('a Q-mode datagram is offered to each GIST node on its path, crosses routers without events, and loses one TTL per forwarding node', () => {
  const l = lab(
    [['a', 'host', '198.18.0.1'], ['r1', 'router', '198.18.0.2'], ['fw', 'firewall', '198.18.0.3'], ['r2', 'router', '198.18.0.4'], ['b', 'host', '198.18.0.5']],
    [['a', 'r1', { delayMs: 2 }], ['r1', 'fw', { delayMs: 3 }], ['fw', 'r2', { delayMs: 5 }], ['r2', 'b', { delayMs: 7 }]],
    { answer: { fw: PASS } },
  );
  l.send('a', 'b', true);
  const events = l.clock.runUntil(1000);
  expect(l.seen.map((s) => [s.node, s.at, s.dg.qmode?.ipTtl])).toEqual([
    ['fw', 5, 63],
    ['b', 17, 61],
  ]);
  expect(l.seen[1].dg.qmode?.routerAlert).toBe(65);
  // One event at the firewall, one at the receiver: none at the two routers.
  expect(events).toBe(2);
  expect(l.drops).toEqual([]);
});

test('a D-mode datagram goes to its destination only, and a consumed Q-mode one stops where it is taken', () => {
  const l = lab(
    [['a', 'host', '198.18.0.1'], ['fw', 'firewall', '198.18.0.3'], ['b', 'host', '198.18.0.5']],
    [['a', 'fw'], ['fw', 'b']],
  );
  l.send('a', 'b', false);
  l.send('a', 'b', true);
  l.clock.runUntil(1000);
  expect(l.seen.map((s) => [s.node, s.at, s.dg.qmode !== undefined])).toEqual([
    ['fw', 1, true],
    ['b', 2, false],
  ]);
});

test('a link that goes down under a datagram in flight: it goes on over the new route from the hop it had not reached', () => {
  //        +-- x (3 ms) --+
  //   a - r                r2 - b
  //        +-- y (metric 2, 4 ms) --+
  const l = lab(
    [['a', 'host', '198.18.0.1'], ['r', 'router', '198.18.0.2'], ['x', 'router', '198.18.0.3'], ['y', 'firewall', '198.18.0.4'], ['r2', 'router', '198.18.0.5'], ['b', 'host', '198.18.0.6']],
    [['a', 'r', { delayMs: 10 }], ['r', 'x', { delayMs: 3 }], ['x', 'r2', { delayMs: 3 }], ['r', 'y', { delayMs: 4, metric: 2 }], ['y', 'r2', { delayMs: 4, metric: 2 }], ['r2', 'b', { delayMs: 1 }]],
    { answer: { y: PASS } },
  );
  l.send('a', 'b', true);
  // Without a change it would arrive at 17 via x. At 5 it is still on a-r; r-x goes down.
  l.clock.schedule(5, () => {
    l.topo.setLinkUp('r-x', false);
    l.net.linksChanged();
  });
  l.clock.runUntil(1000);
  expect(l.seen.map((s) => [s.node, s.at])).toEqual([
    ['y', 14],
    ['b', 19],
  ]);
});

test('a change while the datagram is between two hops: the hop it reaches next decides on the new routes', () => {
  const l = lab(
    [['a', 'host', '198.18.0.1'], ['r', 'router', '198.18.0.2'], ['x', 'router', '198.18.0.3'], ['y', 'router', '198.18.0.4'], ['r2', 'router', '198.18.0.5'], ['b', 'host', '198.18.0.6']],
    [['a', 'r', { delayMs: 10 }], ['r', 'x', { delayMs: 3 }], ['x', 'r2', { delayMs: 3 }], ['r', 'y', { delayMs: 4, metric: 2 }], ['y', 'r2', { delayMs: 4, metric: 2 }], ['r2', 'b', { delayMs: 1 }]],
  );
  l.send('a', 'b', false);
  // At 12 it is on r-x (left r at 10, reaches x at 13) when x-r2 goes down.
  l.clock.schedule(12, () => {
    l.topo.setLinkUp('x-r2', false);
    l.net.linksChanged();
  });
  l.clock.runUntil(1000);
  // x has no direct way any more: back to r (3), then y (4), r2 (4), b (1).
  expect(l.seen.map((s) => [s.node, s.at])).toEqual([['b', 13 + 3 + 4 + 4 + 1]]);
});

test('TTL runs out, destinations without a route, crashed receivers and lossy links drop, each with its reason', () => {
  const l = lab(
    [['a', 'host', '198.18.0.1'], ['r1', 'router', '198.18.0.2'], ['r2', 'router', '198.18.0.3'], ['b', 'host', '198.18.0.4'], ['c', 'host', '198.18.0.5']],
    [['a', 'r1'], ['r1', 'r2'], ['r2', 'b'], ['r2', 'c', { loss: 1 }]],
  );
  const a = l.gist.get('a') as ScriptedNode;
  a.out.push({ kind: 'udp', ipVersion: 4, bytes: new Uint8Array(8), source: { address: '198.18.0.1', port: 270 }, destination: { address: '198.18.0.4', port: 270 }, qmode: { routerAlert: 65, ipTtl: 2, dontFragment: true } });
  a.out.push({ kind: 'udp', ipVersion: 4, bytes: new Uint8Array(8), source: { address: '198.18.0.1', port: 270 }, destination: { address: '198.18.9.9', port: 270 } });
  l.net.pump(l.index('a'));
  l.send('a', 'c', false);
  l.net.detach(l.index('b'));
  l.send('a', 'b', false);
  l.clock.runUntil(1000);
  expect([...l.drops].sort()).toEqual(['loss', 'no-route', 'node-down', 'ttl']);
  expect(l.seen).toEqual([]);
});

test('link capacity: back-to-back datagrams queue behind each other on the link', () => {
  const l = lab(
    [['a', 'host', '198.18.0.1'], ['b', 'host', '198.18.0.2']],
    // 1 Mbit/s: a 100-octet payload + 28 octets of IPv4/UDP = 1.024 ms on the wire.
    [['a', 'b', { delayMs: 1, capacityBps: 1_000_000 }]],
  );
  l.send('a', 'b', false);
  l.send('a', 'b', false);
  l.clock.runUntil(1000);
  expect(l.seen.map((s) => s.at)).toEqual([1 + 1.024, 1 + 2 * 1.024]);
});

test('loss is drawn from the seeded stream: the same seed loses the same datagrams', () => {
  const run = (seed: number): number[] => {
    const l = lab([['a', 'host', '198.18.0.1'], ['b', 'host', '198.18.0.2']], [['a', 'b', { loss: 0.5 }]], { seed });
    for (let i = 0; i < 64; i++) l.send('a', 'b', false, new Uint8Array([i]));
    l.clock.runUntil(1000);
    return l.seen.map((s) => s.dg.bytes[0]);
  };
  const a = run(7);
  expect(a.length).toBeGreaterThan(10);
  expect(a.length).toBeLessThan(54);
  expect(run(7)).toEqual(a);
  expect(run(8)).not.toEqual(a);
});

test('C-mode streams: connect, accept, in-order data and close after the path delay; an unreachable peer fails the connect', () => {
  const l = lab(
    [['a', 'host', '198.18.0.1'], ['r', 'router', '198.18.0.2'], ['b', 'host', '198.18.0.3']],
    [['a', 'r', { delayMs: 2 }], ['r', 'b', { delayMs: 3 }]],
  );
  const a = l.gist.get('a') as ScriptedNode;
  const b = l.gist.get('b') as ScriptedNode;
  a.out.push({ kind: 'tcp-connect', connId: 1, remote: { address: '198.18.0.3', port: 30000 } });
  a.out.push({ kind: 'tcp-connect', connId: 2, remote: { address: '198.18.9.9', port: 30000 } });
  l.net.pump(l.index('a'));
  l.clock.runUntil(10);
  a.out.push({ kind: 'tcp-send', connId: 1, bytes: new TextEncoder().encode('one') });
  a.out.push({ kind: 'tcp-send', connId: 1, bytes: new TextEncoder().encode('two') });
  a.out.push({ kind: 'tcp-close', connId: 1 });
  l.net.pump(l.index('a'));
  l.clock.runUntil(5000);
  expect(b.streamLog).toEqual([
    [5, 'accepted', 7],
    [15, 'data', 7, 'one'],
    [15, 'data', 7, 'two'],
    [15, 'closed', 7, undefined],
  ]);
  expect(a.streamLog).toEqual([
    [10, 'opened', 1],
    [3000, 'closed', 2, 'unreachable'],
  ]);
});
