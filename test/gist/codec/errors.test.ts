/**
 * Every RFC 5971 A.4 error the decoder can detect, with its class, code,
 * subcode, Additional Information and offset; then the Error message built
 * from it (A.4.1: what it echoes).
 */
import {
  buildErrorMessage,
  decodeGistDatagram,
  decodeGistMessage,
  encodeGistDatagram,
  encodeGistMessage,
  GistDecodeError,
  GistStreamDecoder,
  gistErrorFor,
  MessageType,
  type AdditionalInfo,
  type DecodeOptions,
  type GistMessage,
} from '../../../gist/codec';
import { typicalMessages, typicalQuery } from './fixtures';
import { expectSame } from './equal';

interface Tlv {
  type: number;
  bytes: Uint8Array;
}

/** Splits an encoded message (no magic) into header and whole TLVs. */
function split(msg: Uint8Array): { header: Uint8Array; tlvs: Tlv[] } {
  const tlvs: Tlv[] = [];
  let p = 8;
  while (p < msg.length) {
    const len = 4 + (((msg[p + 2] & 0x0f) << 8) | msg[p + 3]) * 4;
    tlvs.push({ type: ((msg[p] & 0x0f) << 8) | msg[p + 1], bytes: msg.slice(p, p + len) });
    p += len;
  }
  return { header: msg.slice(0, 8), tlvs };
}

/** Header + TLVs with a correct Message Length. */
function assemble(header: Uint8Array, tlvs: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(tlvs);
  const out = new Uint8Array(8 + body.length);
  out.set(header);
  out.set(body, 8);
  out[2] = (body.length / 4) >> 8;
  out[3] = (body.length / 4) & 0xff;
  return out;
}

function parts(m: GistMessage) {
  return split(encodeGistMessage(m));
}

function rebuild(m: GistMessage, edit: (tlvs: Tlv[]) => (Tlv | Uint8Array)[], headerEdit?: (h: Uint8Array) => void): Uint8Array {
  const { header, tlvs } = parts(m);
  headerEdit?.(header);
  return assemble(
    header,
    edit(tlvs).map((t) => (t instanceof Uint8Array ? t : t.bytes)),
  );
}

function offsetOf(bytes: Uint8Array, type: number, nth = 0): number {
  let p = 8;
  let seen = 0;
  while (p < bytes.length) {
    const t = ((bytes[p] & 0x0f) << 8) | bytes[p + 1];
    if (t === type && seen++ === nth) return p;
    p += 4 + (((bytes[p + 2] & 0x0f) << 8) | bytes[p + 3]) * 4;
  }
  throw new Error(`no object of type ${type}`);
}

function decodeErr(bytes: Uint8Array, opts?: DecodeOptions): GistDecodeError {
  const r = decodeGistMessage(bytes, opts);
  if (r.ok) throw new Error(`decoded although it should fail: ${r.value.type}`);
  expect(r.error).toBeInstanceOf(GistDecodeError);
  return r.error;
}

function expectError(
  e: GistDecodeError,
  want: { errorClass: number; errorCode: number; subcode?: number; offset?: number; objectType?: number; code?: string; ai?: AdditionalInfo[] },
): void {
  expect({ errorClass: e.errorClass, errorCode: e.errorCode, subcode: e.subcode }).toEqual({ errorClass: want.errorClass, errorCode: want.errorCode, subcode: want.subcode });
  if (want.offset !== undefined) expect(e.offset).toBe(want.offset);
  if (want.objectType !== undefined) expect(e.objectType).toBe(want.objectType);
  if (want.code !== undefined) expect(e.code).toBe(want.code);
  if (want.ai !== undefined) expectSame(e.additionalInfo, want.ai);
}

const [QUERY, RESPONSE, CONFIRM, DATA, MA_HELLO] = typicalMessages();
const QUERY_BYTES = encodeGistMessage(QUERY);
const withHeader = (bytes: Uint8Array, f: (h: Uint8Array) => void): Uint8Array => {
  const c = bytes.slice();
  f(c);
  return c;
};
const CHPE = (subcode: number) => ({ errorClass: 2, errorCode: 1, subcode });
const OTE = (subcode: number, objectType: number) => ({ errorClass: 2, errorCode: 9, subcode, objectType, ai: [{ kind: 'ObjectTypeInfo' as const, objectType }] });
const OVE = (subcode: number, objectType: number) => ({ errorClass: 2, errorCode: 10, subcode, objectType });

