import type { RecvMessageEvent } from '../../../gist/api';
import { decodeGistDatagram } from '../../../gist/codec';
import { invertDirection } from '../../../gist/types';
import { SeededRandom, VirtualNetwork } from '../../../sim/vnet';
import { NSLP, addNode, bytes, flow, gistType, line3, sid, text, type TestNode } from './helpers';

/**
 * RFC 5971 s5.1: a Response may carry NSLP-Data; s4.3.1 / s5.3.2: the
 * responding node's NSLP data goes back in it. When the NSLP answers a Query
 * from inside its RecvMessage (back to the querying node), the answer rides
 * in the GIST Response instead of a Data message of its own.
 */

/** Every GIST datagram on the first link it crosses, with its IP source address. */
function tap(net: VirtualNetwork): { from: string; type: string | undefined; payload: Uint8Array }[] {
  const seen: { from: string; type: string | undefined; payload: Uint8Array }[] = [];
  const once = new Set<Uint8Array>();
  net.addFilter((dg) => {
    if (!once.has(dg.payload)) seen.push({ from: dg.src.address, type: gistType(dg.payload), payload: dg.payload });
    once.add(dg.payload);
    return true;
  });
  return seen;
}

const A = '198.18.1.1';
const B = '198.18.1.2';

/** The NSLP at `t` answers every Query's payload with `answer(ev)` while handling it. */
function answerQueries(t: TestNode, answer: (ev: RecvMessageEvent) => Uint8Array, opts: { explicit?: boolean; handle?: number } = {}): void {
  t.node.events.on('recvMessage', (ev) => {
    if (!ev.routingStateCheck || ev.nslpData.length === 0) return;
    t.node.sendMessage(ev.now, {
      nslpId: ev.nslpId,
      sessionId: ev.sessionId,
      mri: invertDirection(ev.mri),
      nslpData: answer(ev),
      siiHandle: opts.explicit === false ? undefined : ev.siiHandle,
      nslpMessageHandle: opts.handle,
    });
  });
}

function pair(seed: number) {
  const net = new VirtualNetwork({ seed, trace: false });
  const rnd = new SeededRandom(seed);
  net.addHost('A', ['198.18.1.1']);
  net.addHost('B', ['198.18.1.2']);
  net.link('A', 'B', { delayMs: 2 });
  const a = addNode(net, rnd, 'A', ['198.18.1.1']);
  const b = addNode(net, rnd, 'B', ['198.18.1.2']);
  return { net, rnd, a, b, mri: flow(A, B), s: sid(rnd) };
}

