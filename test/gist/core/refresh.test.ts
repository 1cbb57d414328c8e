import type { GistNodeConfig } from '../../../gist/core/config';
import { SeededRandom, VirtualNetwork } from '../../../sim/vnet';
import { addNode, bytes, flow, gistType, line3, NSLP, sid } from './helpers';

const V = 3000; // routing state validity for these tests

/** A - R - B (R without the NSLP): A signals one session to B, as every test here starts. */
function startSession(cfg: Partial<GistNodeConfig> = {}) {
  const { net, rnd, a, b } = line3({ rNslps: [], cfg: { routingStateValidityMs: V, ...cfg } });
  const s = sid(rnd);
  const mri = flow('198.18.1.1', '198.18.2.2');
  const up = { ...mri, direction: 'upstream' as const };
  a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('x') });
  net.pump('A');
  return { net, a, b, s, mri, up };
}

describe('routing state refresh and expiry (s4.4.4, s6.2, s6.3)', () => {
  it('the querier refreshes between 1/2 and 3/4 of the validity time; the responder state stays', () => {
    const { net, a, b, s, mri, up } = startSession({ defaultStateLifetimeMs: 60_000 });
    net.runFor(20_000);
    const queries = net.trace.filter((e) => e.kind === 'send' && gistType(e.dg.payload) === 'Query').map((e) => e.t);
    expect(queries.length).toBeGreaterThanOrEqual(20_000 / (0.75 * V));
    for (let i = 1; i < queries.length; i++) {
      const gap = queries[i] - queries[i - 1];
      expect(gap).toBeGreaterThanOrEqual(0.5 * V);
      expect(gap).toBeLessThanOrEqual(0.75 * V + 50);
    }
    expect(b.node.routingState(NSLP, up, s)?.phase).toBe('established');
    expect(b.notes).toHaveLength(0);
    expect(a.node.routingState(NSLP, mri, s)?.phase).toMatch(/established|awaiting-refresh/);
  });

  it('when the querier stops (SetStateLifetime 0), the responder state expires after the validity time', () => {
    const { net, a, b, s, mri, up } = startSession();
    net.runFor(100);
    const installedAt = b.node.routingState(NSLP, up, s)?.expireAt;
    expect(installedAt).toBeDefined();
    a.node.setStateLifetime(net.now, NSLP, mri, s, 0);
    net.pump('A');
    expect(a.node.routingStateCount).toBe(0);
    net.runFor(V);
    expect(b.node.routingState(NSLP, up, s)).toBeUndefined();
    expect(b.notes).toEqual([expect.objectContaining({ notification: expect.objectContaining({ kind: 'route-deletion' }) })]);
    expect(b.node.routingStateCount).toBe(0);
    expect(b.node.nextDeadline()).toBeUndefined();
  });

  it('querier state without NSLP traffic dies after its lifetime (Inactive_QNode), and SetStateLifetime extends it', () => {
    const { net, rnd, a } = line3({ rNslps: [], cfg: { routingStateValidityMs: V, defaultStateLifetimeMs: 5000 } });
    const s1 = sid(rnd);
    const s2 = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s1, mri, nslpData: bytes('x') });
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s2, mri, nslpData: bytes('x') });
    a.node.setStateLifetime(net.now, NSLP, mri, s2, 20_000);
    net.pump('A');
    net.runFor(6000);
    expect(a.node.routingState(NSLP, mri, s1)).toBeUndefined();
    expect(a.node.routingState(NSLP, mri, s2)).toBeDefined();
    net.runFor(15_000);
    expect(a.node.routingState(NSLP, mri, s2)).toBeUndefined();
  });

  it('a vanished peer is reported (routing-status-change bad) when the refresh goes unanswered', () => {
    const { net, a } = startSession();
    net.runFor(100);
    net.setLinkUp('R', 'B', false);
    net.runFor(30_000);
    expect(a.notes.map((n) => n.notification)).toEqual([expect.objectContaining({ kind: 'routing-status-change', status: 'bad' })]);
    expect(a.node.routingStateCount).toBe(0);
  });
});