describe('A.4.4.1 Common Header Parse Error (class 2, code 1)', () => {
  test('subcode 0: unknown version', () => {
    const e = decodeErr(withHeader(QUERY_BYTES, (b) => (b[0] = 2)));
    expectError(e, { ...CHPE(0), offset: 0, code: 'GIST_UNKNOWN_VERSION', ai: [] });
    expect(e.commonHeader?.version).toBe(2);
    expect(e.sessionId).toBeUndefined();
    expect(e.mri).toBeUndefined();
  });
  test.each([6, 55, 127])('subcode 1: unknown type %i', (t) => {
    expectError(decodeErr(withHeader(QUERY_BYTES, (b) => (b[6] = 0x80 | t))), { ...CHPE(1), offset: 6, code: 'GIST_UNKNOWN_TYPE' });
  });
  test('subcode 2: R=0 in a Query', () => {
    expectError(decodeErr(withHeader(QUERY_BYTES, (b) => (b[7] &= ~0x40))), { ...CHPE(2), offset: 7, code: 'GIST_INVALID_R_FLAG' });
  });
  test.each([
    ['Confirm', CONFIRM],
    ['Data', DATA],
  ])('subcode 2: R=1 in a %s', (_n, m) => {
    expectError(decodeErr(withHeader(encodeGistMessage(m), (b) => (b[7] |= 0x40))), { ...CHPE(2), offset: 7 });
  });
  test('subcode 2: R=0 in a Response carrying a Responder-Cookie (A.1)', () => {
    expectError(decodeErr(withHeader(encodeGistMessage(RESPONSE), (b) => (b[7] &= ~0x40))), CHPE(2));
  });
  test('subcode 3: Message Length larger than the bytes, with the calculated length', () => {
    const b = withHeader(QUERY_BYTES, (x) => (x[3] += 1));
    expectError(decodeErr(b), { ...CHPE(3), offset: 2, code: 'GIST_INCORRECT_MSG_LENGTH', ai: [{ kind: 'MessageLengthInfo', calculatedLength: (QUERY_BYTES.length - 8) / 4 }] });
  });
  test('subcode 3: datagram with trailing bytes', () => {
    const dg = Buffer.concat([encodeGistDatagram(QUERY), Buffer.from([0, 0, 0, 0])]);
    const r = decodeGistDatagram(dg);
    expect(r.ok).toBe(false);
    if (!r.ok) expectError(r.error, { ...CHPE(3), offset: 4 + 2 });
  });
  test('subcode 3: an object running past the Message Length', () => {
    const b = rebuild(QUERY, (t) => t);
    const at = offsetOf(b, 8);
    b[at + 3] += 1; // NSLP-Data claims one word more than there is
    const e = decodeErr(b);
    expectError(e, { ...CHPE(3), offset: at + 2, ai: [{ kind: 'MessageLengthInfo', calculatedLength: (b.length - 8) / 4 + 1 }] });
    // A.4.4.1: a Common Header Parse Error never echoes MRI or SID.
    expect(e.sessionId).toBeUndefined();
    expect(e.mri).toBeUndefined();
  });
  test('subcode 3: fewer bytes than a common header', () => {
    expectError(decodeErr(QUERY_BYTES.subarray(0, 5)), CHPE(3));
  });
  test('subcode 4: E=1 outside Data', () => {
    expectError(decodeErr(withHeader(QUERY_BYTES, (b) => (b[7] |= 0x20))), { ...CHPE(4), offset: 7, code: 'GIST_INVALID_E_FLAG' });
    expect(decodeGistMessage(withHeader(encodeGistMessage(DATA), (b) => (b[7] |= 0x20))).ok).toBe(true);
  });
  test('subcode 5: C=0 in a Query, C=1 in a Response', () => {
    expectError(decodeErr(withHeader(QUERY_BYTES, (b) => (b[6] &= 0x7f))), { ...CHPE(5), offset: 6, code: 'GIST_INVALID_C_FLAG' });
    expectError(decodeErr(withHeader(encodeGistMessage(RESPONSE), (b) => (b[6] |= 0x80))), CHPE(5));
  });
  test('subcode 5: C=1 on a Data in C-mode or normal D-mode, C=0 on a Q-mode Data', () => {
    const cData = withHeader(encodeGistMessage({ ...DATA, nli: undefined } as GistMessage), (b) => (b[6] |= 0x80));
    expectError(decodeErr(cData, { encapsulation: 'C' }), CHPE(5));
    const dData = withHeader(encodeGistMessage(DATA), (b) => (b[6] |= 0x80));
    expectError(decodeErr(dData, { encapsulation: 'D' }), CHPE(5));
    expect(decodeGistMessage(dData, { encapsulation: 'Q' }).ok).toBe(true);
    expectError(decodeErr(encodeGistMessage(DATA), { encapsulation: 'Q' }), CHPE(5));
  });
});

