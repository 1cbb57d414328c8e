import { bytes, dropFirst, flow, gistType, line3, NSLP, sid, text } from './helpers';

/** Two nodes A - B directly linked (R does not run the NSLP, so it only forwards). */
function pair(seed = 1) {
  const t = line3({ seed, rNslps: [] });
  return t;
}

function queriesOnWire(net: ReturnType<typeof pair>['net']): number[] {
  return net.trace.filter((e) => e.kind === 'send' && gistType(e.dg.payload) === 'Query').map((e) => e.t);
}

describe('retransmission (RFC 5971 s5.3.3)', () => {
  it('a lost Query is retransmitted after T1 with a new Query-Cookie, and the handshake completes', () => {
    const { net, rnd, a, b } = pair();
    const drop = dropFirst(net, 'Query');
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('payload'), nslpMessageHandle: 1 });
    net.pump('A');
    net.runFor(1000);
    expect(drop.dropped).toBe(1);
    expect(queriesOnWire(net)).toEqual([0, 100]);
    const cookies = net.trace.filter((e) => e.kind === 'send' && gistType(e.dg.payload) === 'Query').map((e) => (e.kind === 'send' ? Buffer.from(e.dg.payload).toString('hex') : ''));
    expect(new Set(cookies).size).toBe(2);
    expect(a.node.routingState(NSLP, mri, s)?.phase).toBe('established');
    expect(text(b.recv[0].nslpData)).toBe('payload');
    expect(a.status).toEqual([expect.objectContaining({ nslpMessageHandle: 1, error: undefined })]);
  });

  it('a lost Response is recovered by the Query retransmission', () => {
    const { net, rnd, a, b } = pair();
    const drop = dropFirst(net, 'Response');
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('payload') });
    net.pump('A');
    net.runFor(1000);
    expect(drop.dropped).toBe(1);
    expect(queriesOnWire(net)).toHaveLength(2);
    expect(a.node.routingState(NSLP, mri, s)?.phase).toBe('established');
    expect(b.node.routingState(NSLP, { ...mri, direction: 'upstream' }, s)?.phase).toBe('established');
    // The payload was delivered once per Query copy that arrived (s5.3.3 allows duplicates).
    expect(b.recv.filter((e) => e.routingStateCheck)).toHaveLength(2);
  });

  it('a lost Confirm: the responder has no state, the next Data draws No Routing State, the querier re-handshakes and re-sends the Data', () => {
    const { net, rnd, a, b } = pair();
    const drop = dropFirst(net, 'Confirm');
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    const up = { ...mri, direction: 'upstream' as const };
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('first') });
    net.pump('A');
    net.runFor(500);
    expect(drop.dropped).toBe(1);
    expect(b.node.routingState(NSLP, up, s)).toBeUndefined(); // delayed state installation: nothing before a Confirm
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('second') });
    net.pump('A');
    net.runFor(1000);
    expect(b.node.stats.errorsSent).toBe(1);
    expect(a.node.stats.errorsReceived).toBe(1);
    expect(queriesOnWire(net)).toHaveLength(2);
    expect(b.node.routingState(NSLP, up, s)?.phase).toBe('established');
    expect(b.recv.filter((e) => !e.routingStateCheck).map((e) => text(e.nslpData))).toEqual(['second']);
  });

  it('backs off T1, 2T1, 4T1 ... up to T2, then reports a timeout to the NSLP', () => {
    const { net, rnd, a } = pair();
    net.addFilter((dg) => gistType(dg.payload) !== 'Query');
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('lost'), nslpMessageHandle: 9 });
    net.pump('A');
    net.runFor(60_000);
    // T1 = 100 ms, T2 = 64 * T1 = 6.4 s: intervals 100, 200, ..., 6400; the last wait is T2.
    expect(queriesOnWire(net)).toEqual([0, 100, 300, 700, 1500, 3100, 6300]);
    expect(a.status).toEqual([expect.objectContaining({ nslpMessageHandle: 9, error: 'timeout', now: 12700 })]);
    expect(a.node.routingStateCount).toBe(0);
    expect(a.node.nextDeadline()).toBeUndefined();
  });

  it('stops within the NSLP timeout (B.1)', () => {
    const { net, rnd, a } = pair();
    net.addFilter((dg) => gistType(dg.payload) !== 'Query');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: sid(rnd), mri: flow('198.18.1.1', '198.18.2.2'), nslpData: bytes('x'), nslpMessageHandle: 3, timeoutMs: 1000 });
    net.pump('A');
    net.runFor(5000);
    expect(a.status).toEqual([expect.objectContaining({ nslpMessageHandle: 3, error: 'timeout', now: 1000 })]);
    expect(a.node.routingStateCount).toBe(0);
  });

  it('recovers over a lossy path (30% loss each way) for 20 sessions', () => {
    const { net, rnd, a } = line3({ seed: 5, rNslps: [] });
    net.link('A', 'R', { loss: 0.3 });
    const mri = flow('198.18.1.1', '198.18.2.2');
    const sids = Array.from({ length: 20 }, () => sid(rnd));
    for (const s of sids) a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('x') });
    net.pump('A');
    net.runFor(5000);
    expect(net.stats.datagramsLost).toBeGreaterThan(0);
    for (const s of sids) expect(a.node.routingState(NSLP, mri, s)?.phase).toBe('established');
  });
});