describe('refresh without a Confirm from the peer the state names (confirmRefreshes, s6.3, s8.3)', () => {
  /** The R flag of a GIST datagram (A.1: S R E in the octet after C/Type). */
  const rFlag = (payload: Uint8Array): boolean => (payload[11] & 0x40) !== 0;
  /** Datagrams of a GIST message type sent since trace entry `from`, with their sender. */
  const sent = (net: VirtualNetwork, type: string, from = 0): Array<{ host: string; payload: Uint8Array }> =>
    net.trace.slice(from).flatMap((e) => (e.kind === 'send' && gistType(e.dg.payload) === type ? [{ host: e.host, payload: e.dg.payload }] : []));

  it('by default a refresh Query from the same peer is answered with R=0 and refreshes the responder state', () => {
    const { net, b, s, up } = startSession({ defaultStateLifetimeMs: 60_000 });
    net.runFor(100);
    const firstExpiry = b.node.routingState(NSLP, up, s)?.expireAt as number;
    net.runFor(20_000);
    const responses = sent(net, 'Response');
    expect(sent(net, 'Query').length).toBeGreaterThanOrEqual(7);
    // The first handshake installs the state: R=1 and one Confirm; every refresh after it: R=0, no Confirm.
    expect(responses.map((e) => rFlag(e.payload))).toEqual([true, ...new Array<boolean>(responses.length - 1).fill(false)]);
    expect(sent(net, 'Confirm')).toHaveLength(1);
    // The state outlived many validity times only because the Queries refreshed it.
    expect(b.node.routingState(NSLP, up, s)?.phase).toBe('established');
    expect(b.node.routingState(NSLP, up, s)?.expireAt).toBeGreaterThan(firstExpiry + 5 * V);
  });

  it('confirmRefreshes: true asks for a Confirm on every refresh', () => {
    const { net, b, s, up } = startSession({ defaultStateLifetimeMs: 60_000, confirmRefreshes: true });
    net.runFor(20_000);
    const responses = sent(net, 'Response');
    expect(responses.length).toBeGreaterThanOrEqual(7);
    expect(responses.every((e) => rFlag(e.payload))).toBe(true);
    expect(sent(net, 'Confirm')).toHaveLength(responses.length);
    expect(b.node.routingState(NSLP, up, s)?.phase).toBe('established');
  });

  it('a Query from another peer for established state (the path changed upstream) still needs a Confirm', () => {
    const net = new VirtualNetwork({ seed: 4, trace: true });
    const rnd = new SeededRandom(4);
    net.addHost('A1', ['198.18.1.1']);
    net.addHost('A2', ['198.18.3.1']);
    net.addHost('R', ['198.18.1.2', '198.18.3.2', '198.18.2.1']);
    net.addHost('B', ['198.18.2.2']);
    net.link('A1', 'R', { delayMs: 2 });
    net.link('A2', 'R', { delayMs: 2 });
    net.link('R', 'B', { delayMs: 2 });
    const cfg = { routingStateValidityMs: V };
    const a1 = addNode(net, rnd, 'A1', ['198.18.1.1'], cfg);
    const a2 = addNode(net, rnd, 'A2', ['198.18.3.1'], cfg);
    addNode(net, rnd, 'R', ['198.18.1.2', '198.18.3.2', '198.18.2.1'], cfg, []);
    const b = addNode(net, rnd, 'B', ['198.18.2.2'], cfg);
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    const up = { ...mri, direction: 'upstream' as const };
    a1.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('x') });
    net.pump('A1');
    net.runFor(100);
    expect(b.node.routingState(NSLP, up, s)?.peerAddress).toBe('198.18.1.1');
    const before = net.trace.length;
    // Another node signals for the same session and flow (a proxy, or the upstream path moved to it).
    a2.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('y') });
    net.pump('A2');
    net.runFor(100);
    const responses = sent(net, 'Response', before);
    expect(responses).toHaveLength(1);
    expect(rFlag(responses[0].payload)).toBe(true);
    expect(sent(net, 'Confirm', before).map((e) => e.host)).toEqual(['A2']);
    expect(b.node.routingState(NSLP, up, s)?.peerAddress).toBe('198.18.3.1');
  });
});

