/** SESSION_AUTH codec (RFC 5981 s3): vectors, the X-Type numbering trap, round trip, mutation. */
import fc from 'fast-check';
import { fromHex, toHex } from '../../common/bytes';
import { decodeSessionAuth, encodeSessionAuth, ntpToUnixMs, sessionAuthToJson, unixMsToNtp, XType, type SessionAuthObject } from '../../natfw-nslp/auth/codec';
import { NatfwDecodeError, NatfwResponse } from '../../natfw-nslp/codec';
import * as A from '../natfw-nslp/codec/arbitraries';

const hex = (s: string): Uint8Array => fromHex(s) ?? new Uint8Array();

describe('SESSION_AUTH codec', () => {
  it('decodes a hand-built HMAC_SIGNED object (Figure 5) with the registry X-Types (NSLP_OBJECT_LIST 7, AUTHENTICATION_DATA 8)', () => {
    expect(XType.NSLP_OBJECT_LIST).toBe(7);
    expect(XType.AUTHENTICATION_DATA).toBe(8);
    const bytes = hex(
      '80 16 00 15' + // AB=10, SESSION_AUTH_OBJECT 0x016, 21 words
        '00 08 01 0a  00 00 00 0c' + // AUTH_ENT_ID / HMAC_SIGNED, reserved, Transform ID 12
        '00 0e 01 03  6e 61 74 66  77 2e 74 65  73 74 00 00' + // AUTH_ENT_ID / FQDN "natfw.test" (Length 14, 2 octets of padding)
        '00 08 04 01  c6 12 00 07' + // DEST_ADDR / IPV4_ADDRESS
        '00 08 04 04  13 8c 13 8d' + // DEST_ADDR / TCP_PORT_LIST 5004, 5005
        '00 0c 06 01  ec c8 a1 00  00 00 00 00' + // END_TIME / NTP_TIMESTAMP
        '00 08 07 00  00 00 00 00' + // NSLP_OBJECT_LIST n=0: count + 16-bit padding, drawn inside Length as in the s3.2.7 figure
        '00 18 08 00  00 00 00 2a  01 02 03 04  05 06 07 08  09 0a 0b 0c  0d 0e 0f 10',
    );
    const r = decodeSessionAuth(bytes);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.attributes).toEqual([
      { xType: 'AUTH_ENT_ID', subType: 'HMAC_SIGNED', transformId: 12 },
      { xType: 'AUTH_ENT_ID', subType: 'FQDN', name: 'natfw.test' },
      { xType: 'DEST_ADDR', subType: 'IPV4_ADDRESS', address: '198.18.0.7' },
      { xType: 'DEST_ADDR', subType: 'TCP_PORT_LIST', ports: [5004, 5005] },
      { xType: 'END_TIME', subType: 'NTP_TIMESTAMP', seconds: 0xecc8a100, fraction: 0 },
      { xType: 'NSLP_OBJECT_LIST', objectTypes: [] },
      { xType: 'AUTHENTICATION_DATA', data: hex('0000002a 0102030405060708090a0b0c0d0e0f10') },
    ]);
    // The Figure's padding-inside Length (8) is accepted. A decoded object is re-encoded exactly as it
    // arrived (AB=10: forwarded unchanged, its MAC covers those octets); one built in code gets the
    // s3.2 form, Length 6 (rfc-traps.md).
    expect(toHex(encodeSessionAuth(r.value))).toBe(toHex(bytes));
    const rebuilt = encodeSessionAuth({ attributes: [...r.value.attributes] });
    expect(toHex(rebuilt)).toBe(toHex(bytes).replace('0008070000000000', '0006070000000000'));
    const json = sessionAuthToJson(r.value) as { attributes: Array<Record<string, unknown>> };
    expect(json.attributes[6]).toMatchObject({ keyId: 42, mac: '0102030405060708090a0b0c0d0e0f10' });
  });

  it('NSLP_OBJECT_LIST: odd count has no padding, even count 16 bits of padding outside Length', () => {
    const odd = encodeSessionAuth({ attributes: [{ xType: 'NSLP_OBJECT_LIST', objectTypes: [0x00c] }] });
    expect(toHex(odd)).toBe('80160002' + '00080700' + '0001000c');
    const even = encodeSessionAuth({ attributes: [{ xType: 'NSLP_OBJECT_LIST', objectTypes: [0x00c, 0x00f] }] });
    expect(toHex(even)).toBe('80160003' + '000a0700' + '0002000c' + '000f0000');
  });

  it('rejects an attribute after AUTHENTICATION_DATA, Length <= 4, Length past the end, and bad fixed sizes', () => {
    const cases: Array<[string, typeof NatfwResponse.WRONG_OBJECT_LENGTH]> = [
      ['80160004 00060800 abcd0000 00080301 c6120001', NatfwResponse.INVALID_FLAG_FIELD_COMBINATION],
      ['80160001 00040100', NatfwResponse.WRONG_OBJECT_LENGTH],
      ['80160001 00090100', NatfwResponse.WRONG_OBJECT_LENGTH],
      ['80160002 00070301 c6120000', NatfwResponse.WRONG_OBJECT_LENGTH],
      ['80160002 00080105 ffffffff', NatfwResponse.UNKNOWN_OBJECT_FIELD_VALUE],
      ['80160003 00090380 c6120000 21000000', NatfwResponse.UNKNOWN_OBJECT_FIELD_VALUE],
      ['c0160000', NatfwResponse.INVALID_FLAG_FIELD_COMBINATION],
      ['80160002 00080100', NatfwResponse.WRONG_OBJECT_LENGTH],
    ];
    for (const [h, want] of cases) {
      const r = decodeSessionAuth(hex(h));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toBeInstanceOf(NatfwDecodeError);
        expect([h, r.error.responseClass, r.error.responseCode]).toEqual([h, want.responseClass, want.responseCode]);
        expect(r.error.objectType).toBe(0x016);
      }
    }
  });

  it('round-trips every attribute type and sub-type (fast-check)', () => {
    fc.assert(
      fc.property(A.sessionAuth, (sa: SessionAuthObject) => {
        const b = encodeSessionAuth(sa);
        expect(b.length % 4).toBe(0);
        const d = decodeSessionAuth(b);
        if (!d.ok) throw new Error(d.error.message);
        expect(d.value).toEqual(sa);
        expect(toHex(encodeSessionAuth(d.value))).toBe(toHex(b));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on mutated objects (3000 cases)', () => {
    fc.assert(
      fc.property(A.sessionAuth, fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 64 }), (sa, where, v, cut) => {
        const b = encodeSessionAuth(sa);
        const c = b.slice(0, Math.max(0, b.length - (cut % (b.length + 1))));
        if (c.length > 0) c[where % c.length] = v;
        const r = decodeSessionAuth(c);
        if (!r.ok) expect(r.error).toBeInstanceOf(NatfwDecodeError);
      }),
      { numRuns: 3000 },
    );
  });

  it('NTP timestamps: Unix ms round trip (ms resolution) across the 2036 era boundary', () => {
    for (const ms of [0, Date.UTC(2026, 10, 23, 2, 0, 0, 123), Date.UTC(2036, 1, 7, 6, 28, 15), Date.UTC(2036, 1, 7, 6, 28, 17), Date.UTC(2090, 0, 1)]) {
      expect(ntpToUnixMs(unixMsToNtp(ms))).toBe(ms);
    }
    expect(unixMsToNtp(Date.UTC(1970, 0, 1)).seconds).toBe(2208988800);
  });
});