describe('A.4.4.2 Hop Limit Exceeded (class 4, code 2)', () => {
  test('a message arriving with GIST hop count 0, echoing SID and MRI', () => {
    const e = decodeErr(withHeader(QUERY_BYTES, (b) => (b[1] = 0)));
    expectError(e, { errorClass: 4, errorCode: 2, offset: 1, code: 'GIST_HOP_LIMIT_EXCEEDED', ai: [] });
    expectSame(e.sessionId, QUERY.type === 'Query' ? QUERY.sessionId : undefined);
    expectSame(e.mri, typicalQuery().mri);
  });
});

describe('A.4.4.3 Incorrect Encapsulation (class 2, code 3)', () => {
  test.each([
    ['Query in C-mode', QUERY, 'C'],
    ['Query in normal D-mode', QUERY, 'D'],
    ['MA-Hello in D-mode', MA_HELLO, 'datagram'],
    ['Response Q-mode encapsulated', RESPONSE, 'Q'],
    ['Confirm Q-mode encapsulated', CONFIRM, 'Q'],
  ] as const)('%s', (_n, m, enc) => {
    expectError(decodeErr(encodeGistMessage(m), { encapsulation: enc }), { errorClass: 2, errorCode: 3, code: 'GIST_INCORRECT_ENCAPSULATION' });
  });
  test('decodeGistDatagram applies it', () => {
    const r = decodeGistDatagram(encodeGistDatagram(MA_HELLO));
    expect(!r.ok && r.error.errorCode).toBe(3);
    const q = decodeGistDatagram(encodeGistDatagram(QUERY), { qMode: false });
    expect(!q.ok && q.error.errorCode).toBe(3);
    expect(decodeGistDatagram(encodeGistDatagram(QUERY), { qMode: true }).ok).toBe(true);
  });
  test('the stream decoder applies it (a Query over an MA)', () => {
    const s = new GistStreamDecoder();
    s.push(QUERY_BYTES);
    const r = s.next();
    expect(r && !r.ok && r.error.code).toBe('GIST_INCORRECT_ENCAPSULATION');
  });
});

