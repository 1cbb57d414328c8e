/**
 * RFC 5971 s5.3.3 rate control of state setup, and handshake counting.
 * Two nodes wired directly (no virtual network): A's datagrams reach B
 * through a FIFO that B works off at a fixed rate, a model of an overloaded
 * responder (the CPU, not the link, is the bottleneck).
 */
import type { MessageStatusEvent } from '../../../gist/api';
import { createGistNode, type GistNode, type GistNodeConfig, type InboundDatagram } from '../../../gist/core';
import { SeededRandom } from '../../../sim/vnet';
import { bytes, flow, NSLP, sid } from './helpers';

const A = '198.18.1.1';
const B = '198.18.2.2';

function pair(cfgA: Partial<GistNodeConfig>) {
  const rnd = new SeededRandom(5);
  const ra = rnd.fork();
  const rb = rnd.fork();
  const a = createGistNode({ addresses: [A], randomBytes: (n) => ra.bytes(n), t1Ms: 100, ...cfgA });
  const b = createGistNode({ addresses: [B], randomBytes: (n) => rb.bytes(n), t1Ms: 100 });
  a.registerNslp(NSLP);
  b.registerNslp(NSLP);
  const status: MessageStatusEvent[] = [];
  a.events.on('messageStatus', (ev) => status.push(ev));
  return { rnd, a, b, status };
}

function toInbound(t: ReturnType<GistNode['pollTransmit']>): InboundDatagram | undefined {
  if (t === undefined || t.kind !== 'udp') return undefined;
  return { local: t.destination, remote: t.source, bytes: t.bytes, qmode: t.qmode !== undefined ? { routerAlert: t.qmode.routerAlert, ipTtl: t.qmode.ipTtl } : undefined };
}

/** Runs A and B for `ms` virtual ms; B handles one inbound datagram every `serviceMs`. Returns B's longest queue. */
function run(a: GistNode, b: GistNode, ms: number, serviceMs: number): number {
  const toB: InboundDatagram[] = [];
  let longest = 0;
  const drainA = (): void => {
    for (let t = a.pollTransmit(); t !== undefined; t = a.pollTransmit()) {
      const dg = toInbound(t);
      if (dg !== undefined) toB.push(dg);
    }
  };
  const drainB = (now: number): void => {
    for (let t = b.pollTransmit(); t !== undefined; t = b.pollTransmit()) {
      const dg = toInbound(t);
      if (dg !== undefined) {
        a.handleDatagram(now, dg);
        drainA();
      }
    }
  };
  drainA();
  for (let now = 0; now <= ms; now++) {
    if ((a.nextDeadline() ?? Infinity) <= now) a.handleTimeout(now);
    drainA();
    if ((b.nextDeadline() ?? Infinity) <= now) b.handleTimeout(now);
    drainB(now);
    longest = Math.max(longest, toB.length);
    if (now % serviceMs === 0 && toB.length > 0) {
      b.handleDatagram(now, toB.shift()!);
      drainB(now);
    }
  }
  return longest;
}

function startSessions(a: GistNode, rnd: SeededRandom, n: number): Uint8Array[] {
  const sids: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = sid(rnd);
    sids.push(s);
    a.sendMessage(0, { nslpId: NSLP, sessionId: s, mri: flow(A, B, { sourcePort: 1000 + i }), nslpData: bytes(`create ${i}`), nslpMessageHandle: i });
  }
  return sids;
}

