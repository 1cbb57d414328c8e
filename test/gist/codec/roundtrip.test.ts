/**
 * Round trip with generated values (fast-check): encode, length equals
 * encodingLength, decode deep-equals, re-encode is byte-identical; for every
 * object (whole TLV) and every message (plain, as a datagram, on a stream).
 */
import fc from 'fast-check';
import {
  decodeGistDatagram,
  decodeGistMessage,
  decodeObject,
  encodeGistDatagram,
  encodeGistMessage,
  encodeObject,
  errorObjectCodec,
  gistMessageEncodingLength,
  gistMessageToJson,
  GistStreamDecoder,
  helloIdCodec,
  mriCodec,
  natTraversalCodec,
  nliCodec,
  nslpDataCodec,
  objectEncodingLength,
  queryCookieCodec,
  responderCookieCodec,
  sessionIdCodec,
  stackConfigurationDataCodec,
  stackProposalCodec,
  type ObjectCodec,
} from '../../../gist/codec';
import * as A from './arbitraries';
import { expectBytes, expectSame } from './equal';

const RUNS = { numRuns: 300 };

function objectRoundTrip<T>(codec: ObjectCodec<T>, arb: fc.Arbitrary<T>): void {
  fc.assert(
    fc.property(arb, (v) => {
      const bytes = encodeObject(codec, v);
      expect(bytes.length).toBe(objectEncodingLength(codec, v));
      expect(bytes.length % 4).toBe(0);
      const r = decodeObject(codec, bytes);
      if (!r.ok) throw r.error;
      expectSame(r.value, v);
      expectBytes(encodeObject(codec, r.value), bytes);
    }),
    RUNS,
  );
}

describe('object round trips (RFC 5971 A.3, A.4.1)', () => {
  test('Message-Routing-Information, path-coupled', () => objectRoundTrip(mriCodec, A.pathCoupledMri));
  test('Message-Routing-Information, loose-end', () => objectRoundTrip(mriCodec, A.looseEndMri));
  test('Session-Identifier', () => objectRoundTrip(sessionIdCodec, A.sessionId));
  test('Network-Layer-Information', () => objectRoundTrip(nliCodec, A.nli));
  test('Stack-Proposal', () => objectRoundTrip(stackProposalCodec, A.stackProposal));
  test('Stack-Configuration-Data', () => objectRoundTrip(stackConfigurationDataCodec, A.stackConfigurationData));
  test('Query-Cookie', () => objectRoundTrip(queryCookieCodec, A.cookie));
  test('Responder-Cookie', () => objectRoundTrip(responderCookieCodec, A.cookie));
  test('Hello-ID', () => objectRoundTrip(helloIdCodec, A.helloId));
  test('NAT-Traversal', () => objectRoundTrip(natTraversalCodec, A.natTraversal));
  test('NSLP-Data', () => objectRoundTrip(nslpDataCodec, A.nslpData));
  test('GIST-Error-Data', () => objectRoundTrip(errorObjectCodec, A.errorObject));
});

describe('message round trips (RFC 5971 s5.1)', () => {
  const cases: [string, fc.Arbitrary<import('../../../gist/codec').GistMessage>][] = [
    ['Query', A.query],
    ['Response', A.response],
    ['Confirm', A.confirm],
    ['Data', A.data],
    ['Error', A.error],
    ['MA-Hello', A.maHello],
  ];
  test.each(cases)('%s', (_name, arb) => {
    fc.assert(
      fc.property(arb, (m) => {
        const bytes = encodeGistMessage(m);
        expect(bytes.length).toBe(gistMessageEncodingLength(m));
        expect((bytes[2] << 8) | bytes[3]).toBe((bytes.length - 8) / 4);
        const r = decodeGistMessage(bytes);
        if (!r.ok) throw r.error;
        expectSame(r.value, m);
        expectBytes(encodeGistMessage(r.value), bytes);
        // The same message as a D-mode datagram: magic + message.
        const dg = encodeGistDatagram(m);
        expect(Array.from(dg.subarray(0, 4))).toEqual([0x4e, 0x04, 0xbd, 0xa5]);
        expectBytes(dg.subarray(4), bytes);
        const d = decodeGistDatagram(dg);
        if (d.ok) expectSame(d.value, m);
        else expect(['GIST_INCORRECT_ENCAPSULATION', 'GIST_MISSING_OBJECT']).toContain(d.error.code);
        expect(JSON.parse(JSON.stringify(gistMessageToJson(m)))).toHaveProperty('messageType', m.type);
      }),
      RUNS,
    );
  });

  test('a C-mode stream cut at arbitrary points yields the same messages', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(A.response, A.confirm, A.maHello, A.error), { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }), (msgs, cuts) => {
        const all = Buffer.concat(msgs.map((m) => encodeGistMessage(m)));
        const dec = new GistStreamDecoder();
        const out: unknown[] = [];
        let pos = 0;
        let i = 0;
        while (pos < all.length) {
          const n = Math.min(cuts[i++ % cuts.length], all.length - pos);
          dec.push(all.subarray(pos, pos + n));
          pos += n;
          for (let r = dec.next(); r !== undefined; r = dec.next()) out.push(r.ok ? r.value : r.error.code);
        }
        expect(dec.buffered).toBe(0);
        expectSame(out, msgs.map((m) => (m.type === 'Error' || !m.header.cFlag ? m : 'GIST_INVALID_C_FLAG')));
      }),
      { numRuns: 100 },
    );
  });
});