describe('A.4.4.9 Object Type Error (class 2, code 9) with Object Type Info', () => {
  test('subcode 0: duplicate Session ID', () => {
    const b = rebuild(QUERY, (t) => [t[0], t[1], t[1], ...t.slice(2)]);
    expectError(decodeErr(b), { ...OTE(0, 1), offset: offsetOf(b, 1, 1), code: 'GIST_DUPLICATE_OBJECT' });
  });
  test('subcode 1: unknown object with AB=00', () => {
    const unknown = new Uint8Array([0x00, 0x0b, 0x00, 0x01, 1, 2, 3, 4]); // type 11, AB=00
    const b = rebuild(QUERY, (t) => [...t.slice(0, 3), unknown, ...t.slice(3)]);
    expectError(decodeErr(b), { ...OTE(1, 11), offset: offsetOf(b, 11), code: 'GIST_UNRECOGNISED_OBJECT' });
  });
  test('AB=01 and AB=10 unknown objects are kept raw with their flags; the message decodes', () => {
    const ignore = new Uint8Array([0x47, 0xd0, 0x00, 0x01, 1, 2, 3, 4]); // AB=01 type 2000
    const forward = new Uint8Array([0x8f, 0xff, 0x00, 0x00]); // AB=10 type 4095, empty
    const b = rebuild(QUERY, (t) => [t[0], ignore, ...t.slice(1), forward]);
    const r = decodeGistMessage(b);
    if (!r.ok) throw r.error;
    expectSame(r.value.unknownObjects, [
      { ab: 1, objectType: 2000, value: new Uint8Array([1, 2, 3, 4]), position: 1 },
      { ab: 2, objectType: 4095, value: new Uint8Array(0), position: 7 },
    ]);
    expect(Buffer.from(encodeGistMessage(r.value)).equals(b)).toBe(true);
  });
  test.each([
    ['Query-Cookie from a Query', QUERY, 5],
    ['MRI from a Query', QUERY, 0],
    ['NLI from a Confirm', CONFIRM, 2],
    ['NSLP-Data from a Data', DATA, 8],
    ['Hello-ID from an MA-Hello', MA_HELLO, 10],
  ] as const)('subcode 2: %s missing', (_n, m, type) => {
    const b = rebuild(m, (t) => t.filter((x) => x.type !== type));
    expectError(decodeErr(b), { ...OTE(2, type), offset: b.length, code: 'GIST_MISSING_OBJECT' });
  });
  test('subcode 2: Stack-Proposal without Stack-Configuration-Data and vice versa (A.4.4.9)', () => {
    expectError(decodeErr(rebuild(QUERY, (t) => t.filter((x) => x.type !== 4))), OTE(2, 4));
    expectError(decodeErr(rebuild(QUERY, (t) => t.filter((x) => x.type !== 3))), OTE(2, 3));
  });
  test('subcode 2: Response with Stack-Proposal but no Responder-Cookie', () => {
    expectError(decodeErr(rebuild(RESPONSE, (t) => t.filter((x) => x.type !== 6)), { encapsulation: undefined }), OTE(2, 6));
  });
  test('subcode 2: Confirm with Stack-Configuration-Data but no Stack-Proposal', () => {
    expectError(decodeErr(rebuild(CONFIRM, (t) => t.filter((x) => x.type !== 3))), OTE(2, 3));
  });
  test('subcode 2: D-mode Data and Error without NLI (s5.1)', () => {
    const data = rebuild(DATA, (t) => t.filter((x) => x.type !== 2));
    expect(decodeGistMessage(data, { encapsulation: 'C' }).ok).toBe(true);
    expectError(decodeErr(data, { encapsulation: 'D' }), OTE(2, 2));
    const err = buildErrorMessage(decodeErr(withHeader(QUERY_BYTES, (b) => (b[1] = 0))));
    const bytes = encodeGistMessage({ ...err, nli: undefined });
    expect(decodeGistMessage(bytes).ok).toBe(true);
    expectError(decodeErr(bytes, { encapsulation: 'datagram' }), OTE(2, 2));
  });
  test('subcode 3: an object not allowed in the message type', () => {
    const hello = new Uint8Array([0x00, 0x0a, 0x00, 0x01, 0, 0, 0, 1]);
    const b = rebuild(QUERY, (t) => [...t, hello]);
    expectError(decodeErr(b), { ...OTE(3, 10), offset: offsetOf(b, 10), code: 'GIST_INVALID_OBJECT_TYPE' });
    const rc = new Uint8Array([0x00, 0x06, 0x00, 0x00]);
    expectError(decodeErr(rebuild(QUERY, (t) => [...t.slice(0, 5), rc, ...t.slice(5)])), OTE(3, 6));
  });
  test('subcode 3: objects out of the s5.1 order', () => {
    const b = rebuild(QUERY, (t) => [t[1], t[0], ...t.slice(2)]); // SID before MRI
    expectError(decodeErr(b), { ...OTE(3, 0), offset: offsetOf(b, 0) });
  });
  test('subcode 3: NLI in a C-mode Data (s5.1)', () => {
    expectError(decodeErr(encodeGistMessage(DATA), { encapsulation: 'C' }), OTE(3, 2));
  });
  test('subcode 5: AB=11, even on a known object', () => {
    const b = rebuild(QUERY, (t) => t);
    const at = offsetOf(b, 1);
    b[at] |= 0xc0;
    expectError(decodeErr(b), { ...OTE(5, 1), offset: at, code: 'GIST_INVALID_EXTENSIBILITY_FLAGS' });
  });
  test('the error echoes the MRI decoded before the failure, and the NAT-Traversal object', () => {
    const b = rebuild(QUERY, (t) => t.filter((x) => x.type !== 5));
    const e = decodeErr(b);
    expectSame(e.mri, typicalQuery().mri);
    expectSame(e.sessionId, typicalQuery().sessionId);
  });
});