describe('rate control of handshakes (RFC 5971 s5.3.3)', () => {
  it('a burst at an overloaded responder: without a bound Queries are retransmitted and answered twice; with one, every session gets one Query and one handshake', () => {
    // B serves one datagram per 10 ms (10 per T1); 40 new sessions arrive at once.
    const loose = pair({ maxHandshakesInProgress: 10_000 });
    startSessions(loose.a, loose.rnd, 40);
    run(loose.a, loose.b, 5_000, 10);
    expect(loose.a.routingStateCount).toBe(40);
    expect(loose.a.stats.queriesSent).toBeGreaterThan(40);
    expect(loose.b.stats.queriesReceived).toBeGreaterThan(40);
    expect(loose.b.stats.responsesSent).toBeGreaterThan(40);
    expect(loose.a.stats.duplicateResponses).toBeGreaterThan(0);

    const bounded = pair({ maxHandshakesInProgress: 2 });
    const sids = startSessions(bounded.a, bounded.rnd, 40);
    expect(bounded.a.stats.queriesSent).toBe(2);
    expect(bounded.a.footprint()).toMatchObject({ handshakesInProgress: 2, handshakesWaiting: 38 });
    expect(bounded.a.routingState(NSLP, flow(A, B, { sourcePort: 1039 }), sids[39])?.phase).toBe('queued');
    // (5 s: well before the first refresh at half the 30 s validity time.)
    const longest = run(bounded.a, bounded.b, 5_000, 10);
    expect(longest).toBeLessThanOrEqual(4);
    expect(bounded.a.stats.queriesSent).toBe(40);
    expect(bounded.b.stats.queriesReceived).toBe(40);
    expect(bounded.b.stats.responsesSent).toBe(40);
    expect(bounded.b.stats.confirmsAccepted).toBe(40);
    expect(bounded.a.stats.handshakesCompleted).toBe(40);
    expect(bounded.a.stats.duplicateResponses).toBe(0);
    expect(bounded.a.footprint()).toMatchObject({ handshakesInProgress: 0, handshakesWaiting: 0 });
    for (let i = 0; i < 40; i++) expect(bounded.a.routingState(NSLP, flow(A, B, { sourcePort: 1000 + i }), sids[i])?.phase).toBe('established');
    // Every session's first message went out (piggybacked on its one Query) and was reported sent.
    expect(bounded.status.filter((s) => s.error === undefined).map((s) => s.nslpMessageHandle).sort((x, y) => x - y)).toEqual([...Array(40).keys()]);
  });

  it('the wait queue is bounded: a new session beyond it is refused at once and leaves no state', () => {
    const { rnd, a, status } = pair({ maxHandshakesInProgress: 1, maxQueuedHandshakes: 2 });
    const sids = startSessions(a, rnd, 4);
    expect(a.stats.queriesSent).toBe(1);
    expect(status).toEqual([expect.objectContaining({ nslpMessageHandle: 3, error: 'transport-failure' })]);
    expect(a.routingState(NSLP, flow(A, B, { sourcePort: 1003 }), sids[3])).toBeUndefined();
    expect(a.routingStateCount).toBe(3);
  });

  it('a waiting session whose NSLP timeout passes is dropped; the slot goes to the next one; a failed handshake frees its slot', () => {
    const { rnd, a, status } = pair({ maxHandshakesInProgress: 1 });
    const first = sid(rnd);
    a.sendMessage(0, { nslpId: NSLP, sessionId: first, mri: flow(A, B, { sourcePort: 1 }), nslpData: bytes('one'), nslpMessageHandle: 1 });
    const impatient = sid(rnd);
    a.sendMessage(0, { nslpId: NSLP, sessionId: impatient, mri: flow(A, B, { sourcePort: 2 }), nslpData: bytes('two'), nslpMessageHandle: 2, timeoutMs: 50 });
    const third = sid(rnd);
    a.sendMessage(0, { nslpId: NSLP, sessionId: third, mri: flow(A, B, { sourcePort: 3 }), nslpData: bytes('three'), nslpMessageHandle: 3 });
    while (a.pollTransmit() !== undefined);
    // Nobody answers: drive A's timers only.
    for (let now = 1; now <= 60; now++) if ((a.nextDeadline() ?? Infinity) <= now) a.handleTimeout(now);
    expect(status).toEqual([expect.objectContaining({ nslpMessageHandle: 2, error: 'timeout' })]);
    expect(a.routingState(NSLP, flow(A, B, { sourcePort: 2 }), impatient)).toBeUndefined();
    expect(a.routingState(NSLP, flow(A, B, { sourcePort: 3 }), third)?.phase).toBe('queued');
    // The first handshake gives up (T1 doubling past T2 = 64 * T1): its slot starts the third session.
    let queries = 0;
    for (let now = 61; now <= 20_000 && a.routingState(NSLP, flow(A, B, { sourcePort: 3 }), third)?.phase === 'queued'; now++) {
      if ((a.nextDeadline() ?? Infinity) <= now) a.handleTimeout(now);
      for (let t = a.pollTransmit(); t !== undefined; t = a.pollTransmit()) queries++;
    }
    expect(a.routingState(NSLP, flow(A, B, { sourcePort: 1 }), first)).toBeUndefined();
    expect(status).toContainEqual(expect.objectContaining({ nslpMessageHandle: 1, error: 'timeout' }));
    expect(a.routingState(NSLP, flow(A, B, { sourcePort: 3 }), third)?.phase).toBe('awaiting-response');
    expect(a.footprint()).toMatchObject({ handshakesInProgress: 1, handshakesWaiting: 0 });
    expect(queries).toBeGreaterThan(1);
  });
});

describe('handshake counting', () => {
  it('a second Response to a retransmitted Query is confirmed again but not counted as a handshake', () => {
    const { rnd, a, b } = pair({});
    const s = sid(rnd);
    const mri = flow(A, B);
    a.sendMessage(0, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('create') });
    const q1 = toInbound(a.pollTransmit())!;
    // No answer within T1: A retransmits (a new Query-Cookie counter).
    a.handleTimeout(a.nextDeadline()!);
    const q2 = toInbound(a.pollTransmit())!;
    expect(a.stats.queriesSent).toBe(2);
    // Both Queries reach B late; B answers each of them.
    b.handleDatagram(150, q1);
    const r1 = toInbound(b.pollTransmit())!;
    b.handleDatagram(150, q2);
    const r2 = toInbound(b.pollTransmit())!;
    a.handleDatagram(160, r1);
    const c1 = toInbound(a.pollTransmit())!;
    expect(a.stats.handshakesCompleted).toBe(1);
    a.handleDatagram(161, r2);
    const c2 = toInbound(a.pollTransmit());
    expect(c2).toBeDefined();
    expect(a.stats.handshakesCompleted).toBe(1);
    expect(a.stats.duplicateResponses).toBe(1);
    expect(a.stats.confirmsSent).toBe(2);
    b.handleDatagram(170, c1);
    b.handleDatagram(171, c2!);
    expect(b.stats.confirmsAccepted).toBe(2);
    expect(b.routingStateCount).toBe(1);
    expect(a.routingState(NSLP, mri, s)?.phase).toBe('established');
  });
});
