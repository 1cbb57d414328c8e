/**
 * The codec adapter's straight paths for the common messages (encodeCommon /
 * decodeCommon) against the general codec: the same octets out, the same
 * messages back, and every other input left to the general path.
 */
import fc from 'fast-check';
import { decodeNatfwMessage, encodeNatfwMessage } from '../../../natfw-nslp/codec';
import { decodeCommon, encodeCommon, fromWire, toWire } from '../../../natfw-nslp/core/codec-adapter';
import type { NatfwMsg } from '../../../natfw-nslp/core/messages';

const u32 = fc.oneof(fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff), fc.nat({ max: 0xffffffff }));
const info = fc.record({ responseClass: fc.nat({ max: 15 }), responseCode: fc.nat({ max: 255 }), objectType: fc.nat({ max: 0xfff }) });

const create: fc.Arbitrary<NatfwMsg> = fc
  .record({ proxy: fc.boolean(), edgeContinue: fc.boolean(), lifetime: u32, msn: u32, ruleAction: fc.constantFrom(1, 2), subPorts: fc.constantFrom(0, 1), nonce: fc.option(u32, { nil: undefined }) })
  .map((r) => ({ type: 'CREATE' as const, proxy: r.proxy, edgeContinue: r.edgeContinue, lifetime: r.lifetime, msn: r.msn, efi: { ruleAction: r.ruleAction, subPorts: r.subPorts }, nonce: r.nonce, icmpTypes: undefined, carried: undefined }));
const response: fc.Arbitrary<NatfwMsg> = fc
  .record({ info, msn: u32, lifetime: fc.option(u32, { nil: undefined }) })
  .map((r) => ({ type: 'RESPONSE' as const, info: r.info, msn: r.msn, lifetime: r.lifetime, externalIp: undefined, externalBinding: undefined }));
/** Mutations favour the values the layouts care about (small numbers, flag bits). */
const octet = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 0x0c, 0x10, 0x12, 0x40, 0x80, 0xc0, 0xff), fc.nat({ max: 255 }));
const notify: fc.Arbitrary<NatfwMsg> = info.map((i) => ({ type: 'NOTIFY' as const, info: i }));

/** The general way: NatfwMsg -> wire message -> octets (undefined where it refuses). */
function general(m: NatfwMsg): Uint8Array | undefined {
  try {
    return encodeNatfwMessage(toWire(m));
  } catch {
    return undefined;
  }
}

describe('codec adapter straight paths', () => {
  test('encodeCommon writes exactly the general encoder\'s octets, or leaves the message to it', () => {
    fc.assert(
      fc.property(fc.oneof(create, response, notify), (m) => {
        const fast = encodeCommon(m);
        const slow = general(m);
        if (fast !== undefined) expect(Buffer.from(fast).toString('hex')).toBe(Buffer.from(slow ?? new Uint8Array()).toString('hex'));
        // Refused values (proxy without nonce, Success without LT) never take the straight path.
        if (slow === undefined) expect(fast).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });

  test('the common shapes take the straight path', () => {
    expect(encodeCommon({ type: 'CREATE', proxy: false, edgeContinue: false, lifetime: 30, msn: 7, efi: { ruleAction: 1, subPorts: 1 } })).toBeDefined();
    expect(encodeCommon({ type: 'RESPONSE', info: { responseClass: 2, responseCode: 1, objectType: 0 }, msn: 7, lifetime: 30 })).toBeDefined();
    expect(encodeCommon({ type: 'NOTIFY', info: { responseClass: 1, responseCode: 5, objectType: 0 } })).toBeDefined();
    // Others go the general way.
    expect(encodeCommon({ type: 'CREATE', proxy: false, edgeContinue: false, lifetime: 30, msn: 7, efi: { ruleAction: 1, subPorts: 0 }, icmpTypes: [8] })).toBeUndefined();
    expect(encodeCommon({ type: 'CREATE', proxy: true, edgeContinue: false, lifetime: 30, msn: 7, efi: { ruleAction: 1, subPorts: 0 } })).toBeUndefined();
    expect(encodeCommon({ type: 'CREATE', proxy: false, edgeContinue: false, lifetime: 30, msn: 7, efi: { ruleAction: 3, subPorts: 0 } })).toBeUndefined();
    expect(encodeCommon({ type: 'RESPONSE', info: { responseClass: 2, responseCode: 1, objectType: 0 }, msn: 7 })).toBeUndefined();
    expect(encodeCommon({ type: 'RESPONSE', info: { responseClass: 2, responseCode: 1, objectType: 0 }, msn: 7, lifetime: 30, externalIp: { address: '198.18.0.1', port: 0 } })).toBeUndefined();
  });

  test('decodeCommon gives what the general decoder gives, for its own output and for any mutation of it', () => {
    const sample = fc.oneof(create, response, notify).chain((m) => {
      const bytes = general(m) ?? new Uint8Array(4);
      return fc.tuple(fc.constant(bytes), fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), octet), { maxLength: 3 }), fc.nat({ max: 8 }));
    });
    fc.assert(
      fc.property(sample, ([bytes, edits, cut]) => {
        const b = bytes.slice(0, Math.max(0, bytes.length - (cut === 8 ? 4 : 0)));
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        const fast = decodeCommon(b);
        if (fast === undefined) return;
        const r = decodeNatfwMessage(b);
        expect(r.ok).toBe(true);
        if (r.ok) expect(fast).toEqual(fromWire(r.value));
      }),
      { numRuns: 5000 },
    );
  });

  test('every message encodeCommon writes comes back through decodeCommon', () => {
    fc.assert(
      fc.property(fc.oneof(create, response), (m) => {
        const b = encodeCommon(m);
        if (b === undefined) return;
        const r = decodeNatfwMessage(b);
        expect(r.ok).toBe(true);
        if (r.ok) expect(decodeCommon(b)).toEqual(fromWire(r.value));
      }),
      { numRuns: 2000 },
    );
  });
});
