/** Each error RESPONSE class/code that RFC 5973 s4 prescribes for a malformed message. */
import { fromHex } from '../../../common/bytes';
import { decodeNatfwMessage, lookupResponse, NatfwResponse, RESPONSE_CODES, type ResponseCodeInfo } from '../../../natfw-nslp/codec';

const LT = '000c0001 0000001e';
const EFI = '000f0001 00010000';
const MSN = '00120001 00000005';
const INFO_OK = '00100001 02010000';

function expectError(h: string, r: ResponseCodeInfo, offset?: number, objectType?: number): void {
  const bytes = fromHex(h);
  if (bytes === undefined) throw new Error('bad hex');
  const res = decodeNatfwMessage(bytes);
  expect(res.ok).toBe(false);
  if (res.ok) return;
  expect([res.error.responseClass, res.error.responseCode]).toEqual([r.responseClass, r.responseCode]);
  expect(res.error.code).toBe(`NATFW_${r.id}`);
  if (offset !== undefined) expect(res.error.offset).toBe(offset);
  if (objectType !== undefined) expect(res.error.objectType).toBe(objectType);
}

describe('NATFW decode errors carry the RFC 5973 response class/code', () => {
  it('3/0x02 wrong message length: empty, short, not word aligned', () => {
    expectError('', NatfwResponse.WRONG_MESSAGE_LENGTH, 0);
    expectError('0100', NatfwResponse.WRONG_MESSAGE_LENGTH, 0);
    expectError('01000000 000c', NatfwResponse.WRONG_MESSAGE_LENGTH);
  });
  it('3/0x01 illegal message type (0, 5, 255)', () => {
    for (const t of ['00', '05', 'ff']) expectError(`${t}000000`, NatfwResponse.ILLEGAL_MESSAGE_TYPE, 0);
  });
  it('3/0x07 wrong object length: runs past the end, or wrong for the type', () => {
    expectError(`01000000 000c0002 0000001e`, NatfwResponse.WRONG_OBJECT_LENGTH, 4, 0x00c);
    expectError(`01000000 000c0002 0000001e 00000000 ${EFI} ${MSN}`, NatfwResponse.WRONG_OBJECT_LENGTH, 4, 0x00c);
    expectError(`02000000 ${LT} ${MSN} ${EFI} 00130003 80000000 00000000 00000000`, NatfwResponse.WRONG_OBJECT_LENGTH, undefined, 0x013);
    expectError(`01000000 ${LT} ${EFI} ${MSN} 00140001 05010203`, NatfwResponse.WRONG_OBJECT_LENGTH, undefined, 0x014);
  });
  it('3/0x06 unknown mandatory object (AB=00)', () => {
    expectError(`04000000 07d00000 ${INFO_OK}`, NatfwResponse.UNKNOWN_OBJECT_PRESENT, 4, 0x7d0);
  });
  it('3/0x09 AB=11 on any object, DTINFO with P and S, or with P but no I', () => {
    expectError(`04000000 c7d00000 ${INFO_OK}`, NatfwResponse.INVALID_FLAG_FIELD_COMBINATION, 4);
    expectError(`04000000 c0100001 02010000`, NatfwResponse.INVALID_FLAG_FIELD_COMBINATION, 4);
    expectError(`02000000 ${LT} ${MSN} ${EFI} 00130003 e0201100 00000000 c6120000`, NatfwResponse.INVALID_FLAG_FIELD_COMBINATION, undefined, 0x013);
    expectError(`02000000 ${LT} ${MSN} ${EFI} 00130003 40201100 00000000 c6120000`, NatfwResponse.INVALID_FLAG_FIELD_COMBINATION, undefined, 0x013);
  });
  it('3/0x05 illegal object: NATFW_DTINFO in CREATE, NATFW_EXTERNAL_IP in an error RESPONSE', () => {
    expectError(`01000000 ${LT} ${EFI} ${MSN} 00130002 00000000 00000000`, NatfwResponse.ILLEGAL_OBJECT_PRESENT, 28, 0x013);
    expectError(`03000000 ${MSN} 00100001 05020000 000d0002 00004000 c6120001`, NatfwResponse.ILLEGAL_OBJECT_PRESENT, 20, 0x00d);
  });
  it('3/0x0A duplicate object', () => {
    expectError(`01000000 ${LT} ${EFI} ${MSN} ${MSN}`, NatfwResponse.DUPLICATE_OBJECT_PRESENT, 28, 0x012);
  });
  it('3/0x04 mandatory object missing (and NATFW_NONCE when P is set; NATFW_LT in a Success RESPONSE)', () => {
    expectError(`01000000 ${LT} ${EFI}`, NatfwResponse.MANDATORY_OBJECT_MISSING, 20, 0x012);
    expectError(`01800000 ${LT} ${EFI} ${MSN}`, NatfwResponse.MANDATORY_OBJECT_MISSING, undefined, 0x011);
    expectError(`03000000 ${MSN} ${INFO_OK}`, NatfwResponse.MANDATORY_OBJECT_MISSING, undefined, 0x00c);
    expectError(`04000000`, NatfwResponse.MANDATORY_OBJECT_MISSING, 4, 0x010);
  });
  it('7/0x07 EXTERNAL without NATFW_DTINFO (s3.7.2)', () => {
    expectError(`02000000 ${LT} ${MSN} ${EFI}`, NatfwResponse.DTINFO_REQUIRED, undefined, 0x013);
  });
  it('7/0x05 unknown rule action, 7/0x08 sub_ports other than 0/1 (s4.2.4)', () => {
    expectError(`01000000 ${LT} 000f0001 00030000 ${MSN}`, NatfwResponse.UNKNOWN_RULE_ACTION, undefined, 0x00f);
    expectError(`01000000 ${LT} 000f0001 00010002 ${MSN}`, NatfwResponse.SUB_PORTS_NOT_PERMITTED, undefined, 0x00f);
  });
  it('3/0x08 unknown field value: NATFW_EXTERNAL_IP IP-Ver 6', () => {
    expectError(`03000000 ${LT} ${MSN} ${INFO_OK} 000d0002 00006000 c6120001`, NatfwResponse.UNKNOWN_OBJECT_FIELD_VALUE, undefined, 0x00d);
  });
  it('malformed SESSION_AUTH inside a message: 3/0x07 with the SESSION_AUTH object type', () => {
    expectError(`04000000 ${INFO_OK} 80160001 00200100`, NatfwResponse.WRONG_OBJECT_LENGTH, 16, 0x016);
  });

  it('the response table names every (class, code) pair of s4.2.5 once, and the s3.7.2 trap is resolved by the pair', () => {
    expect(RESPONSE_CODES).toHaveLength(5 + 1 + 11 + 1 + 5 + 18);
    const pairs = new Set(RESPONSE_CODES.map((r) => `${r.responseClass}/${r.responseCode}`));
    expect(pairs.size).toBe(RESPONSE_CODES.length);
    expect(lookupResponse(3, 0x06)?.id).toBe('PROTOCOL_ERROR_UNKNOWN_OBJECT_PRESENT');
    expect(lookupResponse(7, 0x06)?.id).toBe('SESSION_FAILURE_RULE_ACTION_NOT_APPLICABLE');
    expect(lookupResponse(5, 0x03)).toBeUndefined();
  });
});
