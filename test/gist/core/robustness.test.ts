import fc from 'fast-check';
import { encodeGistDatagram, encodeGistMessage, MessageType, type GistMessage } from '../../../gist/codec';
import { createGistNode } from '../../../gist/core';
import { SeededRandom } from '../../../sim/vnet';
import { bytes, flow, NSLP } from './helpers';

function validMessages(): GistMessage[] {
  const rnd = new SeededRandom(1);
  const h = (type: GistMessage['type'], c = false, r = false) => ({ version: 1, gistHopCount: 9, messageType: MessageType[type], nslpId: NSLP, cFlag: c, sFlag: true, rFlag: r, eFlag: false });
  const nli = { peerIdentity: bytes('p'), ipTtl: 60, ipVersion: 4 as const, interfaceAddress: '198.18.9.9', routingStateValidityTime: 1000 };
  const mri = flow('198.18.9.9', '198.18.2.2');
  return [
    { type: 'Query', header: h('Query', true, true), unknownObjects: [], mri, sessionId: rnd.bytes(16), nli, queryCookie: rnd.bytes(12), nslpData: bytes('q') },
    { type: 'Response', header: h('Response', false, true), unknownObjects: [], mri, sessionId: rnd.bytes(16), nli, queryCookie: rnd.bytes(12), responderCookie: rnd.bytes(20) },
    { type: 'Confirm', header: h('Confirm'), unknownObjects: [], mri, sessionId: rnd.bytes(16), nli, responderCookie: rnd.bytes(20) },
    { type: 'Data', header: h('Data'), unknownObjects: [], mri, sessionId: rnd.bytes(16), nli, nslpData: bytes('d') },
    { type: 'MA-Hello', header: { ...h('MA-Hello', false, true), nslpId: 0 }, unknownObjects: [], helloId: 7 },
  ];
}

describe('bad input never crashes a node and never leaves state behind', () => {
  const seeds = validMessages().map((m) => encodeGistDatagram(m));

  it('mutated datagrams (Q-mode and D-mode)', () => {
    const node = createGistNode({ addresses: ['198.18.2.2'], randomBytes: (n) => new Uint8Array(n).fill(3) });
    node.registerNslp(NSLP);
    fc.assert(
      fc.property(
        fc.nat(seeds.length - 1),
        fc.array(fc.tuple(fc.nat(400), fc.nat(255)), { maxLength: 6 }),
        fc.nat(400),
        fc.boolean(),
        fc.boolean(),
        (which, edits, cut, qmode, toOther) => {
          const b = seeds[which].slice(0, Math.max(4, seeds[which].length - (cut % 8 === 0 ? cut % seeds[which].length : 0)));
          for (const [at, v] of edits) if (at < b.length && at >= 4) b[at] = v;
          const disp = node.handleDatagram(0, {
            local: { address: toOther ? '198.18.5.5' : '198.18.2.2', port: 270 },
            remote: { address: '198.18.9.9', port: 270 },
            bytes: b,
            qmode: qmode ? { routerAlert: 65, ipTtl: 60 } : undefined,
          });
          expect(['consume', 'forward']).toContain(disp.kind);
          for (let t = node.pollTransmit(); t !== undefined; t = node.pollTransmit()) expect(t.kind).toBe('udp');
        },
      ),
      { numRuns: 3000 },
    );
    expect(node.routingStateCount).toBe(0);
    expect(node.maCount).toBe(0);
    expect(node.nextDeadline()).toBeUndefined();
  });

  it('random bytes and mutated messages on a C-mode stream, in random chunks', () => {
    const cmodeSeeds = validMessages().map((m) => encodeGistMessage(m));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.nat(cmodeSeeds.length - 1).map((i) => cmodeSeeds[i])), { maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(2000), fc.nat(255)), { maxLength: 4 }),
        fc.integer({ min: 1, max: 50 }),
        (parts, edits, chunk) => {
          const node = createGistNode({ addresses: ['198.18.2.2'], randomBytes: (n) => new Uint8Array(n).fill(5) });
          node.registerNslp(NSLP);
          const id = node.handleStreamAccepted(0, { local: { address: '198.18.2.2', port: 30270 }, remote: { address: '198.18.9.9', port: 40000 } });
          const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
          let o = 0;
          for (const p of parts) {
            total.set(p, o);
            o += p.length;
          }
          for (const [at, v] of edits) if (at < total.length) total[at] = v;
          for (let i = 0; i < total.length; i += chunk) node.handleStreamData(1, id, total.subarray(i, i + chunk));
          for (let t = node.pollTransmit(); t !== undefined; t = node.pollTransmit()) expect(['tcp-send', 'tcp-close']).toContain(t.kind);
          node.handleStreamClosed(2, id);
          node.handleTimeout(1_000_000);
          expect(node.routingStateCount).toBe(0);
          expect(node.maCount).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
