import type {
  AcceptedStream,
  ConnId,
  DatagramDisposition,
  GistDriverFacing,
  InboundDatagram,
  Transmit,
} from '../../../gist/core/driver-api';
import { StepCapExceeded, VirtualClock, VirtualNetwork } from '../../../sim/vnet';

/** A minimal node: records inputs, intercepts RA datagrams whose first byte is in `take`, echoes on streams. */
class StubNode implements GistDriverFacing {
  readonly listen = { udpPort: 270, tcpPort: 7000, qmodePort: 270 };
  readonly out: Transmit[] = [];
  readonly got: { now: number; dg: InboundDatagram }[] = [];
  readonly streamEvents: string[] = [];
  deadline: number | undefined;
  timeouts: number[] = [];
  private nextConn = 1;
  constructor(readonly take: number[] = []) {}
  handleDatagram(now: number, dg: InboundDatagram): DatagramDisposition {
    this.got.push({ now, dg });
    if (dg.qmode !== undefined && !this.take.includes(dg.bytes[0])) return { kind: 'forward' };
    return { kind: 'consume' };
  }
  handleStreamAccepted(now: number, info: AcceptedStream): ConnId {
    this.streamEvents.push(`accept@${now}:${info.remote.address}`);
    return 100 + this.nextConn++;
  }
  handleStreamOpened(now: number, id: ConnId): void {
    this.streamEvents.push(`open@${now}:${id}`);
  }
  handleStreamData(now: number, id: ConnId, b: Uint8Array): void {
    this.streamEvents.push(`data@${now}:${id}:${Buffer.from(b).toString()}`);
  }
  handleStreamClosed(now: number, id: ConnId, reason?: string): void {
    this.streamEvents.push(`close@${now}:${id}:${reason ?? ''}`);
  }
  handleTimeout(now: number): void {
    this.timeouts.push(now);
    this.deadline = undefined;
  }
  pollTransmit(): Transmit | undefined {
    return this.out.shift();
  }
  nextDeadline(): number | undefined {
    return this.deadline;
  }
}

function line(): { net: VirtualNetwork; a: StubNode; r: StubNode; b: StubNode } {
  const net = new VirtualNetwork({ seed: 7, trace: true });
  net.addHost('A', ['198.18.1.1']);
  net.addHost('R', ['198.18.1.2', '198.18.2.1']);
  net.addHost('B', ['198.18.2.2']);
  net.link('A', 'R', { delayMs: 5 });
  net.link('R', 'B', { delayMs: 7 });
  const a = new StubNode();
  const r = new StubNode([1]);
  const b = new StubNode();
  net.attach('A', a);
  net.attach('R', r);
  net.attach('B', b);
  return { net, a, r, b };
}

const udp = (payload: number[], routerAlert?: number): Transmit => ({
  kind: 'udp',
  source: { address: '198.18.1.1', port: 270 },
  destination: { address: '198.18.2.2', port: 270 },
  ipVersion: 4,
  bytes: new Uint8Array(payload),
  qmode: routerAlert === undefined ? undefined : { routerAlert, dontFragment: true, ipTtl: 64 },
});

describe('VirtualClock', () => {
  it('runs events in time then insertion order and detects livelock', () => {
    const c = new VirtualClock();
    const seen: string[] = [];
    c.schedule(10, () => seen.push('b'));
    c.schedule(5, () => seen.push('a'));
    c.schedule(10, () => seen.push('c'));
    const h = c.schedule(7, () => seen.push('x'));
    h.cancel();
    c.runUntilIdle();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(c.now).toBe(10);
    const loop = (): void => void c.after(1, loop);
    loop();
    expect(() => c.runUntilIdle(50)).toThrow(StepCapExceeded);
  });
});