describe('the NSLP reply to a Query travels in the GIST Response', () => {
  it('explicitly routed back to the querying node: one Response with NSLP-Data, no Data message', () => {
    const { net, a, b, mri, s } = pair(31);
    const seen = tap(net);
    answerQueries(b, (ev) => bytes(`re:${text(ev.nslpData)}`), { handle: 7 });
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('create') });
    net.pump('A');
    net.runFor(100);
    expect(seen.filter((d) => d.from === B).map((d) => d.type)).toEqual(['Response']);
    const resp = decodeGistDatagram(seen.find((d) => d.type === 'Response')!.payload);
    expect(resp.ok).toBe(true);
    if (!resp.ok || resp.value.type !== 'Response') throw new Error('not a Response');
    expect(text(resp.value.nslpData!)).toBe('re:create');
    // s5.1: the Response carries the Query's MRI inverted.
    expect(resp.value.mri.direction).toBe('upstream');
    const got = a.recv.find((ev) => text(ev.nslpData) === 're:create');
    expect(got).toMatchObject({ routingStateCheck: false });
    expect(got?.mri.direction).toBe('upstream');
    // The SII-Handle names B, so that A's NSLP can answer it.
    expect(a.node.routingState(NSLP, mri, s)?.siiHandle).toBe(got?.siiHandle);
    // B.3: the NSLP hears that its message was sent.
    expect(b.status).toEqual([expect.objectContaining({ nslpMessageHandle: 7, error: undefined })]);
    expect(b.node.stats.dataSent).toBe(0);
  });

  it('also when the NSLP names the reverse MRI without an SII-Handle', () => {
    const { net, a, b, mri, s } = pair(32);
    const seen = tap(net);
    answerQueries(b, () => bytes('ok'), { explicit: false });
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('q') });
    net.pump('A');
    net.runFor(100);
    expect(seen.filter((d) => d.from === B).map((d) => d.type)).toEqual(['Response']);
    expect(a.recv.map((ev) => text(ev.nslpData))).toEqual(['ok']);
    // The responder's state still waits for the Confirm and is then installed (delayed installation, s6.3).
    expect(b.node.routingState(NSLP, invertDirection(mri), s)?.phase).toBe('established');
  });

  it('only the first answer rides along; a second one goes as a Data message', () => {
    const { net, a, b, mri, s } = pair(33);
    const seen = tap(net);
    b.node.events.on('recvMessage', (ev) => {
      if (!ev.routingStateCheck) return;
      b.node.sendMessage(ev.now, { nslpId: NSLP, sessionId: ev.sessionId, mri: invertDirection(ev.mri), nslpData: bytes('one'), siiHandle: ev.siiHandle });
      b.node.sendMessage(ev.now, { nslpId: NSLP, sessionId: ev.sessionId, mri: invertDirection(ev.mri), nslpData: bytes('two'), siiHandle: ev.siiHandle });
    });
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('q') });
    net.pump('A');
    net.runFor(100);
    expect(seen.filter((d) => d.from === B).map((d) => d.type)).toEqual(['Data', 'Response']);
    expect(a.recv.map((ev) => text(ev.nslpData)).sort()).toEqual(['one', 'two']);
  });

  it('falls back to a Data message when the peering decision already carries the Response payload', () => {
    const { net, a, b, mri, s } = pair(34);
    const seen = tap(net);
    b.peering = () => ({ accept: true, payload: bytes('peering') });
    answerQueries(b, () => bytes('answer'));
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('q') });
    net.pump('A');
    net.runFor(100);
    expect(seen.filter((d) => d.from === B).map((d) => d.type)).toEqual(['Data', 'Response']);
    expect(a.recv.map((ev) => text(ev.nslpData)).sort()).toEqual(['answer', 'peering']);
  });

  it('falls back to a Data message when the answer would make the Response too large for D-mode (s4.3.3)', () => {
    const { net, a, b, mri, s } = pair(35);
    const seen = tap(net);
    // Fits a Data message (no cookies) but not a Response (Query-Cookie + Responder-Cookie) within 576 - 64 bytes.
    answerQueries(b, () => new Uint8Array(400).fill(0x61));
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('q') });
    net.pump('A');
    net.runFor(100);
    expect(seen.filter((d) => d.from === B).map((d) => d.type)).toEqual(['Data', 'Response']);
    const resp = decodeGistDatagram(seen.find((d) => d.type === 'Response')!.payload);
    expect(resp.ok && resp.value.type === 'Response' && resp.value.nslpData).toBeFalsy();
    expect(a.recv.filter((ev) => ev.nslpData.length === 400)).toHaveLength(1);
  });

  it('an answer sent before the listener throws still goes out, as a Data message', () => {
    const { net, a, b, mri, s } = pair(37);
    b.node.events.once('recvMessage', (ev) => {
      b.node.sendMessage(ev.now, { nslpId: NSLP, sessionId: ev.sessionId, mri: invertDirection(ev.mri), nslpData: bytes('before-throw'), siiHandle: ev.siiHandle });
      throw new Error('listener bug');
    });
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('q') });
    net.pump('A');
    expect(() => net.runFor(50)).toThrow('listener bug');
    net.pump('B');
    net.runFor(50);
    expect(a.recv.map((ev) => text(ev.nslpData))).toEqual(['before-throw']);
    // The next Query is captured again (the failed one left nothing behind).
    answerQueries(b, () => bytes('fine'));
    const s2 = sid(new SeededRandom(99));
    net.runFor(100); // the first session's Query retransmission is answered too; then watch only the second
    const seen = tap(net);
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s2, mri: { ...mri, sourcePort: 7 }, nslpData: bytes('q2') });
    net.pump('A');
    net.runFor(50);
    const second = a.recv.filter((ev) => Buffer.from(ev.sessionId).equals(Buffer.from(s2)));
    expect(second.map((ev) => text(ev.nslpData))).toEqual(['fine']);
    expect(seen.filter((d) => d.from === B).map((d) => d.type)).toEqual(['Response']);
  });

  it('a node that lets the Query pass on sends its answer as Data, and the Query reaches the next node', () => {
    const { net, rnd, a, r, b } = line3({ seed: 36 });
    const mri = flow(A, '198.18.2.2');
    const s = sid(rnd);
    const seen = tap(net);
    r.peering = () => ({ accept: false });
    answerQueries(r, () => bytes('from-r'));
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('q') });
    net.pump('A');
    net.runFor(100);
    expect(seen.filter((d) => d.from === '198.18.1.2' || d.from === '198.18.2.1').map((d) => d.type)).toEqual(['Data']);
    expect(a.recv.map((ev) => text(ev.nslpData))).toContain('from-r');
    expect(b.recv.map((ev) => text(ev.nslpData))).toContain('q');
    expect(a.node.routingState(NSLP, mri, s)?.peerAddress).toBe('198.18.2.2');
  });
});
