/**
 * The core writes Query/Response/Confirm/Data straight into bytes (gist/core/wire.ts).
 * Every message it sends must be exactly what the codec's encoder makes of the
 * same message: decode each transmitted message and re-encode it, byte for byte.
 */
import { decodeGistDatagram, decodeGistMessage, encodeGistDatagram, encodeGistMessage, type GistMessage } from '../../../gist/codec';
import type { GistNode } from '../../../gist/core';
import type { LooseEndMri, Mri } from '../../../gist/types';
import { SeededRandom, VirtualNetwork } from '../../../sim/vnet';
import { addNode, bytes, flow, NSLP, sid, type TestNode } from './helpers';

interface Seen {
  types: string[];
  checked: number;
}

/** Wraps pollTransmit so that every message the node sends is checked against the codec. */
function check(node: GistNode, seen: Seen): void {
  const poll = node.pollTransmit.bind(node);
  node.pollTransmit = () => {
    const t = poll();
    if (t === undefined) return t;
    const verify = (m: GistMessage, again: Uint8Array, original: Uint8Array): void => {
      seen.types.push(m.type);
      expect(Buffer.from(again).toString('hex')).toBe(Buffer.from(original).toString('hex'));
      seen.checked++;
    };
    if (t.kind === 'udp') {
      const r = decodeGistDatagram(t.bytes, { qMode: t.qmode !== undefined });
      if (!r.ok) throw new Error(`core sent an undecodable datagram: ${r.error.message}`);
      verify(r.value, encodeGistDatagram(r.value), t.bytes);
    } else if (t.kind === 'tcp-send') {
      // Each tcp-send is one whole message (C-mode framing is the common header's length, s5.4).
      const r = decodeGistMessage(t.bytes);
      if (!r.ok) throw new Error(`a tcp-send is not one whole message: ${r.error.message}`);
      verify(r.value, encodeGistMessage(r.value), t.bytes);
    }
    return t;
  };
}

function world(v: 4 | 6, cfg = {}) {
  const net = new VirtualNetwork({ seed: 3 });
  const rnd = new SeededRandom(3);
  const [a, r1, r2, b] = v === 4 ? ['198.18.1.1', '198.18.1.2', '198.18.2.1', '198.18.2.2'] : ['2001:db8:1::1', '2001:db8:1::2', '2001:db8:2::1', '2001:db8:2::2'];
  net.addHost('A', [a]);
  net.addHost('R', [r1, r2]);
  net.addHost('B', [b]);
  net.link('A', 'R', { delayMs: 2 });
  net.link('R', 'B', { delayMs: 2 });
  const seen: Seen = { types: [], checked: 0 };
  const nodes: TestNode[] = [addNode(net, rnd, 'A', [a], cfg), addNode(net, rnd, 'R', [r1, r2], cfg), addNode(net, rnd, 'B', [b], cfg)];
  for (const n of nodes) check(n.node, seen);
  return { net, rnd, a: nodes[0], r: nodes[1], b: nodes[2], seen, addr: { a, b } };
}

function exercise(w: ReturnType<typeof world>, mri: Mri, reply: Mri): void {
  const { net, rnd, a, r, b } = w;
  const s = sid(rnd);
  // Query with a piggybacked payload, Response with the NSLP's payload, Confirm.
  r.peering = () => ({ accept: true, payload: bytes('resp-payload') });
  a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('query-payload'), gistHopCount: 9 });
  net.pump('A');
  net.runFor(300);
  // D-mode Data downstream and back upstream on the responder's state, explicitly routed Data (E=1).
  a.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('data-down') });
  net.pump('A');
  net.runFor(100);
  r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri: reply, nslpData: bytes('data-up') });
  net.pump('R');
  const sii = r.recv.find((e) => !e.routingStateCheck)?.siiHandle;
  expect(sii).toBeDefined();
  r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: sid(rnd), mri: reply, nslpData: bytes('explicit'), siiHandle: sii });
  net.pump('R');
  net.runFor(100);
  // C-mode: a reliable message sets up an MA (Stack-Proposal, SCD, Confirm with the echo and abbreviated SCD), then Data over it.
  r.peering = undefined;
  r.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri, nslpData: bytes('reliable'), transfer: { reliable: true } });
  net.pump('R');
  net.runFor(500);
  b.node.sendMessage(net.now, { nslpId: NSLP, sessionId: s, mri: reply, nslpData: bytes('reliable-back'), transfer: { reliable: true } });
  net.pump('B');
  net.runFor(500);
  expect(b.recv.some((e) => e.transfer.reliable)).toBe(true);
}

describe('the core writes exactly the codec encoding (gist/core/wire.ts)', () => {
  it('IPv4 path-coupled with ports: Query, Response, Confirm, Data (D-mode, C-mode, E=1)', () => {
    const w = world(4);
    const mri = flow(w.addr.a, w.addr.b);
    exercise(w, mri, { ...mri, direction: 'upstream' });
    expect(new Set(w.seen.types)).toEqual(new Set(['Query', 'Response', 'Confirm', 'Data']));
    // Q R C, D-mode Data down, up and explicit; Q R C towards B (Confirm in C-mode), Data over the MA both ways.
    expect(w.seen.types).toEqual(['Query', 'Response', 'Confirm', 'Data', 'Data', 'Data', 'Query', 'Response', 'Confirm', 'Data', 'Data']);
  });

  it('IPv6 path-coupled with flow label, DSCP, SPI and only a destination port; flow-sourced Queries (S=0)', () => {
    const w = world(6, { qmodeSourceAddressing: 'flow' });
    const mri = flow(w.addr.a, w.addr.b, { flowLabel: 0xabcde, dsField: 46, spi: 0x01020304, sourcePort: undefined, destinationPort: 443, protocol: 6 });
    exercise(w, mri, { ...mri, direction: 'upstream' });
    expect(w.seen.types).toContain('Confirm');
  });

  it('loose-end MRI', () => {
    const w = world(4);
    const mri: LooseEndMri = { mrm: 'loose-end', ipVersion: 4, sourceAddress: w.addr.a, destinationAddress: w.addr.b, direction: 'towards-edge' };
    exercise(w, mri, { ...mri, direction: 'from-edge' });
    expect(w.seen.types).toContain('Data');
  });

  it('no Confirm required (s6.3 case 1): Response with R=0 and no Responder-Cookie', () => {
    const w = world(4, { confirmRequired: false });
    const mri = flow(w.addr.a, w.addr.b);
    exercise(w, mri, { ...mri, direction: 'upstream' });
    expect(w.seen.types).toContain('Response');
  });
});