describe('A.4.4.10 Object Value Error (class 2, code 10) with Object Value Info', () => {
  /** Replace the value of the first object of `type` in the Query by `value` (a whole number of words). */
  function withValue(type: number, value: Uint8Array, m: GistMessage = QUERY): { bytes: Uint8Array; at: number } {
    const b = rebuild(m, (t) =>
      t.map((x) => {
        if (x.type !== type) return x;
        const o = new Uint8Array(4 + value.length);
        o.set(x.bytes.subarray(0, 2));
        o[2] = (value.length / 4) >> 8;
        o[3] = (value.length / 4) & 0xff;
        o.set(value, 4);
        return o;
      }),
    );
    return { bytes: b, at: offsetOf(b, type) };
  }
  function expectOve(bytes: Uint8Array, at: number, subcode: number, type: number, offsetInObject: number, code?: string): void {
    const e = decodeErr(bytes);
    const len = 4 + (((bytes[at + 2] & 0x0f) << 8) | bytes[at + 3]) * 4;
    expectError(e, { ...OVE(subcode, type), offset: at + offsetInObject, code, ai: [{ kind: 'ObjectValueInfo', realObjectLength: len / 4, offset: offsetInObject, object: bytes.slice(at, at + len) }] });
  }
  const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));

  test('subcode 0: Session ID of 5 words', () => {
    const { bytes, at } = withValue(1, new Uint8Array(20));
    expectOve(bytes, at, 0, 1, 4, 'GIST_INCORRECT_OBJECT_LENGTH');
  });
  test('subcode 0: MRI whose flags need more words than the Length gives', () => {
    const { bytes, at } = withValue(0, hex('0000 4800 c6120001 c6120002 20201100')); // P=1, no port word: 4 words
    bytes[at + 7] = 0x80; // A=1 now requires the port word (5 words)
    expectOve(bytes, at, 0, 0, 4);
  });
  test('subcode 0: NLI whose PI-Length does not fit', () => {
    const { bytes, at } = withValue(2, hex('08 40 40 00 00007530 01020304 c6120001'));
    expectOve(bytes, at, 0, 2, 4);
  });
  test('subcode 0: Stack-Proposal profile running past the object', () => {
    const { bytes, at } = withValue(3, hex('01000000 05010203'));
    expectOve(bytes, at, 0, 3, 8);
  });
  test('subcode 0: Hello-ID of 2 words', () => {
    const { bytes, at } = withValue(10, new Uint8Array(8), MA_HELLO);
    expectOve(bytes, at, 0, 10, 4);
  });
  test('subcode 1: unknown MRM-ID', () => {
    const { bytes, at } = withValue(0, hex('07004000 c6120001 c6120002'));
    expectOve(bytes, at, 1, 0, 4, 'GIST_VALUE_NOT_SUPPORTED');
  });
  test('subcode 1: MRI IP-Ver 5', () => {
    const { bytes, at } = withValue(0, hex('00005000 c6120001 c6120002 20200000'));
    expectOve(bytes, at, 1, 0, 6);
  });
  test('subcode 1: MRI prefix longer than the address', () => {
    const { bytes, at } = withValue(0, hex('00004000 c6120001 c6120002 21200000'));
    expectOve(bytes, at, 1, 0, 16);
  });
  test('subcode 1: Stack-Proposal with Prof-Count 0', () => {
    const { bytes, at } = withValue(3, hex('00000000'));
    expectOve(bytes, at, 1, 3, 4);
  });
  test('subcode 1: Routing State Validity Time 0 and MA-Hold-Time 0 (reserved)', () => {
    const n = withValue(2, hex('00404000 00000000 c6120001'));
    expectOve(n.bytes, n.at, 1, 2, 8);
    const s = withValue(4, hex('00000000 00000000'));
    expectOve(s.bytes, s.at, 1, 4, 8);
  });
  test('subcode 1: MA-Hello request (R=1) with Hello-ID 0 (s5.2.2)', () => {
    const { bytes, at } = withValue(10, hex('00000000'), MA_HELLO);
    expectOve(bytes, at, 1, 10, 4);
    // R=0 with Hello-ID 0 is a plain keepalive.
    expect(decodeGistMessage(withHeader(bytes, (b) => (b[7] &= ~0x40))).ok).toBe(true);
  });
  test.each([
    ['F with IPv4', '00004200 c6120001 c6120002 20200000 00012345', 6],
    ['S without P', '00004100 c6120001 c6120002 20200000 00001000', 6],
    ['A without P', '00004080 c6120001 c6120002 20200000 13880000', 7],
    ['B without P', '00004040 c6120001 c6120002 20200000 00001388', 7],
  ])('subcode 2: path-coupled MRI %s', (_n, value, off) => {
    const { bytes, at } = withValue(0, hex(value));
    expectOve(bytes, at, 2, 0, off, 'GIST_INVALID_FLAG_FIELD_COMBINATION');
  });
  test('subcode 3: empty Stack-Proposal profile', () => {
    const { bytes, at } = withValue(3, hex('01000000 00000000'));
    expectOve(bytes, at, 3, 3, 8, 'GIST_EMPTY_LIST');
  });
  const ERROR_MSG = buildErrorMessage(decodeErr(withHeader(QUERY_BYTES, (b) => (b[1] = 0))), { encapsulation: 'Q', nli: typicalQuery().nli });
  const HDR = '01100031 00218040'; // an original common header
  test('subcode 2: Error object with Q=1 but D=0 (A.4.1)', () => {
    const { bytes, at } = withValue(9, hex(`04000200 08000000 ${HDR}`), ERROR_MSG);
    expectOve(bytes, at, 2, 9, 8);
  });
  test('subcode 2: Error object with an MRI Length but M=0', () => {
    const { bytes, at } = withValue(9, hex(`04000200 00000300 ${HDR} 01004000 c6120001 c6120002`), ERROR_MSG);
    expectOve(bytes, at, 2, 9, 10);
  });
  test('subcode 0: Error object with C=1 but no NUL-terminated comment', () => {
    const { bytes, at } = withValue(9, hex(`04000200 20000000 ${HDR} 41424344`), ERROR_MSG);
    expectOve(bytes, at, 0, 9, 20);
  });
  test('subcode 0: Error object whose Info Count promises more fields than fit', () => {
    const { bytes, at } = withValue(9, hex(`04000200 00000002 ${HDR} 00020001 05dc0000`), ERROR_MSG);
    expectOve(bytes, at, 0, 9, 11);
  });
  test('subcode 0: Stack-Configuration-Data options running past the object', () => {
    const { bytes, at } = withValue(4, hex('01000000 00007530 01010800 00000000'));
    expectOve(bytes, at, 0, 4, 14);
  });
  test('subcode 0: NAT-Traversal MRI-Length past the object', () => {
    const q = { ...QUERY, natTraversal: { originalMri: typicalQuery().mri, translatedObjects: [], natInformation: [] } } as GistMessage;
    const { bytes, at } = withValue(7, hex('09000000 00004000 c6120001 c6120002'), q);
    expectOve(bytes, at, 0, 7, 4);
  });
  test('an invalid MRI inside a NAT-Traversal object is reported against the NAT-Traversal object', () => {
    const q = { ...QUERY, natTraversal: { originalMri: typicalQuery().mri, translatedObjects: [2], natInformation: [] } } as GistMessage;
    const { bytes, at } = withValue(7, hex('03000000 00004200 c6120001 c6120002'), q);
    expect(decodeErr(bytes).objectType).toBe(7);
    expectOve(bytes, at, 2, 7, 10);
  });
});

