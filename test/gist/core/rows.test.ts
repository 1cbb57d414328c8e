import { invertDirection } from '../../../gist/types';
import { NSLP, bytes, flow, line3, sid, text } from './helpers';

/**
 * RFC 5971 s4.2.1: the routing state table is indexed by (MRI, NSLPID) (and
 * SID) and holds the upstream and the downstream peer. A node in the middle
 * of a path (R) keeps ONE row per session with both peers, not one entry per
 * direction; each half keeps its own role, peer and lifetime.
 */
describe('one routing state row per (MRI, NSLPID, SID) holding both peers', () => {
  function middle() {
    const t = line3({ seed: 21 });
    const s = sid(t.rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    // R's NSLP passes what it hears on towards B (as an NF does), outside the Query callback too.
    t.r.node.events.on('recvMessage', (ev) => {
      if (ev.mri.direction === 'downstream' && text(ev.nslpData) === 'hello') {
        t.r.node.sendMessage(ev.now, { nslpId: NSLP, sessionId: ev.sessionId, mri: ev.mri, nslpData: bytes('hello-on') });
      }
    });
    t.a.node.sendMessage(t.net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('hello') });
    t.net.pump('A');
    t.net.runFor(200);
    return { ...t, s, mri };
  }

  it('R holds one row: querier towards B downstream, responder towards A upstream', () => {
    const { a, r, b, s, mri } = middle();
    expect(b.recv.map((ev) => text(ev.nslpData))).toContain('hello-on');
    expect(r.node.routingStateCount).toBe(1);
    expect(r.node.routingStateHalves).toBe(2);
    expect(r.node.routingState(NSLP, mri, s)).toMatchObject({ role: 'querier', phase: 'established', peerAddress: '198.18.2.2' });
    expect(r.node.routingState(NSLP, invertDirection(mri), s)).toMatchObject({ role: 'responder', phase: 'established', peerAddress: '198.18.1.1' });
    // The end nodes hold one half each.
    expect(a.node.routingStateCount).toBe(1);
    expect(a.node.routingStateHalves).toBe(1);
    expect(a.node.routingState(NSLP, invertDirection(mri), s)).toBeUndefined();
    expect(b.node.routingStateHalves).toBe(1);
    expect(b.node.routingState(NSLP, mri, s)).toBeUndefined();
  });

  it('each half sends in its own direction with the MRI of that direction', () => {
    const { net, a, r, b, s, mri } = middle();
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('down') });
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri: invertDirection(mri), nslpData: bytes('up') });
    net.pump('R');
    net.runFor(100);
    const down = b.recv.find((ev) => text(ev.nslpData) === 'down');
    const up = a.recv.find((ev) => text(ev.nslpData) === 'up');
    expect(down?.mri.direction).toBe('downstream');
    expect(up?.mri.direction).toBe('upstream');
    expect(down?.transfer.explicitlyRouted).toBeUndefined();
    expect(up?.transfer.explicitlyRouted).toBeUndefined();
  });

  it('halves go separately: SetStateLifetime 0 ends the downstream half, expiry ends the upstream one, then the row', () => {
    const { net, r, s, mri } = middle();
    r.node.setStateLifetime(net.now, NSLP, mri, s, 0);
    expect(r.node.routingState(NSLP, mri, s)).toBeUndefined();
    expect(r.node.routingState(NSLP, invertDirection(mri), s)?.role).toBe('responder');
    expect(r.node.routingStateCount).toBe(1);
    expect(r.node.routingStateHalves).toBe(1);
    // The upstream half lives for the validity time R advertised (30 s default) unless A refreshes it;
    // stop A from refreshing by dropping everything it sends.
    net.addFilter((_dg, from) => from !== 'A');
    net.runFor(31_000);
    expect(r.node.routingStateCount).toBe(0);
    const deletion = r.notes.find((n) => n.notification.kind === 'route-deletion');
    // B.4 names the MRI in the direction of the half that went (upstream).
    expect(deletion?.mri.direction).toBe('upstream');
    expect(r.node.footprint()).toMatchObject({ routingStates: 0, peers: 0, timerEntries: 0, queued: 0 });
  });
});