describe('VirtualNetwork', () => {
  it('forwards a datagram without Router Alert hop by hop, with link delays and TTL decrement', () => {
    const { net, a, r, b } = line();
    a.out.push(udp([9]));
    net.runUntilIdle();
    expect(r.got).toHaveLength(0);
    expect(b.got).toHaveLength(1);
    expect(b.got[0].now).toBe(12);
    expect(b.got[0].dg.qmode).toBeUndefined();
    expect(b.got[0].dg.ipTtl).toBe(63);
  });

  it('offers a Router Alert datagram to the on-path node, which intercepts or forwards it', () => {
    const { net, a, r, b } = line();
    a.out.push(udp([1], 65)); // R takes first byte 1
    a.out.push(udp([2], 65)); // R forwards it
    net.runUntilIdle();
    expect(r.got.map((g) => g.dg.bytes[0])).toEqual([1, 2]);
    expect(r.got[0].dg.qmode).toEqual({ routerAlert: 65, ipTtl: 64 });
    expect(b.got.map((g) => g.dg.bytes[0])).toEqual([2]);
    expect(b.got[0].dg.qmode?.routerAlert).toBe(65);
    expect(b.got[0].dg.qmode?.ipTtl).toBe(63);
  });

  it('replaces the payload of a forwarded datagram when the node says so', () => {
    const { net, a, r, b } = line();
    r.handleDatagram = (now, dg) => {
      r.got.push({ now, dg });
      return { kind: 'forward', payload: new Uint8Array([42]) };
    };
    a.out.push(udp([5], 65));
    net.runUntilIdle();
    expect(b.got[0].dg.bytes).toEqual(new Uint8Array([42]));
  });

  it('loses datagrams deterministically by seed and through filters', () => {
    const run = (seed: number): number => {
      const net = new VirtualNetwork({ seed });
      net.addHost('A', ['198.18.1.1']);
      net.addHost('B', ['198.18.2.2']);
      net.link('A', 'B', { delayMs: 1, loss: 0.5 });
      const a = new StubNode();
      const b = new StubNode();
      net.attach('A', a);
      net.attach('B', b);
      for (let i = 0; i < 100; i++) a.out.push(udp([i]));
      net.runUntilIdle();
      return b.got.length;
    };
    expect(run(3)).toBe(run(3));
    expect(run(3)).toBeGreaterThan(20);
    expect(run(3)).toBeLessThan(80);
    const { net, a, b } = line();
    const remove = net.addFilter((dg) => dg.payload[0] !== 13);
    a.out.push(udp([13]), udp([14]));
    net.runUntilIdle();
    expect(b.got.map((g) => g.dg.bytes[0])).toEqual([14]);
    remove();
  });

  it('follows route overrides and drops without a route', () => {
    const { net, a, b } = line();
    net.shortestPath.setNextHop('R', '198.18.2.2', null);
    a.out.push(udp([1]));
    net.runUntilIdle();
    expect(b.got).toHaveLength(0);
    expect(net.trace.some((e) => e.kind === 'drop' && e.reason === 'no-route')).toBe(true);
  });

  it('delivers streams reliably and in order, and reports refused connections', () => {
    const { net, a, b } = line();
    a.out.push({ kind: 'tcp-connect', connId: 1, remote: { address: '198.18.2.2', port: 7000 } });
    a.out.push({ kind: 'tcp-send', connId: 1, bytes: Buffer.from('x') }); // before open: dropped like a write on a closed socket
    net.runUntilIdle();
    expect(b.streamEvents).toEqual(['accept@12:198.18.1.1']);
    expect(a.streamEvents).toEqual(['open@24:1']);
    a.out.push({ kind: 'tcp-send', connId: 1, bytes: Buffer.from('hello') });
    a.out.push({ kind: 'tcp-send', connId: 1, bytes: Buffer.from('world') });
    a.out.push({ kind: 'tcp-close', connId: 1 });
    net.pump('A');
    net.runUntilIdle();
    expect(b.streamEvents.slice(1)).toEqual(['data@36:101:hello', 'data@36:101:world', 'close@36:101:']);
    a.out.push({ kind: 'tcp-connect', connId: 2, remote: { address: '198.18.2.2', port: 9999 } });
    net.pump('A');
    net.runUntilIdle();
    expect(a.streamEvents.at(-1)).toMatch(/^close@\d+:2:refused$/);
  });

  it('arms node timers at nextDeadline', () => {
    const { net, a } = line();
    a.deadline = 500;
    net.pump('A');
    net.runUntil(1000);
    expect(a.timeouts).toEqual([500]);
  });
});
