/** Byte vectors built by hand from the RFC 5973 s4 figures (and RFC 5981 Figure 5 for SESSION_AUTH). */
import { fromHex, toHex } from '../../../common/bytes';
import { decodeNatfwMessage, encodeNatfwMessage, natfwMessageToJson, type NatfwMessage } from '../../../natfw-nslp/codec';

const hex = (s: string): Uint8Array => {
  const b = fromHex(s);
  if (b === undefined) throw new Error(`bad hex ${s}`);
  return b;
};

function decodeOk(bytes: Uint8Array): NatfwMessage {
  const r = decodeNatfwMessage(bytes);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('NATFW NSLP vectors (RFC 5973 s4)', () => {
  it('CREATE: header (Figure 20), NATFW_LT (22), NATFW_EFI (25), NATFW_MSN (28)', () => {
    const bytes = hex(
      '01 00 00 00' + // type 1 CREATE, P=0 E=0
        '00 0c 00 01  00 00 00 1e' + // AB=00 NATFW_LT, 1 word: 30 s
        '00 0f 00 01  00 01 00 01' + // NATFW_EFI: allow, sub_ports 1
        '00 12 00 01  00 00 00 05', // NATFW_MSN 5
    );
    const m = decodeOk(bytes);
    expect(m).toEqual({
      type: 'CREATE',
      header: { messageType: 1, proxy: false, edge: false },
      lifetime: 30,
      efi: { ruleAction: 'allow', subPorts: 1 },
      msn: 5,
      sessionAuth: [],
      unknownObjects: [],
    });
    expect(toHex(encodeNatfwMessage(m))).toBe(toHex(bytes));
  });

  it('CREATE in proxy mode: P and E flags, NATFW_NONCE (27), NATFW_ICMP_TYPES (30) with padding', () => {
    const bytes = hex(
      '01 c0 00 00' + // P=1 E=1
        '00 0c 00 01  00 00 00 1e' +
        '00 0f 00 01  00 02 00 00' + // deny
        '00 12 00 01  00 00 00 01' +
        '00 11 00 01  de ad be ef' + // NATFW_NONCE
        '00 14 00 01  02 00 08 00', // count 2: types 0, 8, one octet of padding
    );
    const m = decodeOk(bytes);
    expect(m.header).toEqual({ messageType: 1, proxy: true, edge: true });
    expect(m).toMatchObject({ type: 'CREATE', nonce: 0xdeadbeef, icmpTypes: [0, 8], efi: { ruleAction: 'deny', subPorts: 0 } });
    expect(toHex(encodeNatfwMessage(m))).toBe(toHex(bytes));
  });

  it('EXTERNAL: NATFW_DTINFO (Figure 29) with I and P, NATFW_EXTERNAL_BINDING (24)', () => {
    const bytes = hex(
      '02 00 00 00' +
        '00 0c 00 01  00 00 00 3c' +
        '00 12 00 01  00 00 00 01' +
        '00 0f 00 01  00 01 00 00' +
        '00 13 00 03  c0 00 18 11  13 8c 00 00  c6 12 01 00' + // I=1 P=1, prefix 24, UDP; DR port 5004, DS port 0; 198.18.1.0
        '00 0e 00 03  1f 90 40 00  c6 13 00 01  c6 13 00 02', // port 8080, IP-Ver 4, two addresses
    );
    const m = decodeOk(bytes);
    expect(m).toMatchObject({
      type: 'EXTERNAL',
      lifetime: 60,
      dtinfo: { senderPrefix: 24, protocol: 17, drPort: 5004, dsPort: 0, senderAddress: '198.18.1.0' },
      externalBinding: { port: 8080, addresses: ['198.19.0.1', '198.19.0.2'] },
    });
    expect(toHex(encodeNatfwMessage(m))).toBe(toHex(bytes));
  });

  it('EXTERNAL with a 2-word NATFW_DTINFO (wildcard sender, no flags)', () => {
    const bytes = hex('02 00 00 00' + '00 0c 00 01 00 00 00 3c' + '00 12 00 01 00 00 00 01' + '00 0f 00 01 00 01 00 00' + '00 13 00 02 00 00 00 00 00 00 00 00');
    const m = decodeOk(bytes);
    expect(m).toMatchObject({ type: 'EXTERNAL', dtinfo: { senderPrefix: 0, senderAddress: '0.0.0.0' } });
    expect((m as { dtinfo: object }).dtinfo).not.toHaveProperty('protocol');
    expect(toHex(encodeNatfwMessage(m))).toBe(toHex(bytes));
  });

  it('RESPONSE Success: NATFW_INFO (Figure 26) 2/0x01, NATFW_EXTERNAL_IP (23)', () => {
    const bytes = hex(
      '03 00 00 00' +
        '00 0c 00 01  00 00 00 1e' +
        '00 12 00 01  00 00 00 05' +
        '00 10 00 01  02 01 00 00' +
        '00 0d 00 02  13 8c 40 00  c6 12 00 01',
    );
    const m = decodeOk(bytes);
    expect(m).toMatchObject({ type: 'RESPONSE', info: { responseClass: 2, responseCode: 1, objectType: 0 }, externalIp: { port: 5004, address: '198.18.0.1' } });
    expect(toHex(encodeNatfwMessage(m))).toBe(toHex(bytes));
    expect(natfwMessageToJson(m)).toMatchObject({ messageType: 'RESPONSE', objects: expect.arrayContaining([expect.objectContaining({ name: 'SUCCESS_ALL_PROCESSED' })]) });
  });

  it('RESPONSE error 3/0x06 naming the object type, without NATFW_LT', () => {
    const bytes = hex('03 00 00 00' + '00 12 00 01  00 00 00 05' + '00 10 00 01  03 06 00 99');
    const m = decodeOk(bytes);
    expect(m).toMatchObject({ type: 'RESPONSE', info: { responseClass: 3, responseCode: 6, objectType: 0x099 } });
    expect(m).not.toHaveProperty('lifetime');
    expect(natfwMessageToJson(m)).toMatchObject({ objects: expect.arrayContaining([expect.objectContaining({ name: 'PROTOCOL_ERROR_UNKNOWN_OBJECT_PRESENT' })]) });
    expect(toHex(encodeNatfwMessage(m))).toBe(toHex(bytes));
  });

  it('NOTIFY 1/0x05 (Informational, s3.7.5); P flag ignored in NOTIFY', () => {
    const bytes = hex('04 80 00 00' + '00 10 00 01  01 05 00 00');
    const m = decodeOk(bytes);
    expect(m).toEqual({ type: 'NOTIFY', header: { messageType: 4, proxy: false, edge: false }, info: { responseClass: 1, responseCode: 5, objectType: 0 }, sessionAuth: [], unknownObjects: [] });
    expect(toHex(encodeNatfwMessage(m))).toBe('04000000' + '0010000101050000');
  });

  it('CREATE carrying a SESSION_AUTH (RFC 5981 Figure 5) and a forwarded unknown object (AB=10)', () => {
    const sa =
      '80 16 00 10' + // AB=10, type 0x016, 16 words
      '00 08 01 0a  00 00 00 0c' + // AUTH_ENT_ID HMAC_SIGNED, transform 12
      '00 08 03 01  c6 12 00 01' + // SOURCE_ADDR IPV4_ADDRESS 198.18.0.1
      '00 0c 05 01  ec c8 a1 00  80 00 00 00' + // START_TIME NTP_TIMESTAMP
      '00 0a 07 00  00 02 00 0c  00 0f 00 00' + // NSLP_OBJECT_LIST (7), n=2: NATFW_LT, NATFW_EFI, 16-bit padding
      '00 18 08 00  00 00 00 07' + // AUTHENTICATION_DATA (8), Key-ID 7
      '00 11 22 33  44 55 56 77  88 99 aa bb  cc dd ee ff'; // 16-octet MAC
    const bytes = hex('01 00 00 00' + '00 0c 00 01 00 00 00 1e' + '00 0f 00 01 00 01 00 00' + '00 12 00 01 00 00 00 05' + sa + '87 d0 00 01 01 02 03 04');
    const m = decodeOk(bytes);
    expect(m.sessionAuth).toHaveLength(1);
    expect(m.sessionAuth[0].attributes).toEqual([
      { xType: 'AUTH_ENT_ID', subType: 'HMAC_SIGNED', transformId: 12 },
      { xType: 'SOURCE_ADDR', subType: 'IPV4_ADDRESS', address: '198.18.0.1' },
      { xType: 'START_TIME', subType: 'NTP_TIMESTAMP', seconds: 0xecc8a100, fraction: 0x80000000 },
      { xType: 'NSLP_OBJECT_LIST', objectTypes: [0x00c, 0x00f] },
      { xType: 'AUTHENTICATION_DATA', data: hex('00000007 00112233 44555677 8899aabb ccddeeff') },
    ]);
    expect(m.unknownObjects).toEqual([{ ab: 2, type: 0x7d0, value: hex('01020304') }]);
    expect(toHex(encodeNatfwMessage(m))).toBe(toHex(bytes));
  });

  it('drops an unknown AB=01 object and processes the rest', () => {
    const bytes = hex('04 00 00 00' + '47 d1 00 01 ff ff ff ff' + '00 10 00 01 01 01 00 00');
    const m = decodeOk(bytes);
    expect(m).toMatchObject({ type: 'NOTIFY', unknownObjects: [] });
  });
});

describe('SESSION_AUTH is forwarded unchanged (AB=10, RFC 5981 s3.1)', () => {
  it("a decoded message re-encodes another implementation's SESSION_AUTH octet for octet (reserved bits, padding-inside Length)", () => {
    const sa = '80160004' + '0008010a 000f000c' + '00080700 00000000'; // reserved bits set in HMAC_SIGNED; NSLP_OBJECT_LIST Length 8 (padding inside)
    const bytes = hex('04000000' + '00100001 01010000' + sa);
    const m = decodeOk(bytes);
    expect(toHex(encodeNatfwMessage(m))).toBe(toHex(bytes));
    // a message built from copies of the attributes is encoded canonically
    const copy = { ...m, sessionAuth: m.sessionAuth.map((o) => ({ attributes: [...o.attributes] })) };
    expect(toHex(encodeNatfwMessage(copy))).toBe(toHex(hex('04000000' + '00100001 01010000' + '80160004' + '0008010a 0000000c' + '00060700 00000000')));
  });
});
