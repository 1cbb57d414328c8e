import { invertDirection } from '../../../gist/types';
import { SeededRandom, VirtualNetwork } from '../../../sim/vnet';
import { NSLP, addNode, bytes, flow, sid, text } from './helpers';

/**
 * The node keeps a peer (s4.4.3: Peer-Identity + Interface-Address) while a
 * routing state refers to it, and looks the last one up again without its
 * key text (node.ts cachedPeer). A peer that was let go (its states expired)
 * must not come back from that cache: the node learns it afresh, keeps it in
 * its table, and an NSLP can address it by its new SII-Handle (B.2).
 */
describe('peers let go and learnt again', () => {
  it('a peer forgotten with its last state is learnt afresh, counted, and reachable by its handle', () => {
    const net = new VirtualNetwork({ seed: 9, trace: false });
    const rnd = new SeededRandom(9);
    net.addHost('A', ['198.18.1.1']);
    net.addHost('B', ['198.18.1.2']);
    net.link('A', 'B', { delayMs: 2 });
    const a = addNode(net, rnd, 'A', ['198.18.1.1']);
    const b = addNode(net, rnd, 'B', ['198.18.1.2']);
    const mri = flow('198.18.1.1', '198.18.1.2');

    const s1 = sid(rnd);
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s1, mri, nslpData: bytes('one') });
    net.pump('A');
    net.runFor(100);
    const first = b.recv.find((ev) => text(ev.nslpData) === 'one');
    expect(first).toBeDefined();
    expect(b.node.peerCount).toBe(1);
    // B answers A by handle: this looks A up (and leaves it as the node's last peer).
    b.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s1, mri: invertDirection(mri), nslpData: bytes('ack'), siiHandle: first?.siiHandle });
    net.pump('B');
    net.runFor(100);
    expect(a.recv.map((ev) => text(ev.nslpData))).toContain('ack');

    // A goes quiet: B's state expires after the validity time (30 s) and B lets A go.
    a.node.setStateLifetime(net.now, NSLP, mri, s1, 0);
    net.runFor(31_000);
    expect(b.node.routingStateCount).toBe(0);
    expect(b.node.peerCount).toBe(0);

    // A new session: B learns A again, as a peer in its table with a handle of its own.
    const s2 = sid(rnd);
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s2, mri, nslpData: bytes('two') });
    net.pump('A');
    net.runFor(100);
    const second = b.recv.find((ev) => text(ev.nslpData) === 'two');
    expect(second).toBeDefined();
    expect(b.node.routingState(NSLP, invertDirection(mri), s2)?.peerAddress).toBe('198.18.1.1');
    expect(b.node.peerCount).toBe(1);
    expect(b.node.footprint().peers).toBe(1);
    const handle = b.node.routingState(NSLP, invertDirection(mri), s2)?.siiHandle;
    expect(handle).not.toBe(first?.siiHandle);
    b.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s2, mri: invertDirection(mri), nslpData: bytes('ack2'), siiHandle: handle, nslpMessageHandle: 7 });
    net.pump('B');
    net.runFor(100);
    expect(b.status.find((e) => e.nslpMessageHandle === 7)?.error).toBeUndefined();
    expect(a.recv.map((ev) => text(ev.nslpData))).toContain('ack2');
  });
});
