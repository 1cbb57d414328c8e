import { invertDirection } from '../../../gist/types';
import { SeededRandom, VirtualNetwork } from '../../../sim/vnet';
import { NSLP, addNode, bytes, flow, sid, text } from './helpers';

/**
 * B.2: RecvMessage's SII-Handle names the node a message came from. During a
 * route flip two upstream nodes refresh the same responder state at B (s7.1),
 * so the state's current peer is not always the sender: an NSLP answer must go
 * back to the node that sent the Data (found by the simulator's route-change).
 */
describe('SII-Handle of delivered Data', () => {
  it('names the sender even when the routing state now points at another upstream peer', () => {
    const net = new VirtualNetwork({ seed: 5, trace: false });
    const rnd = new SeededRandom(5);
    net.addHost('R1', ['198.18.1.2']);
    net.addHost('R2', ['198.18.3.2']);
    net.addHost('B', ['198.18.2.2', '198.18.4.2']);
    net.link('R1', 'B', { delayMs: 2 });
    net.link('R2', 'B', { delayMs: 2 });
    const r1 = addNode(net, rnd, 'R1', ['198.18.1.2']);
    const r2 = addNode(net, rnd, 'R2', ['198.18.3.2']);
    const b = addNode(net, rnd, 'B', ['198.18.2.2', '198.18.4.2']);
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');

    r1.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('from-r1') });
    net.pump('R1');
    net.runFor(100);
    r2.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('from-r2') });
    net.pump('R2');
    net.runFor(100);
    // B's one upstream state for (MRI, SID) now has R2 as its peer.
    expect(b.node.routingState(NSLP, invertDirection(mri), s)?.peerAddress).toBe('198.18.3.2');

    r1.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('again-r1') });
    net.pump('R1');
    net.runFor(100);
    const fromR1 = b.recv.find((ev) => text(ev.nslpData) === 'again-r1');
    const fromR2 = b.recv.find((ev) => text(ev.nslpData) === 'from-r2');
    expect(fromR1).toBeDefined();
    expect(fromR2).toBeDefined();
    expect(fromR1?.siiHandle).not.toBe(fromR2?.siiHandle);

    // The answer addressed with that handle reaches R1, not R2.
    b.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri: invertDirection(mri), nslpData: bytes('answer'), siiHandle: fromR1?.siiHandle });
    net.pump('B');
    net.runFor(100);
    expect(r1.recv.map((ev) => text(ev.nslpData))).toContain('answer');
    expect(r2.recv.map((ev) => text(ev.nslpData))).not.toContain('answer');
  });
});
