/** Round trip with generated values: encode, decode deep-equals, re-encode is byte-identical. */
import fc from 'fast-check';
import { ByteWriter, toHex } from '../../../common/bytes';
import { Cursor } from '../../../natfw-nslp/codec/cursor';
import { decodeNatfwMessage, encodeNatfwMessage, natfwMessageToJson, type NatfwMessage } from '../../../natfw-nslp/codec';
import * as O from '../../../natfw-nslp/codec/objects';
import * as A from './arbitraries';

function roundTrip(m: NatfwMessage): void {
  const bytes = encodeNatfwMessage(m);
  expect(bytes.length % 4).toBe(0);
  const d = decodeNatfwMessage(bytes);
  if (!d.ok) throw new Error(`${d.error.code}: ${d.error.message}`);
  expect(d.value).toEqual(m);
  expect(toHex(encodeNatfwMessage(d.value))).toBe(toHex(bytes));
  expect(() => JSON.stringify(natfwMessageToJson(d.value))).not.toThrow();
}

describe('NATFW message round trip (fast-check)', () => {
  it('CREATE', () => fc.assert(fc.property(A.create, roundTrip), { numRuns: 300 }));
  it('EXTERNAL', () => fc.assert(fc.property(A.external, roundTrip), { numRuns: 300 }));
  it('RESPONSE', () => fc.assert(fc.property(A.response, roundTrip), { numRuns: 300 }));
  it('NOTIFY', () => fc.assert(fc.property(A.notify, roundTrip), { numRuns: 300 }));
});

/** Object-level round trips: write the value, read it back from exactly those bytes. */
function objectRoundTrip<T>(write: (w: ByteWriter, v: T) => void, read: (r: Cursor, at: number) => { ok: boolean; value?: T }, v: T): void {
  const w = new ByteWriter(8);
  write(w, v);
  const bytes = w.finish();
  expect(bytes.length % 4).toBe(0);
  const r = read(Cursor.of(bytes), 0);
  expect(r.ok).toBe(true);
  expect(r.value).toEqual(v);
}

describe('NATFW object round trip (fast-check)', () => {
  it('NATFW_LT / NATFW_NONCE / NATFW_MSN', () =>
    fc.assert(fc.property(A.u32, (v) => objectRoundTrip((w, x: number) => O.writeU32Object(w, x, 'x'), (r, at) => O.readU32Object(r, 0x00c, 'NATFW_LT', at), v))));
  it('NATFW_EXTERNAL_IP', () => fc.assert(fc.property(A.externalIp, (v) => objectRoundTrip(O.writeExternalIp, O.readExternalIp, v))));
  it('NATFW_EXTERNAL_BINDING', () => fc.assert(fc.property(A.externalBinding, (v) => objectRoundTrip(O.writeExternalBinding, O.readExternalBinding, v))));
  it('NATFW_EFI', () => fc.assert(fc.property(A.efi, (v) => objectRoundTrip(O.writeEfi, O.readEfi, v))));
  it('NATFW_INFO', () => fc.assert(fc.property(A.info(fc.nat({ max: 15 })), (v) => objectRoundTrip(O.writeInfo, O.readInfo, v))));
  it('NATFW_DTINFO', () => fc.assert(fc.property(A.dtinfo, (v) => objectRoundTrip(O.writeDtinfo, O.readDtinfo, v))));
  it('NATFW_ICMP_TYPES (length ((count + 1) + 3) DIV 4 words)', () =>
    fc.assert(
      fc.property(fc.array(A.u8, { maxLength: 255 }), (v) => {
        const w = new ByteWriter();
        O.writeIcmpTypes(w, v);
        expect(w.length / 4).toBe(Math.floor((v.length + 1 + 3) / 4));
        objectRoundTrip(O.writeIcmpTypes, O.readIcmpTypes, v);
      }),
    ));
});