describe('route change (s7.1)', () => {
  it('on A-R1-B the route moves to A-R2-B: A learns the new peer at refresh, R1 loses its state', () => {
    const net = new VirtualNetwork({ seed: 3, trace: false });
    const rnd = new SeededRandom(3);
    net.addHost('A', ['198.18.1.1']);
    net.addHost('R1', ['198.18.1.2', '198.18.2.1']);
    net.addHost('R2', ['198.18.3.2', '198.18.4.1']);
    net.addHost('B', ['198.18.2.2', '198.18.4.2']);
    net.link('A', 'R1', { delayMs: 2 });
    net.link('R1', 'B', { delayMs: 2 });
    net.link('A', 'R2', { delayMs: 2 });
    net.link('R2', 'B', { delayMs: 2 });
    const cfg = { routingStateValidityMs: V };
    const a = addNode(net, rnd, 'A', ['198.18.1.1'], cfg);
    const r1 = addNode(net, rnd, 'R1', ['198.18.1.2', '198.18.2.1'], cfg);
    const r2 = addNode(net, rnd, 'R2', ['198.18.3.2', '198.18.4.1'], cfg);
    addNode(net, rnd, 'B', ['198.18.2.2', '198.18.4.2'], cfg);
    net.shortestPath.setNextHop('A', '198.18.2.2', 'R1');
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    const up = { ...mri, direction: 'upstream' as const };
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('x') });
    net.pump('A');
    net.runFor(100);
    const oldPeer = a.node.routingState(NSLP, mri, s);
    expect(oldPeer?.peerAddress).toBe('198.18.1.2');
    expect(r1.node.routingState(NSLP, up, s)).toBeDefined();

    net.shortestPath.setNextHop('A', '198.18.2.2', 'R2');
    net.runFor(2 * V);
    const now = a.node.routingState(NSLP, mri, s);
    expect(now?.peerAddress).toBe('198.18.3.2');
    expect(a.notes).toEqual([
      expect.objectContaining({
        notification: { kind: 'routing-status-change', status: 'good', siiHandle: now?.siiHandle, previousSiiHandle: oldPeer?.siiHandle },
      }),
    ]);
    expect(r2.node.routingState(NSLP, up, s)).toBeDefined();
    expect(r1.node.routingState(NSLP, up, s)).toBeUndefined();
    expect(r1.notes.map((n) => n.notification.kind)).toContain('route-deletion');
  });
});

describe('InvalidateRoutingState and SetStateLifetime (B.5, B.6)', () => {
  it('urgent invalidation rediscovers at once; non-urgent waits for the next message', () => {
    const { net, rnd, a } = line3({ rNslps: [], cfg: { routingStateValidityMs: 60_000 } });
    const s1 = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s1, mri, nslpData: bytes('x') });
    net.pump('A');
    net.runFor(100);
    const queries = () => net.trace.filter((e) => e.kind === 'send' && e.host === 'A' && gistType(e.dg.payload) === 'Query').length;
    expect(queries()).toBe(1);
    a.node.invalidateRoutingState(net.now, { nslpId: NSLP, mri, status: 'bad', urgent: false });
    net.pump('A');
    net.runFor(100);
    expect(queries()).toBe(1);
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s1, mri, nslpData: bytes('y') });
    net.pump('A');
    net.runFor(100);
    expect(queries()).toBe(2);
    a.node.invalidateRoutingState(net.now, { mri, status: 'bad', urgent: true });
    net.pump('A');
    net.runFor(100);
    expect(queries()).toBe(3);
    expect(a.node.routingState(NSLP, mri, s1)?.phase).toBe('established');
  });

  it('SetStateLifetime with no Session ID applies to every session of the MRI', () => {
    const { net, rnd, a } = line3({ rNslps: [] });
    const mri = flow('198.18.1.1', '198.18.2.2');
    const other = flow('198.18.1.1', '198.18.2.2', { destinationPort: 7000 });
    for (let i = 0; i < 3; i++) a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: sid(rnd), mri, nslpData: bytes('x') });
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: sid(rnd), mri: other, nslpData: bytes('x') });
    net.pump('A');
    net.runFor(100);
    expect(a.node.routingStateCount).toBe(4);
    a.node.setStateLifetime(net.now, NSLP, mri, undefined, 0);
    expect(a.node.routingStateCount).toBe(1);
  });
});
