import { bytes, flow, line3, NSLP, sid, text } from './helpers';

describe('C-mode messaging associations', () => {
  it('a reliable message sets up a Forwards-TCP MA and arrives over it; R (no NSLP) passes the Query through', () => {
    const { net, rnd, a, r, b } = line3({ rNslps: [] });
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('reliable-create'), nslpMessageHandle: 7, transfer: { reliable: true } });
    net.pump('A');
    net.runFor(2000);
    expect(r.recv).toHaveLength(0);
    expect(r.node.stats.queriesForwarded).toBe(1);
    // B is asked to peer (empty payload: reliable data waits for the MA), then gets the data over TCP.
    expect(b.recv.map((e) => [e.routingStateCheck, text(e.nslpData), e.transfer.reliable])).toEqual([
      [true, '', false],
      [false, 'reliable-create', true],
    ]);
    expect(a.node.routingState(NSLP, mri, s)).toMatchObject({ phase: 'established', cmode: true, peerAddress: '198.18.2.2' });
    expect(b.node.routingState(NSLP, { ...mri, direction: 'upstream' }, s)).toMatchObject({ cmode: true });
    expect(a.status).toEqual([expect.objectContaining({ nslpMessageHandle: 7, error: undefined })]);
    expect(a.node.maCount).toBe(1);
    expect(b.node.maCount).toBe(1);
    // The reply goes back over the same MA.
    b.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri: { ...mri, direction: 'upstream' }, nslpData: bytes('ok'), transfer: { reliable: true } });
    net.pump('B');
    net.runFor(100);
    expect(text(a.recv.at(-1)!.nslpData)).toBe('ok');
    expect(a.recv.at(-1)!.transfer.reliable).toBe(true);
  });

  it('one MA carries 100 sessions to the same peer', () => {
    const { net, rnd, a, b } = line3({ rNslps: [] });
    const mri = flow('198.18.1.1', '198.18.2.2');
    const sids = Array.from({ length: 100 }, () => sid(rnd));
    for (const [i, s] of sids.entries()) {
      a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes(`m${i}`), transfer: { reliable: true } });
    }
    net.pump('A');
    net.runFor(3000);
    const got = b.recv.filter((e) => !e.routingStateCheck).map((e) => text(e.nslpData));
    expect(new Set(got).size).toBe(100);
    expect(a.node.maCount).toBe(1);
    expect(b.node.maCount).toBe(1);
    expect(a.node.routingStateCount).toBe(100);
    expect(b.node.routingStateCount).toBe(100);
    expect(net.openStreams).toBe(2);
  });
});

describe('MA maintenance (s4.4.5, s6.4)', () => {
  it('an MA in use is kept alive with MA-Hellos, and torn down once neither side needs it', () => {
    const cfg = { routingStateValidityMs: 4000, maHoldTimeMs: 2000, defaultStateLifetimeMs: 60_000 };
    const { net, rnd, a, b } = line3({ rNslps: [], cfg });
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('r'), transfer: { reliable: true } });
    net.pump('A');
    net.runFor(20_000);
    // Still in use (the querier refreshes): the MA stays, kept by traffic and MA-Hellos.
    expect(a.node.maCount).toBe(1);
    expect(b.node.maCount).toBe(1);
    expect(net.trace.filter((e) => e.kind === 'stream' && e.event === 'data').length).toBeGreaterThan(10);
    // The NSLP loses interest: state goes, then the idle MA.
    a.node.setStateLifetime(net.now, NSLP, mri, s, 0);
    net.pump('A');
    net.runFor(20_000);
    expect(a.node.routingStateCount).toBe(0);
    expect(b.node.routingStateCount).toBe(0);
    expect(a.node.maCount).toBe(0);
    expect(b.node.maCount).toBe(0);
    expect(net.openStreams).toBe(0);
    expect(a.notes).toHaveLength(0);
    expect(a.node.nextDeadline()).toBeUndefined();
    expect(b.node.nextDeadline()).toBeUndefined();
  });

  it('a failed MA is reported to the NSLP (communication-failure) and the session re-handshakes', () => {
    const { net, rnd, a, b } = line3({ rNslps: [] });
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('r'), transfer: { reliable: true } });
    net.pump('A');
    net.runFor(500);
    // The connection is reset under both ends.
    expect(net.resetStreams('A', 'B')).toBe(1);
    net.runFor(1000);
    expect(a.notes.map((n) => n.notification.kind)).toEqual(['communication-failure']);
    expect(b.notes.map((n) => n.notification.kind)).toEqual(['communication-failure']);
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('again'), transfer: { reliable: true } });
    net.pump('A');
    net.runFor(1000);
    expect(text(b.recv.at(-1)!.nslpData)).toBe('again');
    expect(a.node.routingState(NSLP, mri, s)).toMatchObject({ phase: 'established', cmode: true });
  });
});

describe('MA setup failure', () => {
  it('when the TCP connection cannot be made, reliable messages are reported as transport-failure', () => {
    const { net, rnd, a, b } = line3({ rNslps: [] });
    // B advertises a TCP port nobody listens on: its node listens elsewhere.
    (b.node.listen as { tcpPort: number }).tcpPort = 1;
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('r'), nslpMessageHandle: 21, transfer: { reliable: true } });
    net.pump('A');
    net.runFor(500);
    expect(a.status).toEqual([expect.objectContaining({ nslpMessageHandle: 21, error: 'transport-failure' })]);
    expect(b.recv.filter((e) => !e.routingStateCheck)).toHaveLength(0);
  });
});
