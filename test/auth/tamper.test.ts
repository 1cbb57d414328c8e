/** Property: changing any octet of a signed token makes the check fail (every octet but the MAC is covered, the MAC is compared). */
import fc from 'fast-check';
import { HmacSessionAuthorizer } from '../../natfw-nslp/auth/authorizer';
import { verifyToken } from '../../natfw-nslp/auth/verify';
import { DEFAULT_COVERAGE } from '../../natfw-nslp/auth/mac';
import { DEFAULT_ALLOWED_TRANSFORMS } from '../../natfw-nslp/auth/transforms';
import { HOUR, request, store, T0, token } from './helpers';

const opts = { coverage: DEFAULT_COVERAGE, clockSkewMs: 30_000, requireEndTime: true, allowedTransforms: DEFAULT_ALLOWED_TRANSFORMS };
const NOW = T0 + 1000;

describe('signed token tamper property', () => {
  const tokens = [
    token(),
    token({ entityId: undefined, protocol: undefined, dstPorts: undefined, transformId: 14 }),
    token({ src: [{ address: '2001:db8::', length: 32 }], dst: [{ address: '2001:db8:ffff::1', length: 128 }], transformId: 13, notAfter: T0 + 2 * HOUR }),
  ];

  it('the untouched tokens verify', () => {
    for (const t of tokens) expect(verifyToken(NOW, t, store(), opts, []).ok).toBe(true);
  });

  it('any change to any octet fails verifyToken', () => {
    fc.assert(
      fc.property(fc.nat({ max: tokens.length - 1 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, where, delta) => {
        const t = tokens[which].slice();
        t[where % t.length] ^= delta;
        expect(verifyToken(NOW, t, store(), opts, []).ok).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('every single octet position, through the authorizer (exhaustive over positions)', () => {
    const t = tokens[0];
    for (let i = 0; i < t.length; i++) {
      const c = t.slice();
      c[i] ^= 0x01 << (i % 8);
      const a = new HmacSessionAuthorizer({ requireForCreate: true, requireForExternal: true }, store());
      const good = request([t]);
      const r = a.authorize(NOW, { ...good, nslpMessageBytes: withToken(good.nslpMessageBytes, t, c) });
      expect([i, r.ok]).toEqual([i, false]);
    }
  });
});

/** The message bytes with the token's octets replaced by the tampered ones (same length). */
function withToken(msg: Uint8Array, t: Uint8Array, c: Uint8Array): Uint8Array {
  const at = Buffer.from(msg).indexOf(Buffer.from(t));
  if (at < 0) throw new Error('token not found in the message');
  const out = msg.slice();
  out.set(c, at);
  return out;
}
