/** SessionAuthorizer: valid tokens, every failure reason, policy, replay, key rollover and reload, MAC coverage modes. */
import { HmacSessionAuthorizer, messageContext, type AuthorizationResult } from '../../natfw-nslp/auth/authorizer';
import { MemoryKeyStore } from '../../natfw-nslp/auth/keys';
import { issueToken } from '../../natfw-nslp/auth/token';
import { NatfwResponse } from '../../natfw-nslp/codec';
import { createWith, HOUR, KEY7, mri, request, SID_B, store, T0, token } from './helpers';

const required = { requireForCreate: true, requireForExternal: true };
const NOW = T0 + 60_000;

function refused(r: AuthorizationResult, reason: string): void {
  expect(r).toMatchObject({ ok: false, reason });
  if (!r.ok) {
    // RFC 5981 s6.3.4: Permanent failure (5) / Authorization failed (0x02).
    expect([r.responseClass, r.responseCode]).toEqual([NatfwResponse.AUTHORIZATION_FAILED.responseClass, NatfwResponse.AUTHORIZATION_FAILED.responseCode]);
    expect([r.responseClass, r.responseCode]).toEqual([5, 2]);
    expect(r.message.length).toBeGreaterThan(0);
  }
}

describe('HmacSessionAuthorizer', () => {
  it('accepts a valid token and names the authority', () => {
    const a = new HmacSessionAuthorizer(required, store());
    expect(a.authorize(NOW, request([token()]))).toEqual({ ok: true, entityId: 'authority.natfw.test' });
  });

  it('works from the decoded objects when the raw message bytes are not given', () => {
    const a = new HmacSessionAuthorizer(required, store());
    expect(a.authorize(NOW, request([token()], {}, new Uint8Array()))).toMatchObject({ ok: true });
  });

  it('uses the decoded objects only when they are the octets of the message: a decoded valid token does not vouch for other bytes', () => {
    const a = new HmacSessionAuthorizer(required, store());
    const good = token();
    const forged = good.slice();
    forged[forged.length - 1] ^= 1; // the MAC's last octet
    // Decoded objects of the good token, message bytes with the forged one: the bytes are what count.
    refused(a.authorize(NOW, request([good], {}, createWith([forged]).bytes)), 'bad-mac');
    // The other way round: decoded forged token, good bytes: accepted (the MAC holds over the bytes received).
    expect(new HmacSessionAuthorizer(required, store()).authorize(NOW, request([forged], {}, createWith([good]).bytes)).ok).toBe(true);
    // Decoded from the same bytes: the same answers as from the bytes alone.
    const b = new HmacSessionAuthorizer(required, store());
    expect(b.authorize(NOW, request([good])).ok).toBe(true);
    refused(new HmacSessionAuthorizer(required, store()).authorize(NOW, request([forged])), 'bad-mac');
    refused(new HmacSessionAuthorizer(required, store()).authorize(NOW, { ...request([forged]), sessionAuth: [] }), 'bad-mac');
  });

  it('missing: required but absent; not required: passes without looking', () => {
    refused(new HmacSessionAuthorizer(required, store()).authorize(NOW, request([])), 'missing');
    const lax = new HmacSessionAuthorizer({ requireForCreate: false, requireForExternal: true }, store());
    expect(lax.authorize(NOW, request([]))).toEqual({ ok: true });
    // CREATE and EXTERNAL separately
    refused(lax.authorize(NOW, request([], { messageType: 'EXTERNAL' })), 'missing');
    // not required: even a bad token is skipped (RFC 5981 s3.1), unless the policy says to verify
    expect(lax.authorize(NOW, request([token({ key: new Uint8Array(32) })]))).toEqual({ ok: true });
    const strict = new HmacSessionAuthorizer({ requireForCreate: false, requireForExternal: false, verifyWhenNotRequired: true }, store());
    refused(strict.authorize(NOW, request([token({ key: new Uint8Array(32) })])), 'bad-mac');
  });

  it('expired and not-yet-valid, with the configured clock skew', () => {
    const a = new HmacSessionAuthorizer({ ...required, clockSkewMs: 10_000 }, store());
    refused(a.authorize(T0 + HOUR + 10_001, request([token()])), 'expired');
    expect(a.authorize(T0 + HOUR + 9_000, request([token()])).ok).toBe(true);
    const b = new HmacSessionAuthorizer({ ...required, clockSkewMs: 10_000 }, store());
    refused(b.authorize(T0 - 10_001, request([token()])), 'not-yet-valid');
    expect(b.authorize(T0 - 9_000, request([token()])).ok).toBe(true);
  });

  it('clockOffsetMs maps a virtual clock to token time', () => {
    const a = new HmacSessionAuthorizer({ ...required, clockOffsetMs: T0 }, store());
    expect(a.authorize(5_000, request([token()])).ok).toBe(true);
  });

  it('bad-mac: a flipped MAC bit, a changed attribute, a key with the right id but wrong bytes', () => {
    const a = new HmacSessionAuthorizer(required, store());
    const t = token();
    const flipped = t.slice();
    flipped[flipped.length - 1] ^= 1;
    refused(a.authorize(NOW, request([flipped])), 'bad-mac');
    refused(a.authorize(NOW, request([token({ key: new Uint8Array(32).fill(9) })])), 'bad-mac');
    // widen the destination prefix after signing: 198.19.0.7 -> 198.19.0.8 in DEST_ADDR
    const hexT = Buffer.from(t).toString('hex');
    const forged = Buffer.from(hexT.replace('00080401c6130007', '00080401c6130008'), 'hex');
    expect(Buffer.from(forged).toString('hex')).not.toBe(hexT);
    refused(a.authorize(NOW, request([new Uint8Array(forged)], { rule: { ...request([]).rule, dst: { address: '198.19.0.8', length: 32 } }, mri: mri({ destinationAddress: '198.19.0.8' }) })), 'bad-mac');
  });

  it('unknown-key, and key rollover: two active keys, then a reload that drops one', () => {
    const a = new HmacSessionAuthorizer(required, new MemoryKeyStore([{ keyId: 8, key: new Uint8Array(16).fill(1) }]));
    refused(a.authorize(NOW, request([token()])), 'unknown-key');
    a.setKeyStore(store());
    expect(a.authorize(NOW, request([token()])).ok).toBe(true);
    const t8 = token({ key: store().get(8)?.key, keyId: 8 });
    expect(a.authorize(NOW, request([t8], { sessionId: SID_B })).ok).toBe(true);
    a.setKeyStore(new MemoryKeyStore([{ keyId: 8, key: store().get(8)?.key ?? new Uint8Array() }]));
    refused(a.authorize(NOW, request([token()], { sessionId: new Uint8Array(16).fill(3) })), 'unknown-key');
  });

  describe('not-covered: the token must cover the rule and the MRI', () => {
    const a = () => new HmacSessionAuthorizer(required, store());
    const base = request([token()]);
    const tok = token({ dstPorts: { from: 5004, to: 5004 } });
    it('a token for port 5004 does not open 5004-5010', () => {
      const r = a().authorize(NOW, request([tok], { rule: { ...base.rule, dstPorts: { from: 5004, to: 5010 } } }));
      refused(r, 'not-covered');
      expect(a().authorize(NOW, request([tok], { rule: { ...base.rule, dstPorts: { from: 5004, to: 5004 } } })).ok).toBe(true);
    });
    it('nor any destination port', () => refused(a().authorize(NOW, request([tok], { rule: { protocol: 17, src: base.rule.src, dst: base.rule.dst, action: 'allow' } })), 'not-covered'));
    it('one destination does not open another', () =>
      refused(a().authorize(NOW, request([token()], { rule: { ...base.rule, dst: { address: '198.19.0.8', length: 32 } }, mri: mri({ destinationAddress: '198.19.0.8' }) })), 'not-covered'));
    it('nor a wider destination prefix', () => refused(a().authorize(NOW, request([token()], { rule: { ...base.rule, dst: { address: '198.19.0.0', length: 24 } } })), 'not-covered'));
    it('a source outside the prefix', () =>
      refused(a().authorize(NOW, request([token()], { rule: { ...base.rule, src: { address: '198.18.2.5', length: 32 } }, mri: mri({ sourceAddress: '198.18.2.5' }) })), 'not-covered'));
    it('another protocol', () => refused(a().authorize(NOW, request([token()], { rule: { ...base.rule, protocol: 6 }, mri: mri({ protocol: 6 }) })), 'not-covered'));
    it('an MRI that disagrees with the rule (port)', () => refused(a().authorize(NOW, request([token()], { mri: mri({ destinationPort: 5006 }) })), 'not-covered'));
    it('IPv6 prefixes', () => {
      const t6 = token({ src: [{ address: '2001:db8:1::', length: 48 }], dst: [{ address: '2001:db8:2::7', length: 128 }] });
      const rule6 = { ...base.rule, src: { address: '2001:db8:1:5::1', length: 128 }, dst: { address: '2001:db8:2::7', length: 128 } };
      const mri6 = mri({ ipVersion: 6, sourceAddress: '2001:db8:1:5::1', destinationAddress: '2001:db8:2::7', sourcePrefix: 128, destinationPrefix: 128 });
      expect(a().authorize(NOW, request([t6], { rule: rule6, mri: mri6 })).ok).toBe(true);
      refused(a().authorize(NOW, request([t6], { rule: { ...rule6, src: { address: '2001:db8:9::1', length: 128 } }, mri: mri6 })), 'not-covered');
    });
  });

  it('replay: bound to the first session, refused for another until END_TIME, refreshes of the owner pass', () => {
    const a = new HmacSessionAuthorizer(required, store());
    const t = token();
    expect(a.authorize(NOW, request([t])).ok).toBe(true);
    expect(a.authorize(NOW + 30_000, request([t])).ok).toBe(true);
    refused(a.authorize(NOW + 60_000, request([t], { sessionId: SID_B })), 'replay');
    expect(a.boundTokens).toBe(1);
    // a refused request binds nothing: a different token still works for session B
    expect(a.authorize(NOW, request([token({ notAfter: T0 + HOUR - 1000 })], { sessionId: SID_B })).ok).toBe(true);
  });

  it('untrusted: authority or Key-ID not in the policy', () => {
    refused(new HmacSessionAuthorizer({ ...required, trustedEntityIds: ['other.natfw.test'] }, store()).authorize(NOW, request([token()])), 'untrusted');
    refused(new HmacSessionAuthorizer({ ...required, trustedKeyIds: [8] }, store()).authorize(NOW, request([token()])), 'untrusted');
    expect(new HmacSessionAuthorizer({ ...required, trustedEntityIds: ['authority.natfw.test'], trustedKeyIds: [7] }, store()).authorize(NOW, request([token()])).ok).toBe(true);
  });

  it('malformed: a SESSION_AUTH that does not decode, or HMAC_SIGNED without its mandatory attributes', () => {
    const a = new HmacSessionAuthorizer(required, store());
    const { bytes } = createWith([]);
    const broken = Uint8Array.from([...bytes, 0x80, 0x16, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0a]);
    refused(a.authorize(NOW, request([], {}, broken)), 'malformed');
    const noEnd = Uint8Array.from([...bytes, 0x80, 0x16, 0x00, 0x02, 0x00, 0x08, 0x01, 0x0a, 0, 0, 0, 12]);
    refused(a.authorize(NOW, request([], {}, noEnd)), 'malformed');
  });

  it('with two tokens, one good one suffices', () => {
    const a = new HmacSessionAuthorizer(required, store());
    expect(a.authorize(NOW, request([token({ key: new Uint8Array(32) }), token()])).ok).toBe(true);
  });

  it('message coverage (RFC 5981 s3.2.7): Session ID, NSLPID, MRI and the listed objects are signed', () => {
    const policy = { ...required, coverage: { objectHeader: true, authDataPrefix: true, message: true } };
    const a = new HmacSessionAuthorizer(policy, store());
    const plain = createWith([]);
    const base = request([], { nslpMessageBytes: plain.bytes });
    const signed = issueToken({
      key: KEY7,
      keyId: 7,
      src: [{ address: '198.18.1.0', length: 24 }],
      dst: [{ address: '198.19.0.7', length: 32 }],
      notBefore: T0,
      notAfter: T0 + HOUR,
      coverage: policy.coverage,
      objectList: [0x00c, 0x00f, 0x012],
      context: messageContext(base),
    });
    const ok = request([signed]);
    expect(a.authorize(NOW, ok).ok).toBe(true);
    // another session: the Session ID is inside the MAC
    refused(new HmacSessionAuthorizer(policy, store()).authorize(NOW, { ...ok, sessionId: SID_B }), 'bad-mac');
    // a changed NATFW_LT in the message
    const changed = ok.nslpMessageBytes.slice();
    changed[11] ^= 0xff;
    refused(new HmacSessionAuthorizer(policy, store()).authorize(NOW, { ...ok, nslpMessageBytes: changed }), 'bad-mac');
    // the default (token) coverage does not verify a message-signed token
    refused(new HmacSessionAuthorizer(required, store()).authorize(NOW, ok), 'bad-mac');
  });
});

