/**
 * RFC 5971 s5.2.2: the NLI interface-address of a Query or Confirm is an
 * address of the interface that carries the outbound flow, and with S=1 it is
 * the IP source. A node with more than one address of the MRI's IP version
 * (a NAT: inside and outside; a router) asks its driver's routing
 * (GistNodeConfig.interfaceAddressFor) which one faces the next hop.
 */
import { decodeGistDatagram } from '../../../gist/codec';
import { createGistNode, type GistNode, type InterfaceAddressFor, type Transmit } from '../../../gist/core';
import type { IpVersion } from '../../../gist/types';
import { SeededRandom } from '../../../sim/vnet';
import { bytes, flow, gistType, line3, NSLP, sid } from './helpers';

const INSIDE = '198.19.0.1';
const OUTSIDE = '198.18.100.1';

/** A NAT's routing: its inside prefix 198.19.0.0/24 leaves by the inside interface, everything else by the outside. */
const natRoutes: InterfaceAddressFor = (destination) => (destination.startsWith('198.19.0.') ? INSIDE : OUTSIDE);

type Udp = Extract<Transmit, { kind: 'udp' }>;

function drain(node: GistNode): Udp[] {
  const out: Udp[] = [];
  for (let t = node.pollTransmit(); t !== undefined; t = node.pollTransmit()) if (t.kind === 'udp') out.push(t);
  return out;
}

/** The NLI interface-address and S flag of a GIST datagram. */
function nliOf(t: Udp): { type: string; address: string | undefined; s: boolean } {
  const m = decodeGistDatagram(t.bytes, { qMode: t.qmode !== undefined });
  if (!m.ok) throw new Error(`undecodable: ${m.error.message}`);
  const address = m.value.type === 'MA-Hello' ? undefined : m.value.nli?.interfaceAddress;
  return { type: m.value.type, address, s: m.value.header.sFlag };
}

function queryFrom(node: GistNode, dst: string, src = '198.19.0.10'): Udp {
  const rnd = new SeededRandom(7);
  node.sendMessage(0, { nslpId: NSLP, sessionId: sid(rnd), mri: flow(src, dst), nslpData: bytes('x') });
  const [q] = drain(node);
  expect(nliOf(q).type).toBe('Query');
  return q;
}

function nat(hook: InterfaceAddressFor | undefined, addresses = [INSIDE, OUTSIDE]): GistNode {
  const rnd = new SeededRandom(3);
  const node = createGistNode({ addresses, randomBytes: (n) => rnd.bytes(n), interfaceAddressFor: hook });
  node.registerNslp(NSLP);
  return node;
}

describe('NLI interface-address by route (RFC 5971 s5.2.2)', () => {
  it('a Query towards the outside names the external address, towards the inside the internal one; S=1 source equals it', () => {
    const node = nat(natRoutes);
    const out = queryFrom(node, '198.18.1.10');
    expect(nliOf(out)).toEqual({ type: 'Query', address: OUTSIDE, s: true });
    expect(out.source.address).toBe(OUTSIDE);
    const inn = queryFrom(node, '198.19.0.10', '198.18.1.10');
    expect(nliOf(inn)).toEqual({ type: 'Query', address: INSIDE, s: true });
    expect(inn.source.address).toBe(INSIDE);
  });

  it('falls back to the first address of the MRI version without a hook, on no answer, or on an address the node does not own', () => {
    const answers: Array<InterfaceAddressFor | undefined> = [undefined, () => undefined, () => '203.0.113.9', () => '2001:db8::1'];
    for (const hook of answers) {
      const q = queryFrom(nat(hook), '198.18.1.10');
      expect([nliOf(q).address, q.source.address]).toEqual([INSIDE, INSIDE]);
    }
    // Several versions: the hook's IPv6 answer is not used for an IPv4 MRI, and the IPv4 default is the first IPv4 address.
    const mixed = nat(() => '2001:db8::1', ['2001:db8::1', INSIDE, OUTSIDE]);
    expect(nliOf(queryFrom(mixed, '198.18.1.10')).address).toBe(INSIDE);
  });

  it('asks the hook only when there is a choice, towards the MRI destination for a Query', () => {
    const asked: Array<[string, IpVersion]> = [];
    const hook: InterfaceAddressFor = (d, v) => {
      asked.push([d, v]);
      return natRoutes(d, v);
    };
    // One IPv4 address (and one IPv6): nothing to choose, the hook is never called.
    queryFrom(nat(hook, [OUTSIDE, '2001:db8::1']), '198.18.1.10');
    expect(asked).toEqual([]);
    queryFrom(nat(hook), '198.18.1.10');
    expect(asked).toEqual([['198.18.1.10', 4]]);
  });
});

describe('a multihomed router on A - R - B names the side towards each peer', () => {
  /** R owns 198.18.1.2 (towards A) and 198.18.2.1 (towards B); the first is listed first. */
  const rRoutes: InterfaceAddressFor = (d) => (d.startsWith('198.18.2.') ? '198.18.2.1' : '198.18.1.2');

  const setUp = () => line3({ seed: 5, nodes: { r: { interfaceAddressFor: rRoutes } } });

  it('Response and upstream Data towards A, Query, Confirm and Data towards B; every S=1 source is its NLI address', () => {
    const { net, rnd, a, r, b } = setUp();
    const s = sid(rnd);
    const mri = flow('198.18.1.1', '198.18.2.2');
    a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('create') });
    net.pump('A');
    net.runFor(1000);
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('create') });
    net.pump('R');
    net.runFor(1000);
    // The handshake R -> B completed with the Confirm's NLI (198.18.2.1) matching the Query's, which B's cookie binds.
    expect(b.recv).toHaveLength(1);
    expect(r.node.routingState(NSLP, mri, s)).toMatchObject({ role: 'querier', phase: 'established', peerAddress: '198.18.2.2' });
    const up = { ...mri, direction: 'upstream' as const };
    expect(b.node.routingState(NSLP, up, s)).toMatchObject({ peerAddress: '198.18.2.1' });
    expect(a.node.routingState(NSLP, mri, s)).toMatchObject({ peerAddress: '198.18.1.2' });
    // Data both ways over the installed state.
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('down') });
    r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri: up, nslpData: bytes('up') });
    net.pump('R');
    net.runFor(100);

    const sentByR = net.trace.flatMap((e) => (e.kind === 'send' && e.host === 'R' && gistType(e.dg.payload) !== undefined ? [e.dg] : []));
    const seen = sentByR.map((dg) => {
      const m = decodeGistDatagram(dg.payload, { qMode: dg.routerAlert !== undefined });
      if (!m.ok || m.value.type === 'MA-Hello' || m.value.nli === undefined) throw new Error('R sent a message without an NLI');
      // s5.2.2: with S=1 the interface-address is the IP source.
      if (m.value.header.sFlag) expect(dg.src.address).toBe(m.value.nli.interfaceAddress);
      return `${m.value.type} ${dg.dst.address} ${m.value.nli.interfaceAddress}`;
    });
    expect(seen).toEqual([
      'Response 198.18.1.1 198.18.1.2',
      'Query 198.18.2.2 198.18.2.1',
      'Confirm 198.18.2.2 198.18.2.1',
      'Data 198.18.2.2 198.18.2.1',
      'Data 198.18.1.1 198.18.1.2',
    ]);
  });
});
