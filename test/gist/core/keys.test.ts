import fc from 'fast-check';
import { decodeGistMessage, encodeGistDatagram, MessageType, type DataMessage } from '../../../gist/codec';
import { keyMri, keyNslpId, keySid, lastHalf, rowKey, rowKeyFromDatagram } from '../../../gist/core/keys';
import { invertDirection } from '../../../gist/types';
import { mri as anyMri, sessionId } from '../codec/arbitraries';

function dataDatagram(nslpId: number, sid: Uint8Array, mri: DataMessage['mri']): Uint8Array {
  const msg: DataMessage = {
    type: 'Data',
    header: { version: 1, gistHopCount: 5, messageType: MessageType.Data, nslpId, cFlag: false, sFlag: true, rFlag: false, eFlag: false },
    unknownObjects: [],
    mri,
    sessionId: sid,
    nslpData: new Uint8Array(4),
  };
  return encodeGistDatagram(msg);
}

/** Byte offsets in a Data datagram of the MRI value (after magic, header and the MRI TLV header). */
const MRI_AT = 4 + 8 + 4;

describe('routing state keys (gist/core/keys.ts)', () => {
  it('a row key holds NSLPID, SID and MRI: they come back out of it; both directions name one row, told apart by the half', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), sessionId, anyMri, (nslpId, sid, mri) => {
        const k = rowKey(nslpId, sid, mri, false);
        const h = lastHalf();
        expect(keyNslpId(k)).toBe(nslpId);
        expect(Array.from(keySid(k))).toEqual(Array.from(sid));
        // The half that sends in the Q-mode direction (path-coupled downstream, loose-end towards the edge) is 0.
        const down = mri.mrm === 'path-coupled' ? mri.direction === 'downstream' : mri.direction === 'towards-edge';
        expect(h).toBe(down ? 0 : 1);
        const { nFlag: _n, ...plain } = mri;
        expect(keyMri(k, h === 1)).toEqual(plain);
        expect(rowKey(nslpId, sid, mri, true)).toBe(k);
        expect(lastHalf()).toBe(h === 0 ? 1 : 0);
        expect(rowKey(nslpId, sid, invertDirection(mri), false)).toBe(k);
        expect(lastHalf()).toBe(h === 0 ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });

  it('the key built from a datagram equals the key of its decoded MRI, whatever the ignored bits on the wire hold', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), sessionId, anyMri, fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.boolean(), (nslpId, sid, mri, noise, invert) => {
        const dg = dataDatagram(nslpId, sid, mri);
        // Set bits the decoder ignores (reserved bits, N flag, unused port half, protocol / DS bytes without their flag, flow label top bits).
        const m = MRI_AT;
        dg[m + 1] |= noise[0];
        if (dg[m] === 1) {
          dg[m + 2] |= noise[1] & 0x07;
          dg[m + 3] |= noise[2];
        } else {
          const f1 = dg[m + 2];
          const f2 = dg[m + 3];
          dg[m + 3] |= noise[3] & 0x1f;
          let p = m + 4 + (f1 >>> 4 === 6 ? 32 : 8);
          if ((f1 & 0x08) === 0) dg[p + 2] = noise[4];
          dg[p + 3] |= (f1 & 0x04) !== 0 ? noise[5] & 0x03 : noise[5];
          p += 4;
          if ((f1 & 0x02) !== 0) {
            dg[p] |= noise[6];
            dg[p + 1] |= noise[7] & 0xf0;
            p += 4;
          }
          if ((f1 & 0x01) !== 0) p += 4;
          if ((f2 & 0xc0) !== 0) {
            if ((f2 & 0x80) === 0) {
              dg[p] = noise[8];
              dg[p + 1] = noise[9];
            }
            if ((f2 & 0x40) === 0) {
              dg[p + 2] = noise[10];
              dg[p + 3] = noise[11];
            }
          }
        }
        const r = decodeGistMessage(dg.subarray(4));
        if (!r.ok || r.value.type !== 'Data') throw new Error(`noise made the datagram undecodable: ${r.ok ? r.value.type : r.error.message}`);
        const fromBytes = rowKeyFromDatagram(dg, invert);
        const fromBytesHalf = lastHalf();
        expect(fromBytes).toBe(rowKey(nslpId, r.value.sessionId, r.value.mri, invert));
        expect(fromBytesHalf).toBe(lastHalf());
      }),
      { numRuns: 500 },
    );
  });
});