describe('HmacSessionAuthorizer: EXTERNAL and the replay table', () => {
  it('EXTERNAL with a loose-end MRI: the rule (from NATFW_DTINFO) is what the token must cover', () => {
    const a = new HmacSessionAuthorizer({ requireForCreate: false, requireForExternal: true }, store());
    const le = { mrm: 'loose-end' as const, ipVersion: 4 as const, sourceAddress: '198.19.0.7', destinationAddress: '198.18.9.9', direction: 'towards-edge' as const };
    const rule = { protocol: 17, src: { address: '198.18.1.0', length: 24 }, dst: { address: '198.19.0.7', length: 32 }, dstPorts: { from: 5004, to: 5005 }, action: 'allow' as const };
    expect(a.authorize(NOW, request([token()], { messageType: 'EXTERNAL', mri: le, rule })).ok).toBe(true);
    refused(a.authorize(NOW, request([token()], { messageType: 'EXTERNAL', sessionId: SID_B, mri: le, rule: { ...rule, src: { address: '0.0.0.0', length: 0 } } })), 'not-covered');
  });

  it('bindings of expired tokens are swept; a full table refuses new tokens but not their owners', () => {
    const a = new HmacSessionAuthorizer({ ...required, maxBindings: 2 }, store());
    const sid = (n: number) => new Uint8Array(16).fill(n);
    const t1 = token({ notAfter: T0 + 120_000 });
    const t2 = token({ notAfter: T0 + HOUR - 1 });
    const t3 = token({ notAfter: T0 + HOUR - 2 });
    expect(a.authorize(NOW, request([t1], { sessionId: sid(1) })).ok).toBe(true);
    expect(a.authorize(NOW, request([t2], { sessionId: sid(2) })).ok).toBe(true);
    refused(a.authorize(NOW, request([t3], { sessionId: sid(3) })), 'replay');
    expect(a.authorize(NOW, request([t2], { sessionId: sid(2) })).ok).toBe(true);
    // after t1's END_TIME (+ skew) its binding goes, making room for t3
    const later = T0 + 120_000 + 31_000;
    expect(a.authorize(later, request([t3], { sessionId: sid(3) })).ok).toBe(true);
    expect(a.boundTokens).toBe(2);
  });
});
