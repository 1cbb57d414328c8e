/**
 * Unit tests of the nftables layout pieces that need no kernel: key encoding
 * (checked against the bytes nft itself sent, captured with strace), the
 * pinhole -> element mapping, the generated ruleset's order, kernel JSON
 * parsing, and the overlap index of the interval maps.
 */
import { encodeKey, encodeKeyStr, encodeMark, layoutOptions, maskedMapScript, parseSetName, pinholeElements, setName, setupScript, slotsOf, v4HashKeys } from '../../enforcement/nft/layout';
import { parseTableJson } from '../../enforcement/nft/kernel';
import { RangeIndex, boxOf } from '../../enforcement/nft/ranges';
import { markOfId, pinholeId } from '../../enforcement/nft/backend';
import type { Pinhole } from '../../enforcement';
import fc from 'fast-check';
import type { Box } from '../../enforcement/nft/ranges';

const base: Pinhole = {
  id: 'ph-1',
  protocol: 17,
  src: { address: '198.18.1.1', length: 32 },
  dst: { address: '198.18.2.2', length: 32 },
  srcPorts: { from: 1000, to: 1000 },
  dstPorts: { from: 5001, to: 5001 },
  action: 'allow',
  owner: 'o',
  expiresAt: 1,
};

describe('nftables layout', () => {
  test('key bytes are what nft sends (strace of `nft add element ... { 198.18.1.1 . 198.18.2.2 . udp . 1000 . 5001 ... }`)', () => {
    const e = pinholeElements(base);
    expect(e.shape).toBe('full');
    expect(encodeKey(e.keys[0].start).toString('hex')).toBe('c6120101' + 'c6120202' + '11000000' + '03e80000' + '13890000');
    // ct mark data is host-endian (0x102 was sent as 02 01 00 00 on x86).
    expect(encodeMark(0x102).toString('hex')).toBe('02010000');
  });

  test('interval keys: start and end corners, dport first (strace of a pipapo add)', () => {
    const e = pinholeElements({ ...base, src: { address: '198.18.1.1', length: 32 }, dst: { address: '198.18.2.0', length: 24 }, dstPorts: { from: 5000, to: 5001 }, srcPorts: { from: 1000, to: 1000 }, action: 'deny' });
    expect(e.shape).toBe('range');
    expect(encodeKey(e.keys[0].start).toString('hex')).toBe('13880000' + '03e80000' + '11000000' + 'c6120200' + 'c6120101');
    expect(encodeKey(e.keys[0].end!).toString('hex')).toBe('13890000' + '03e80000' + '11000000' + 'c61202ff' + 'c6120101');
  });

  test('shapes: sub_ports=1 is two exact elements; any source port; any source; port-less; IPv6', () => {
    expect(pinholeElements({ ...base, dstPorts: { from: 5000, to: 5001 } }).keys).toHaveLength(2);
    expect(pinholeElements({ ...base, srcPorts: undefined }).shape).toBe('nosp');
    expect(pinholeElements({ ...base, srcPorts: undefined, dstPorts: undefined }).shape).toBe('noport');
    expect(pinholeElements({ ...base, src: { address: '0.0.0.0', length: 0 }, srcPorts: undefined }).shape).toBe('anysrc');
    // Prefixes and port ranges: aligned blocks in a masked hash map (5000-5002 = three single ports; 5000-5003 one block of 4).
    const m3 = pinholeElements({ ...base, dstPorts: { from: 5000, to: 5002 } });
    expect(m3).toMatchObject({ shape: 'masked', mask: { sl: 32, dl: 32, sk: 0, dk: 0 } });
    expect(m3.keys.map((k) => k.start[4])).toEqual([5000, 5001, 5002].map((v) => ({ t: 'port', v })));
    const m4 = pinholeElements({ ...base, srcPorts: undefined, src: { address: '198.18.1.77', length: 24 }, dstPorts: { from: 5000, to: 5003 } });
    expect(m4).toMatchObject({ shape: 'masked', mask: { sl: 24, dl: 32, sk: 16, dk: 2 } });
    expect(encodeKey(m4.keys[0].start).toString('hex')).toBe('c6120100' + 'c6120202' + '11000000' + '00000000' + '13880000');
    // More than MAX_MASKED_ELEMENTS blocks, a deny, or `masked: false`: the pipapo form.
    expect(pinholeElements({ ...base, dstPorts: { from: 5000, to: 5020 } }).shape).toBe('range');
    expect(pinholeElements({ ...base, action: 'deny', dstPorts: { from: 5000, to: 5003 } }).shape).toBe('range');
    expect(pinholeElements({ ...base, dstPorts: { from: 5000, to: 5003 } }, { masked: false }).shape).toBe('range');
    expect(pinholeElements({ ...base, protocol: 1, srcPorts: undefined, dstPorts: undefined }).shape).toBe('noport');
    expect(pinholeElements({ ...base, protocol: 1, srcPorts: undefined, dstPorts: undefined, src: { address: '198.18.1.0', length: 24 } }).shape).toBe('rangenp');
    const v6 = pinholeElements({ ...base, src: { address: '2001:db8:1::1', length: 128 }, dst: { address: '2001:db8:2::2', length: 128 } });
    expect(v6.family).toBe(6);
    expect(encodeKey(v6.keys[0].start).subarray(0, 16).toString('hex')).toBe('20010db8000100000000000000000001');
  });

  test('ruleset: deny before live before allow; standalone drops by policy; integration marks and accepts by policy', () => {
    const st = setupScript(layoutOptions({ mode: 'standalone' })).split('\n');
    const idx = (re: RegExp): number => st.findIndex((l) => re.test(l));
    expect(idx(/policy drop/)).toBeGreaterThan(0);
    expect(idx(/@d4_range_0 drop/)).toBeLessThan(idx(/ct mark @live accept/));
    expect(idx(/ct mark @live accept/)).toBeLessThan(idx(/map @a4_full_0 ct mark @live accept/));
    const it = setupScript(layoutOptions({ mode: 'integration', markBits: 0x200 }));
    expect(it).toMatch(/priority -10; policy accept;/);
    expect(it).toMatch(/ct mark @live meta mark set meta mark or 0x200 accept/);
    expect(it).not.toMatch(/ct state invalid drop/);
    // Every set the rules use is declared, and only our two tables are named.
    for (const m of it.matchAll(/@(\w+)/g)) expect(it).toMatch(new RegExp(`add (map|set) inet natfw(_nat)? ${m[1]} `));
    expect(new Set([...it.matchAll(/inet (\w+)/g)].map((m) => m[1]))).toEqual(new Set(['natfw', 'natfw_nat']));
    expect(idx(/^add chain inet natfw dyn$/)).toBeLessThan(idx(/jump dyn/));
    expect(idx(/map @a4_range_3 ct mark @live accept/)).toBeLessThan(idx(/jump dyn/));
    expect(idx(/jump dyn/)).toBeLessThan(idx(/ct mark != 0 drop/));
    expect(slotsOf('allow', 'range')).toBe(4);
    expect(parseSetName('a6_range_15')).toEqual({ action: 'allow', family: 6, shape: 'range', slot: 15 });
    expect(parseSetName('a6_m_48_128_16_0_1')).toEqual({ action: 'allow', family: 6, shape: 'masked', slot: 1, mask: { sl: 48, dl: 128, sk: 16, dk: 0 } });
    expect(parseSetName('a4_m_33_32_0_0_0')).toBeUndefined();
    expect(setName('allow', 4, 'masked', 0, { sl: 24, dl: 32, sk: 16, dk: 1 })).toBe('a4_m_24_32_16_1_0');
    const dyn = maskedMapScript(layoutOptions(), 'a4_m_24_32_16_1_0');
    expect(dyn).toContain('add map inet natfw a4_m_24_32_16_1_0 { type ipv4_addr . ipv4_addr . inet_proto . inet_service . inet_service : mark; flags timeout; }');
    expect(dyn).toContain(
      'add rule inet natfw dyn meta l4proto { tcp, udp, sctp, dccp, udplite } meta nfproto ipv4 ct mark set (ct original ip saddr & 255.255.255.0) . ct original ip daddr . meta l4proto . (ct original proto-src & 0x0) . (ct original proto-dst & 0xfffe) map @a4_m_24_32_16_1_0 ct mark @live return',
    );
    expect(parseSetName('bogus')).toBeUndefined();
  });

  test('kernel JSON (nft -j list table) parses into exact keys, marks, timeouts and comments', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { map: { family: 'inet', name: 'a4_nosp_0', table: 'natfw', type: ['ipv4_addr', 'ipv4_addr', 'inet_proto', 'inet_service'], map: 'mark', elem: [[{ elem: { val: { concat: ['198.18.1.1', '198.18.2.2', 'tcp', 5000] }, timeout: 30, expires: 29, comment: 'own er' } }, 3]] } },
        { map: { family: 'inet', name: 'a6_range_0', table: 'natfw', type: ['inet_service', 'inet_service', 'inet_proto', 'ipv6_addr', 'ipv6_addr'], map: 'mark', elem: [[{ elem: { val: { concat: [{ range: [0, 65535] }, { range: [1000, 2000] }, 'udp', '2001:db8::1', { prefix: { addr: '2001:db8:1::', len: 48 } }] }, timeout: 30, expires: 29 } }, 1]] } },
        { set: { family: 'inet', name: 'live', table: 'natfw', type: 'mark', elem: [{ elem: { val: 1, timeout: 30, expires: 29 } }] } },
        { map: { family: 'inet', name: 'dnat4', table: 'natfw_nat', type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'ipv4_addr . inet_service', elem: [[{ elem: { val: { concat: ['198.18.2.1', 'udp', 30000] }, timeout: 60, expires: 59 } }, { concat: ['198.18.1.1', 5000] }]] } },
        { map: { family: 'inet', name: 'a4_full_0', table: 'natfw', type: ['ipv4_addr', 'ipv4_addr', 'inet_proto', 'inet_service', 'inet_service'], map: 'mark', elem: [['garbage', 1]] } },
      ],
    });
    const r = parseTableJson(json);
    expect(r.unreadable).toEqual(['a4_full_0']);
    const [nosp, range, live, dnat] = r.elements;
    expect(nosp).toMatchObject({ set: 'a4_nosp_0', mark: 3, timeoutS: 30, expiresS: 29, comment: 'own er' });
    expect(encodeKey(nosp.start).toString('hex')).toBe('c6120101c612020206000000' + '13880000');
    expect(range.end).toBeDefined();
    expect(range.start[0]).toEqual({ t: 'port', v: 0 });
    expect(range.end![0]).toEqual({ t: 'port', v: 65535 });
    expect(range.end![4]).toMatchObject({ t: 'addr', f: 6, v: 0x20010db80001ffffffffffffffffffffn });
    expect(live).toMatchObject({ set: 'live', mark: 1 });
    expect(dnat.natData).toEqual([{ t: 'addr', f: 4, v: 0xc6120101n }, { t: 'port', v: 5000 }]);
  });

  test('overlap index of interval maps: any intersection in every field is a conflict', () => {
    const box = (dp: [number, number], s: string, len: number) => {
      const e = pinholeElements({ ...base, srcPorts: undefined, src: { address: s, length: len }, dst: { address: '198.18.2.0', length: 24 }, dstPorts: { from: dp[0], to: dp[1] } }, { masked: false });
      return boxOf('range', e.keys[0].start, e.keys[0].end!);
    };
    const r = new RangeIndex();
    const a = box([5000, 5010], '198.18.1.0', 24);
    r.add(a);
    expect(r.size).toBe(1);
    expect(r.conflicts(box([5010, 5020], '198.18.1.128', 25))).toBe(true);
    expect(r.conflicts(box([5011, 5020], '198.18.1.0', 24))).toBe(false);
    expect(r.conflicts(box([5000, 5010], '198.18.3.0', 24))).toBe(false);
    expect(r.conflicts(box([0, 65535], '198.18.0.0', 16))).toBe(true);
    r.remove(a);
    expect(r.size).toBe(0);
    expect(r.conflicts(box([5000, 5010], '198.18.1.0', 24))).toBe(false);
  });

  test('overlap index agrees with a brute-force intersection test (property)', () => {
    const range = (lo: number, span: number, max: number): [number, number] => [Math.min(lo, max), Math.min(lo + span, max)];
    const boxArb: fc.Arbitrary<Box> = fc
      .record({ proto: fc.constantFrom(6, 17), dp: fc.nat(400), dpw: fc.constantFrom(0, 1, 20, 300, 65535), sp: fc.nat(5), spw: fc.nat(3), d: fc.nat(7), dw: fc.constantFrom(0, 0, 1, 3), s: fc.nat(7), sw: fc.nat(2) })
      .map((r) => ({
        proto: r.proto,
        dp: range(r.dp, r.dpw, 65535),
        sp: range(r.sp, r.spw, 65535),
        d: [BigInt(r.d), BigInt(r.d + r.dw)] as const,
        s: [BigInt(r.s), BigInt(r.s + r.sw)] as const,
      }));
    const brute = (a: Box, b: Box): boolean =>
      a.proto === b.proto && a.dp[0] <= b.dp[1] && b.dp[0] <= a.dp[1] && a.sp[0] <= b.sp[1] && b.sp[0] <= a.sp[1] && a.d[0] <= b.d[1] && b.d[0] <= a.d[1] && a.s[0] <= b.s[1] && b.s[0] <= a.s[1];
    fc.assert(
      fc.property(fc.array(boxArb, { maxLength: 30 }), fc.array(fc.nat(29), { maxLength: 10 }), fc.array(boxArb, { minLength: 1, maxLength: 20 }), (installed, removeIdx, probes) => {
        const r = new RangeIndex();
        for (const b of installed) r.add(b);
        const gone = new Set(removeIdx.filter((i) => i < installed.length).map((i) => installed[i]));
        for (const b of gone) r.remove(b);
        const live = installed.filter((b) => !gone.has(b));
        expect(r.size).toBe(new Set(live).size);
        for (const p of probes) expect(r.conflicts(p)).toBe(live.some((b) => brute(b, p)));
      }),
      { numRuns: 300 },
    );
  });

  test('the IPv4 fast path gives the shapes and key bytes of the general path (property)', () => {
    const port = fc.integer({ min: 0, max: 65535 });
    const range = fc.oneof(
      fc.constant(undefined),
      port.map((p) => ({ from: p, to: p })),
      port.map((p) => ({ from: Math.min(p, 65534), to: Math.min(p, 65534) + 1 })),
      fc.tuple(port, fc.integer({ min: 0, max: 40 })).map(([p, w]) => ({ from: Math.min(p, 65535 - w), to: Math.min(p, 65535 - w) + w })),
    );
    const addr = fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `198.18.${a}.${b}`);
    const ph = fc
      .record({ protocol: fc.constantFrom(1, 6, 17, 47, 132), s: addr, sl: fc.constantFrom(0, 8, 24, 31, 32, 32), d: addr, dl: fc.constantFrom(0, 16, 32, 32), sp: range, dp: range, action: fc.constantFrom('allow' as const, 'allow' as const, 'deny' as const) })
      .map((r): Pinhole => {
        const ported = [6, 17, 132].includes(r.protocol);
        return { ...base, protocol: r.protocol, src: { address: r.s, length: r.sl }, dst: { address: r.d, length: r.dl }, srcPorts: ported ? r.sp : undefined, dstPorts: ported ? r.dp : undefined, action: r.action };
      });
    fc.assert(
      fc.property(ph, (p) => {
        const general = pinholeElements(p);
        const fast = v4HashKeys(p);
        if (general.shape === 'range' || general.shape === 'rangenp') expect(fast).toBeUndefined();
        else {
          expect(fast).toBeDefined();
          expect(fast!.shape).toBe(general.shape);
          expect(fast!.mask).toEqual(general.mask);
          expect(fast!.keys).toEqual(general.keys.map((k) => encodeKeyStr(k.start)));
        }
      }),
      { numRuns: 2000 },
    );
    expect(v4HashKeys({ ...base, src: { address: '2001:db8::1', length: 128 }, dst: { address: '2001:db8::2', length: 128 } })).toBeUndefined();
  });

  test('ids are the pinhole numbers (the ct marks), recoverable from the kernel', () => {
    expect(pinholeId(0x1a)).toBe('ph-1a');
    expect(markOfId('ph-1a')).toBe(0x1a);
    expect(markOfId('nb-ff')).toBe(0xff);
    expect(markOfId('ph-0')).toBeUndefined();
    expect(markOfId('ph-zz')).toBeUndefined();
  });
});
