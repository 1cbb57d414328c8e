import { decodeGistDatagram } from '../../../gist/codec';
import { bytes, flow, gistType, line3, NSLP, sid, text } from './helpers';

describe('nodes that do not peer (s4.3.2, s4.3.4)', () => {
  it('a node that does not run the NSLPID forwards the Query unchanged except for the GIST hop count and IP TTL', () => {
    const { net, rnd, a, r, b } = line3({ rNslps: [] });
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('via-r') });
    net.pump('A');
    net.runFor(500);
    const sent = net.trace.find((e) => e.kind === 'send' && e.host === 'A' && gistType(e.dg.payload) === 'Query');
    const fwd = net.trace.find((e) => e.kind === 'forward' && e.host === 'R');
    if (sent?.kind !== 'send' || fwd?.kind !== 'forward') throw new Error('trace incomplete');
    expect(fwd.modified).toBe(true);
    const diff = [...sent.dg.payload].map((v, i) => (v !== fwd.dg.payload[i] ? i : -1)).filter((i) => i >= 0);
    expect(diff).toEqual([5]); // magic(4) + version(1): the hop count byte only
    expect(fwd.dg.payload[5]).toBe(sent.dg.payload[5] - 1);
    expect(r.recv).toHaveLength(0);
    expect(text(b.recv[0].nslpData)).toBe('via-r');
    expect(b.recv[0].gistHopCount).toBe(sent.dg.payload[5] - 2);
    expect(a.node.routingState(NSLP, mri, s)?.peerAddress).toBe('198.18.2.2');
    expect(r.node.routingStateCount).toBe(0);
  });

  it('a node whose NSLP declines to peer forwards the Query with the NSLP\'s new payload', () => {
    const { net, rnd, a, r, b } = line3();
    r.peering = () => ({ accept: false, payload: bytes('rewritten') });
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('original') });
    net.pump('A');
    net.runFor(500);
    expect(text(r.recv[0].nslpData)).toBe('original');
    expect(text(b.recv[0].nslpData)).toBe('rewritten');
    expect(a.node.routingState(NSLP, mri, s)?.peerAddress).toBe('198.18.2.2');
    expect(r.node.routingStateCount).toBe(0);
    const fwd = net.trace.find((e) => e.kind === 'forward' && e.host === 'R');
    if (fwd?.kind !== 'forward') throw new Error('no forward');
    const m = decodeGistDatagram(fwd.dg.payload, { qMode: true });
    expect(m.ok && m.value.type === 'Query' && m.value.header.cFlag).toBe(true);
  });

  it('a Query for an NSLP nobody on the path runs ends in Endpoint Found: the NSLP hears last-node', () => {
    const { net, rnd, a, b } = line3({ rNslps: [] });
    const ONLY_A = 40; // A runs it, R and B do not
    a.node.registerNslp(ONLY_A);
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: ONLY_A, sessionId: s, mri, nslpData: bytes('x'), nslpMessageHandle: 4 });
    net.pump('A');
    net.runFor(500);
    expect(a.notes.map((n) => n.notification)).toEqual([{ kind: 'last-node' }]);
    expect(a.status).toEqual([expect.objectContaining({ nslpMessageHandle: 4, error: 'no-next-node' })]);
    expect(a.node.routingStateCount).toBe(0);
    expect(b.node.stats.errorsSent).toBe(1);
  });
});
