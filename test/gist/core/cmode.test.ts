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
