import { bytes, flow, line3, NSLP, sid } from './helpers';

describe('what a routing state keeps', () => {
  it('D-mode Data kept for a No-Routing-State re-send (s4.4.6) is let go 4*T1 after it was sent', () => {
    const { net, rnd, a } = line3({ rNslps: [] });
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('create') });
    net.pump('A');
    net.runFor(200);
    expect(a.node.routingState(NSLP, mri, s)?.phase).toBe('established');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('refresh') });
    net.pump('A');
    expect(a.node.footprint().queued).toBe(1);
    net.runFor(4 * 100 + 10); // helpers use T1 = 100 ms
    expect(a.node.footprint().queued).toBe(0);
    expect(a.node.routingState(NSLP, mri, s)?.phase).toBe('established');
  });
});
