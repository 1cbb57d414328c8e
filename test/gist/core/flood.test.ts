import { encodeGistDatagram, MessageType, type QueryMessage } from '../../../gist/codec';
import { SeededRandom, VirtualNetwork } from '../../../sim/vnet';
import { addNode, bytes, flow, NSLP } from './helpers';

describe('Query flood (s8.4, s8.5): the responder keeps no per-flow state before a valid Confirm', () => {
  it('5,000 Queries from spoofed peers for distinct flows leave the responder holding nothing per flow', () => {
    const net = new VirtualNetwork({ seed: 4 });
    const rnd = new SeededRandom(4);
    net.addHost('X', ['198.18.9.9']);
    net.addHost('B', ['198.18.2.2']);
    net.link('X', 'B', { delayMs: 1 });
    const b = addNode(net, rnd, 'B', ['198.18.2.2']);
    // X is a raw sender: no GIST node attached; we inject from its host.
    const sample = (n: number) => {
      for (let i = 0; i < n; i++) {
        const src = `198.18.${100 + (i % 100)}.${1 + (i % 250)}`;
        const q: QueryMessage = {
          type: 'Query',
          header: { version: 1, gistHopCount: 8, messageType: MessageType.Query, nslpId: NSLP, cFlag: true, sFlag: true, rFlag: true, eFlag: false },
          unknownObjects: [],
          mri: flow(src, '198.18.2.2', { sourcePort: 1024 + (i % 60000) }),
          sessionId: rnd.bytes(16),
          nli: { peerIdentity: rnd.bytes(8), ipTtl: 64, ipVersion: 4, interfaceAddress: src, routingStateValidityTime: 30000 },
          queryCookie: rnd.bytes(8),
          nslpData: bytes('flood'),
        };
        net.sendDatagram('X', { src: { address: '198.18.9.9', port: 270 }, dst: { address: '198.18.2.2', port: 270 }, payload: encodeGistDatagram(q), ttl: 64, routerAlert: 65 });
      }
      net.runFor(100);
    };
    sample(1000);
    const after1k = b.node.footprint();
    sample(4000);
    const after5k = b.node.footprint();
    expect(b.node.stats.queriesReceived).toBe(5_000);
    expect(b.node.stats.responsesSent).toBe(5_000);
    for (const f of [after1k, after5k]) {
      expect(f.routingStates).toBe(0);
      expect(f.peers).toBe(0);
      expect(f.mas).toBe(0);
      expect(f.timerEntries).toBe(0);
      expect(f.queued).toBe(0);
      expect(f.outbound).toBe(0);
    }
    // SII handles for Query senders live in a bounded table.
    expect(after5k.peerCandidates).toBeLessThanOrEqual(4096);
    expect(b.node.nextDeadline()).toBeUndefined();
  });
});
