/** Small pieces of the core: RFC 1982 MSN order, prefixes, the timer heap, policy mapping. */
import fc from 'fast-check';
import { msnGreater, msnNext } from '../../../natfw-nslp/core/msn';
import { prefixContains, prefixCovers } from '../../../natfw-nslp/core/addr';
import { TimerHeap } from '../../../natfw-nslp/core/timers';
import { checkRule, grantLifetime, ruleFromMri } from '../../../natfw-nslp/core/policy';
import { flowMri } from './harness';

describe('MSN (RFC 5973 s3.5, RFC 1982 serial arithmetic)', () => {
  test('wrap-around: 0 follows 2^32-1, and is newer than it', () => {
    expect(msnNext(0xffffffff)).toBe(0);
    expect(msnGreater(0, 0xffffffff)).toBe(true);
    expect(msnGreater(0xffffffff, 0)).toBe(false);
    expect(msnGreater(5, 5)).toBe(false);
    expect(msnGreater(0x7fffffff, 0)).toBe(true);
    expect(msnGreater(0x80000000, 0)).toBe(false); // undefined in RFC 1982: treated as not newer
  });
  test('for distances below 2^31 exactly one direction is newer', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.integer({ min: 1, max: 0x7fffffff }), (a, d) => {
        const b = (a + d) >>> 0;
        expect(msnGreater(b, a)).toBe(true);
        expect(msnGreater(a, b)).toBe(false);
      }),
    );
  });
});

describe('prefixes', () => {
  test('IPv4 and IPv6 containment and coverage', () => {
    expect(prefixContains({ address: '198.18.0.0', length: 15 }, '198.19.255.1')).toBe(true);
    expect(prefixContains({ address: '198.18.0.0', length: 16 }, '198.19.0.1')).toBe(false);
    expect(prefixContains({ address: '2001:db8::', length: 32 }, '2001:db8:ffff::1')).toBe(true);
    expect(prefixContains({ address: '2001:db8::', length: 33 }, '2001:db8:8000::1')).toBe(false);
    expect(prefixContains({ address: '2001:db8::', length: 32 }, '198.18.0.1')).toBe(false);
    expect(prefixCovers({ address: '198.18.0.0', length: 24 }, { address: '198.18.0.128', length: 25 })).toBe(true);
    expect(prefixCovers({ address: '198.18.0.0', length: 25 }, { address: '198.18.0.0', length: 24 })).toBe(false);
  });
});

describe('timer heap', () => {
  test('pops in deadline order; re-arming and cancelling leave no ghost', () => {
    const h = new TimerHeap<{ timerIdx: number; n: number }>();
    const items = [5, 1, 9, 3].map((n) => ({ timerIdx: -1, n }));
    for (const it of items) h.set(it, it.n * 10);
    h.set(items[2], 5); // 9 moves first
    h.cancel(items[0]);
    const out: number[] = [];
    for (let it = h.popDue(1000); it !== undefined; it = h.popDue(1000)) out.push(it.n);
    expect(out).toEqual([9, 1, 3]);
    expect(h.next()).toBeUndefined();
  });
});

describe('policy mapping (s3.1, s4.2.4, Appendix D.2)', () => {
  test('MRI + EFI -> rule; sub_ports = 1 opens port and port + 1; port 0 is a wildcard', () => {
    const r = ruleFromMri(flowMri('198.18.0.1', '198.18.3.1', { sourcePort: 0, destinationPort: 5004 }), { ruleAction: 2, subPorts: 1 });
    expect(r).toEqual({ ok: true, value: { protocol: 17, src: { address: '198.18.0.1', length: 32 }, srcPorts: undefined, dst: { address: '198.18.3.1', length: 32 }, dstPorts: { from: 5004, to: 5005 }, action: 'deny' } });
    expect(ruleFromMri(flowMri('198.18.0.1', '198.18.3.1', { destinationPort: 65535 }), { ruleAction: 1, subPorts: 1 })).toMatchObject({ ok: false, name: 'SUB_PORTS_NOT_PERMITTED' });
  });
  test('lifetime is lowered, never raised; too small is refused', () => {
    const p = { maxLifetime: 60, minLifetime: 10, allowDeny: true };
    expect(grantLifetime(p, 600)).toEqual({ ok: true, value: 60 });
    expect(grantLifetime(p, 30)).toEqual({ ok: true, value: 30 });
    expect(grantLifetime(p, 5)).toMatchObject({ ok: false, name: 'LIFETIME_TOO_SMALL' });
    expect(grantLifetime({ ...p, rejectTooBigLifetime: true }, 61)).toMatchObject({ ok: false, name: 'LIFETIME_TOO_BIG' });
  });
  test('destination port ranges of the policy must cover the request', () => {
    const rule = ruleFromMri(flowMri('198.18.0.1', '198.18.3.1', { destinationPort: 5004 }), { ruleAction: 1, subPorts: 1 });
    if (!rule.ok) throw new Error('bad rule');
    expect(checkRule({ maxLifetime: 60, minLifetime: 1, allowDeny: true, dstPorts: [{ from: 5000, to: 5004 }] }, rule.value, undefined)).toMatchObject({ ok: false, name: 'AUTHORIZATION_FAILED' });
    expect(checkRule({ maxLifetime: 60, minLifetime: 1, allowDeny: true, dstPorts: [{ from: 5000, to: 5005 }] }, rule.value, undefined).ok).toBe(true);
  });
});
