/** C-mode framing limits and the JSON view used by `natfw decode`. */
import {
  decodeGistMessage,
  encodeGistMessage,
  gistFramedLength,
  gistMessageToJson,
  GistStreamDecoder,
  unknownObjectsToForward,
  type GistMessage,
} from '../../../gist/codec';
import { typicalMessages } from './fixtures';

const [QUERY, RESPONSE, CONFIRM] = typicalMessages();

describe('GistStreamDecoder (s5.4)', () => {
  test('waits for a whole message, then yields it; back-to-back messages in one push', () => {
    const a = encodeGistMessage(RESPONSE);
    const b = encodeGistMessage(CONFIRM);
    const dec = new GistStreamDecoder();
    dec.push(a.subarray(0, 7));
    expect(dec.next()).toBeUndefined();
    dec.push(a.subarray(7, a.length - 1));
    expect(dec.next()).toBeUndefined();
    dec.push(Buffer.concat([a.subarray(a.length - 1), b]));
    const r1 = dec.next();
    const r2 = dec.next();
    expect(r1?.ok && r1.value.type).toBe('Response');
    expect(r2?.ok && r2.value.type).toBe('Confirm');
    expect(dec.next()).toBeUndefined();
    expect(dec.buffered).toBe(0);
  });
  test('a bad message is consumed and reported; the next one still decodes', () => {
    const bad = encodeGistMessage(CONFIRM);
    bad[0] = 9; // unknown version, framing intact
    const dec = new GistStreamDecoder();
    dec.push(Buffer.concat([bad, encodeGistMessage(RESPONSE)]));
    const r1 = dec.next();
    expect(r1 && !r1.ok && [r1.error.code, r1.error.offset]).toEqual(['GIST_UNKNOWN_VERSION', 0]);
    const r2 = dec.next();
    expect(r2?.ok && r2.value.type).toBe('Response');
  });
  test('returned messages do not alias the stream buffer', () => {
    const dec = new GistStreamDecoder();
    const bytes = encodeGistMessage(CONFIRM);
    dec.push(bytes);
    const r = dec.next();
    if (!r?.ok || r.value.type !== 'Confirm') throw new Error('no Confirm');
    const sid = Buffer.from(r.value.sessionId).toString('hex');
    dec.push(new Uint8Array(bytes.length).fill(0xee));
    expect(Buffer.from(r.value.sessionId).toString('hex')).toBe(sid);
  });
  test('push() asks for backpressure above the high-water mark', () => {
    const dec = new GistStreamDecoder({ highWaterMark: 100 });
    const one = encodeGistMessage(RESPONSE);
    expect(one.length).toBeGreaterThan(100);
    expect(dec.push(one.subarray(0, 50))).toBe(true);
    expect(dec.push(one.subarray(50))).toBe(false);
    expect(dec.next()?.ok).toBe(true);
    expect(dec.push(new Uint8Array(0))).toBe(true);
  });
  test('gistFramedLength', () => {
    const b = encodeGistMessage(QUERY);
    expect(gistFramedLength(b)).toBe(b.length);
    expect(gistFramedLength(b.subarray(0, 7))).toBeUndefined();
  });
});

describe('gistMessageToJson', () => {
  test('RFC field names, objects in wire order, bytes as hex', () => {
    const withUnknown: GistMessage = { ...QUERY, unknownObjects: [{ ab: 2, objectType: 2001, value: new Uint8Array([1, 2, 3, 4]), position: 2 }] };
    const j = JSON.parse(JSON.stringify(gistMessageToJson(withUnknown)));
    expect(j.messageType).toBe('Query');
    expect(j.commonHeader).toEqual({ version: 1, gistHops: 16, messageLength: (encodeGistMessage(withUnknown).length - 8) / 4, nslpId: 33, cFlag: true, type: 0, sFlag: false, rFlag: true, eFlag: false });
    expect(j.objects.map((o: { object: string }) => o.object)).toEqual([
      'Message-Routing-Information',
      'Session-Identifier',
      'unknown',
      'Network-Layer-Information',
      'Query-Cookie',
      'Stack-Proposal',
      'Stack-Configuration-Data',
      'NSLP-Data',
    ]);
    expect(j.objects[0]).toMatchObject({ mrmId: 0, ipVer: 4, sourceAddress: '198.18.0.1', protocol: 17, sourcePort: 5004, destinationPort: 5006, dFlag: false });
    expect(j.objects[2]).toEqual({ object: 'unknown', type: 2001, ab: 2, treatment: 'forward', value: '01020304' });
    expect(j.objects[1].sessionId).toBe('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
  });
  test('the Forwards-TCP port of a Response SCD is shown', () => {
    const j = JSON.parse(JSON.stringify(gistMessageToJson(RESPONSE)));
    const scd = j.objects.find((o: { object: string }) => o.object === 'Stack-Configuration-Data');
    expect(scd.maProtocolOptions[0]).toMatchObject({ maProtocolId: 1, port: 40000, length: 2 });
  });
  test('unknownObjectsToForward keeps AB=10 only', () => {
    const m: GistMessage = {
      ...QUERY,
      unknownObjects: [
        { ab: 1, objectType: 2001, value: new Uint8Array(0), position: 0 },
        { ab: 2, objectType: 2002, value: new Uint8Array(0), position: 1 },
      ],
    };
    const r = decodeGistMessage(encodeGistMessage(m));
    if (!r.ok) throw r.error;
    expect(unknownObjectsToForward(r.value).map((u) => u.objectType)).toEqual([2002]);
  });
});