describe('datagram framing (s5.3.1)', () => {
  test('no magic number: silent drop, not answered', () => {
    for (const bad of [QUERY_BYTES, new Uint8Array(0), new Uint8Array([0x4e, 0x04, 0xbd])]) {
      const r = decodeGistDatagram(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('GIST_NO_MAGIC');
        expect(r.error.reply).toBe(false);
        expect(() => buildErrorMessage(r.error)).toThrow(/GIST_NO_MAGIC/);
      }
    }
  });
});

describe('buildErrorMessage (s5.6, A.4.1)', () => {
  test('an Object Type Error reply echoes header, SID, MRI and Object Type Info and round-trips', () => {
    const bytes = rebuild(QUERY, (t) => t.filter((x) => x.type !== 5));
    const e = decodeErr(bytes);
    const nli = typicalQuery().nli;
    const msg = buildErrorMessage(e, { encapsulation: 'Q', nli });
    expect(msg.header).toMatchObject({ nslpId: 0, messageType: MessageType.Error, rFlag: false, cFlag: false });
    const r = decodeGistDatagram(encodeGistDatagram(msg), { qMode: false });
    if (!r.ok) throw r.error;
    if (r.value.type !== 'Error') throw new Error('not an Error');
    const eo = r.value.error;
    expect([eo.errorClass, eo.errorCode, eo.errorSubcode, eo.dMode, eo.qMode]).toEqual([2, 9, 2, true, true]);
    expectSame(eo.commonHeader, { ...QUERY.header, messageLength: (bytes.length - 8) / 4 });
    expectSame(eo.sessionId, typicalQuery().sessionId);
    expectSame(eo.mri, typicalQuery().mri);
    expectSame(eo.additionalInfo, [{ kind: 'ObjectTypeInfo', objectType: 5 }]);
    expectSame(r.value.nli, nli);
  });
  test('a Common Header Parse Error reply carries no SID/MRI, and the Message Length Info for subcode 3', () => {
    const e = decodeErr(withHeader(QUERY_BYTES, (b) => (b[3] += 2)));
    const msg = buildErrorMessage(e, { encapsulation: 'C' });
    expect(msg.error.sessionId).toBeUndefined();
    expect(msg.error.mri).toBeUndefined();
    expect(msg.error.dMode).toBe(false);
    expectSame(msg.error.additionalInfo, [{ kind: 'MessageLengthInfo', calculatedLength: (QUERY_BYTES.length - 8) / 4 }]);
  });
  test('the NAT-Traversal object of the offending message comes back as the first TLV (s7.2.3)', () => {
    const nat = { originalMri: typicalQuery().mri, translatedObjects: [2], natInformation: [new Uint8Array([1])] };
    const q = { ...QUERY, natTraversal: nat } as GistMessage;
    const e = decodeErr(rebuild(q, (t) => t.filter((x) => x.type !== 5)));
    const bytes = encodeGistMessage(buildErrorMessage(e, { encapsulation: 'Q', nli: typicalQuery().nli }));
    expect(split(bytes).tlvs.map((t) => t.type)).toEqual([7, 2, 9]);
  });
  test('gistErrorFor: errors the core detects after decoding (No Routing State, MRI Validation Failure)', () => {
    const nrs = buildErrorMessage(gistErrorFor(DATA, 5), { encapsulation: 'D', nli: typicalQuery().nli });
    expect([nrs.error.errorClass, nrs.error.errorCode]).toEqual([2, 5]);
    expectSame(nrs.error.sessionId, typicalQuery().sessionId);
    const mv = gistErrorFor(QUERY, 12, 0, [{ kind: 'ObjectValueInfo', realObjectLength: 1, offset: 0, object: new Uint8Array(4) }]);
    expect([mv.errorClass, mv.errorCode, mv.subcode, mv.code]).toEqual([4, 12, 0, 'GIST_MRI_VALIDATION_FAILURE']);
    expect(mv.commonHeader?.messageLength).toBe((QUERY_BYTES.length - 8) / 4);
  });
});
