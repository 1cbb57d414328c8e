/** Bad input never crashes a node and never leaves state behind (fast-check, stub GIST, wire codec). */
import fc from 'fast-check';
import EventEmitter from 'eventemitter3';
import type { GistService, GistServiceEvents, RecvMessageEvent, SendMessageRequest } from '../../../gist/api';
import type { Mri } from '../../../gist/types';
import { NatfwNode } from '../../../natfw-nslp/core/node';
import { wireCodec } from '../../../natfw-nslp/core/codec-adapter';
import { seededRandom } from '../../../natfw-nslp/core/random';
import type { NatfwMsg } from '../../../natfw-nslp/core/messages';
import { flowMri } from './harness';

function stubNode(): { node: NatfwNode; events: EventEmitter<GistServiceEvents>; sent: SendMessageRequest[] } {
  const events = new EventEmitter<GistServiceEvents>();
  const sent: SendMessageRequest[] = [];
  const gist: GistService = { events, sendMessage: (_n, r) => sent.push(r), setStateLifetime: () => undefined, invalidateRoutingState: () => undefined, registerNslp: () => undefined };
  const node = new NatfwNode(gist, {
    addresses: ['198.18.1.1'],
    middlebox: { kind: 'nat', edge: true, nat: { externalAddress: '198.18.1.1', internalPrefixes: [{ address: '198.18.0.0', length: 24 }] } },
    random: seededRandom(3),
    codec: wireCodec,
  });
  return { node, events, sent };
}

const mris: Mri[] = [
  flowMri('198.18.0.1', '198.18.3.1'),
  flowMri('198.18.3.1', '198.18.1.1', { destinationPort: 45000 }),
  { ...flowMri('198.18.0.1', '198.18.3.1'), direction: 'upstream' },
  { mrm: 'loose-end', ipVersion: 4, sourceAddress: '198.18.0.1', destinationAddress: '198.18.50.1', direction: 'towards-edge' },
];

function recv(events: EventEmitter<GistServiceEvents>, now: number, data: Uint8Array, sidByte: number, mri: Mri, check: boolean, sii: number): void {
  const sid = new Uint8Array(16).fill(sidByte);
  const ev: RecvMessageEvent = { now, nslpData: data, nslpId: 33, sessionId: sid, mri, routingStateCheck: check, siiHandle: sii, transfer: { reliable: false }, ipDistance: 1, gistHopCount: 5 };
  events.emit('recvMessage', ev);
}

describe('robustness of the NATFW core', () => {
  test('random bytes: no throw, no session, any answer is a RESPONSE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), (bytes, m, check) => {
        const { node, events, sent } = stubNode();
        recv(events, 0, bytes, 1, mris[m], check, 1);
        expect(node.sessionCount).toBe(0);
        for (const s of sent) {
          const d = wireCodec.decode(s.nslpData);
          expect(d.ok && d.value.type).toBe('RESPONSE');
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('random sequences of valid messages from random peers: no throw; state only for accepted requests; timers end everything', () => {
    const msg = fc.oneof(
      fc.record({ type: fc.constant('CREATE' as const), proxy: fc.boolean(), edgeContinue: fc.boolean(), lifetime: fc.integer({ min: 0, max: 100 }), msn: fc.integer({ min: 0, max: 5 }), efi: fc.record({ ruleAction: fc.constantFrom(1, 2), subPorts: fc.constantFrom(0, 1) }), nonce: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }) }),
      fc.record({ type: fc.constant('RESPONSE' as const), info: fc.record({ responseClass: fc.constantFrom(2, 5, 7), responseCode: fc.constantFrom(1, 2, 0x11), objectType: fc.constant(0) }), msn: fc.integer({ min: 0, max: 5 }), lifetime: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }) }),
      fc.record({ type: fc.constant('NOTIFY' as const), info: fc.record({ responseClass: fc.constant(1), responseCode: fc.integer({ min: 1, max: 6 }), objectType: fc.constant(0) }) }),
      fc.record({ type: fc.constant('EXTERNAL' as const), proxy: fc.boolean(), edgeContinue: fc.constant(false), lifetime: fc.integer({ min: 0, max: 100 }), msn: fc.integer({ min: 0, max: 5 }), efi: fc.record({ ruleAction: fc.constantFrom(1, 2), subPorts: fc.constantFrom(0, 1) }), nonce: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }), dtinfo: fc.constant({ protocol: 17, drPort: 5004, dsPort: 0, senderPrefix: 0, senderAddress: '0.0.0.0' }) }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(msg, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.integer({ min: 1, max: 3 })), { maxLength: 30 }), (steps) => {
        const { node, events } = stubNode();
        let now = 0;
        for (const [m, sidByte, mi, check, sii] of steps) {
          now += 10;
          let data: Uint8Array;
          try {
            data = wireCodec.encode(m as NatfwMsg);
          } catch {
            continue; // e.g. P without nonce: not sendable, not what this test is about
          }
          recv(events, now, data, sidByte, mris[mi], check, sii);
          node.handleTimeout(now);
          for (let j = node.pollEnforcement(); j !== undefined; j = node.pollEnforcement()) node.enforcementDone(now, j.jobId, { ok: true, pinholeIds: j.ops.filter((o) => o.op === 'add').map((_, i) => `p${now}-${i}`), bindingIds: j.ops.filter((o) => o.op === 'addBinding').map((_, i) => `b${now}-${i}`) });
        }
        // Long after every lifetime, nothing is left.
        for (let t = now; t < now + 400_000; t += 50_000) {
          node.handleTimeout(t);
          for (let j = node.pollEnforcement(); j !== undefined; j = node.pollEnforcement()) node.enforcementDone(t, j.jobId, { ok: true, pinholeIds: [], bindingIds: [] });
        }
        expect(node.sessionCount).toBe(0);
        expect(node.nextDeadline()).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});
