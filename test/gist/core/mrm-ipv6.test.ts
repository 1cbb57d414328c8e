import type { LooseEndMri } from '../../../gist/types';
import { SeededRandom, VirtualNetwork } from '../../../sim/vnet';
import { addNode, bytes, flow, NSLP, sid, text } from './helpers';

function line6() {
  const net = new VirtualNetwork({ seed: 6, trace: true });
  const rnd = new SeededRandom(6);
  net.addHost('A', ['2001:db8:1::1']);
  net.addHost('R', ['2001:db8:1::2', '2001:db8:2::1']);
  net.addHost('B', ['2001:db8:2::2']);
  net.link('A', 'R', { delayMs: 3 });
  net.link('R', 'B', { delayMs: 3 });
  const a = addNode(net, rnd, 'A', ['2001:db8:1::1']);
  const r = addNode(net, rnd, 'R', ['2001:db8:1::2', '2001:db8:2::1']);
  const b = addNode(net, rnd, 'B', ['2001:db8:2::2']);
  return { net, rnd, a, r, b };
}

describe('IPv6 and the loose-end MRM', () => {
  it('IPv6 path-coupled: Router Alert 68, handshake at R, D-mode and C-mode data', () => {
    const { net, rnd, a, r, b } = line6();
    const s = sid(rnd);
    const mri = flow('2001:db8:1::1', '2001:db8:2::2', { flowLabel: 0x12345 });
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('v6') });
    net.pump('A');
    net.runFor(500);
    const q = net.trace.find((e) => e.kind === 'send');
    expect(q?.kind === 'send' && q.dg.routerAlert).toBe(68);
    expect(text(r.recv[0].nslpData)).toBe('v6');
    expect(a.node.routingState(NSLP, mri, s)).toMatchObject({ phase: 'established', peerAddress: '2001:db8:1::2' });
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('onward'), transfer: { reliable: true } });
    net.pump('R');
    net.runFor(500);
    expect(b.recv.filter((e) => !e.routingStateCheck).map((e) => [text(e.nslpData), e.transfer.reliable])).toEqual([['onward', true]]);
    expect(r.node.routingState(NSLP, mri, s)).toMatchObject({ cmode: true, peerAddress: '2001:db8:2::2' });
  });

  it('loose-end MRM (towards-edge): the on-path node peers; replies go back with the from-edge MRI', () => {
    const net = new VirtualNetwork({ seed: 8 });
    const rnd = new SeededRandom(8);
    net.addHost('A', ['198.18.1.1']);
    net.addHost('R', ['198.18.1.2', '198.18.2.1']);
    net.addHost('B', ['198.18.2.2']);
    net.link('A', 'R');
    net.link('R', 'B');
    const a = addNode(net, rnd, 'A', ['198.18.1.1']);
    const r = addNode(net, rnd, 'R', ['198.18.1.2', '198.18.2.1']);
    addNode(net, rnd, 'B', ['198.18.2.2']);
    const s = sid(rnd);
    const mri: LooseEndMri = { mrm: 'loose-end', ipVersion: 4, sourceAddress: '198.18.1.1', destinationAddress: '198.18.2.2', direction: 'towards-edge' };
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('ext') });
    net.pump('A');
    net.runFor(200);
    expect(r.recv[0].mri).toEqual(mri);
    expect(text(r.recv[0].nslpData)).toBe('ext');
    const back: LooseEndMri = { ...mri, direction: 'from-edge' };
    expect(r.node.routingState(NSLP, back, s)).toMatchObject({ role: 'responder', phase: 'established' });
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri: back, nslpData: bytes('ext-ok') });
    net.pump('R');
    net.runFor(200);
    expect(text(a.recv.at(-1)!.nslpData)).toBe('ext-ok');
    expect(a.recv.at(-1)!.mri).toEqual(back);
  });

  it('a reply sent before the Confirm arrives waits for it (no state is created by the Query itself)', () => {
    const { net, rnd, a, r } = line6();
    const s = sid(rnd);
    const mri = flow('2001:db8:1::1', '2001:db8:2::2');
    const up = { ...mri, direction: 'upstream' as const };
    r.peering = () => {
      // Answer from inside the RecvMessage listener, as an NSLP replying to a request does.
      r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri: up, nslpData: bytes('early'), nslpMessageHandle: 5 });
      return { accept: true };
    };
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('req') });
    net.pump('A');
    net.runFor(200);
    expect(a.recv.map((e) => text(e.nslpData))).toEqual(['early']);
    expect(r.status).toEqual([expect.objectContaining({ nslpMessageHandle: 5, error: undefined })]);
  });
});
