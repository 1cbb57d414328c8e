import { decodeGistDatagram } from '../../../gist/codec';
import { bytes, flow, line3, NSLP, sid, text } from './helpers';

describe('GIST handshake on A - R - B', () => {
  it('A queries towards B, R intercepts and peers; Data then flows A->R and R->B', () => {
    const { net, rnd, a, r, b } = line3();
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('create-1'), nslpMessageHandle: 1 });
    net.pump('A');
    net.runFor(1000);
    // R got the Query with the piggybacked payload and peered (default accept).
    expect(r.recv).toHaveLength(1);
    expect(r.recv[0].routingStateCheck).toBe(true);
    expect(text(r.recv[0].nslpData)).toBe('create-1');
    expect(b.recv).toHaveLength(0);
    expect(a.node.routingState(NSLP, mri, s)).toMatchObject({ role: 'querier', phase: 'established', peerAddress: '198.18.1.2' });
    const up = { ...mri, direction: 'upstream' as const };
    expect(r.node.routingState(NSLP, up, s)).toMatchObject({ role: 'responder', phase: 'established', peerAddress: '198.18.1.1' });
    expect(a.status).toEqual([expect.objectContaining({ nslpMessageHandle: 1, error: undefined })]);

    // R forwards the NSLP message downstream: a new handshake R -> B.
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('create-1') });
    net.pump('R');
    net.runFor(1000);
    expect(b.recv.map((e) => text(e.nslpData))).toEqual(['create-1']);
    expect(b.node.routingState(NSLP, up, s)).toMatchObject({ role: 'responder', peerAddress: expect.stringMatching(/^198\.18\.[12]\.[12]$/) });

    // B answers upstream with a Data message over the installed state; R passes it on to A.
    b.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri: up, nslpData: bytes('response-1') });
    net.pump('B');
    net.runFor(100);
    expect(text(r.recv.at(-1)!.nslpData)).toBe('response-1');
    expect(r.recv.at(-1)!.routingStateCheck).toBe(false);
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri: up, nslpData: bytes('response-1') });
    net.pump('R');
    net.runFor(100);
    expect(text(a.recv.at(-1)!.nslpData)).toBe('response-1');
    expect(a.recv.at(-1)!.mri).toEqual(up);
  });

  it('the Query on the wire is Q-mode: Router Alert 65, port 270, magic, C=1 R=1', () => {
    const { net, rnd, a } = line3();
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: sid(rnd), mri: flow('198.18.1.1', '198.18.2.2'), nslpData: bytes('x') });
    net.pump('A');
    const sent = net.trace.find((e) => e.kind === 'send');
    expect(sent).toBeDefined();
    if (sent?.kind !== 'send') return;
    expect(sent.dg.routerAlert).toBe(65);
    expect(sent.dg.dst).toEqual({ address: '198.18.2.2', port: 270 });
    const m = decodeGistDatagram(sent.dg.payload, { qMode: true });
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(m.value.type).toBe('Query');
    expect(m.value.header).toMatchObject({ cFlag: true, rFlag: true, sFlag: true });
  });
});

describe('Q-mode source addressing (s5.8.1.2)', () => {
  it("with 'flow' addressing an on-path querier sends the Query from the flow source (S=0) and still gets its Response", () => {
    const { net, rnd, r, b } = line3({ cfg: { qmodeSourceAddressing: 'flow' } });
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('from-r') });
    net.pump('R');
    net.runFor(200);
    const q = net.trace.find((e) => e.kind === 'send' && e.host === 'R');
    if (q?.kind !== 'send') throw new Error('no Query');
    expect(q.dg.src.address).toBe('198.18.1.1');
    const m = decodeGistDatagram(q.dg.payload, { qMode: true });
    expect(m.ok && m.value.header.sFlag).toBe(false);
    expect(text(b.recv[0].nslpData)).toBe('from-r');
    expect(r.node.routingState(NSLP, mri, s)?.phase).toBe('established');
  });
});

describe('Q-mode source addressing on retransmission', () => {
  it("switches from the flow source (S=0) to the signalling source (S=1) after two unanswered Queries", () => {
    const { net, rnd, r } = line3({ cfg: { qmodeSourceAddressing: 'flow' } });
    net.addFilter((dg) => dg.payload[10] !== undefined && (dg.payload[10] & 0x7f) !== 0); // lose every Query
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: sid(rnd), mri: flow('198.18.1.1', '198.18.2.2'), nslpData: bytes('x') });
    net.pump('R');
    net.runFor(1000);
    const sources = net.trace.filter((e) => e.kind === 'send' && e.host === 'R').map((e) => (e.kind === 'send' ? e.dg.src.address : ''));
    expect(sources.slice(0, 4)).toEqual(['198.18.1.1', '198.18.1.1', '198.18.1.2', '198.18.1.2']);
  });
});
