import fc from 'fast-check';
import { EnforcementError, MemoryPinholeSet, subPortsRange } from '../../enforcement';
import type { PinholeSpec } from '../../enforcement';
import { normalizeSpec, parsePacket, pinholeMatches } from '../../enforcement/model';
import { pinholeIdNumber } from '../../enforcement/compact';

const base: PinholeSpec = {
  protocol: 17,
  src: { address: '198.18.1.1', length: 32 },
  dst: { address: '198.18.2.2', length: 32 },
  dstPorts: { from: 5000, to: 5000 },
  action: 'allow',
  owner: 's1',
  expiresAt: 10_000,
};

async function one(set: MemoryPinholeSet, spec: PinholeSpec, now = 0): Promise<string> {
  const tx = set.begin();
  const id = tx.add(spec);
  await tx.commit(now);
  return id;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof EnforcementError ? e.code : 'other';
  }
  return undefined;
}

describe('memory pinhole set: semantics', () => {
  test('allow matches exactly its tuple; other ports and protocols do not', async () => {
    const s = new MemoryPinholeSet();
    const id = await one(s, base);
    expect(s.lookup({ protocol: 17, src: '198.18.1.1', srcPort: 40000, dst: '198.18.2.2', dstPort: 5000 })).toEqual({
      verdict: 'allow',
      matches: [expect.objectContaining({ id })],
    });
    expect(s.lookup({ protocol: 17, src: '198.18.1.1', srcPort: 40000, dst: '198.18.2.2', dstPort: 5001 }).verdict).toBe('none');
    expect(s.lookup({ protocol: 6, src: '198.18.1.1', srcPort: 40000, dst: '198.18.2.2', dstPort: 5000 }).verdict).toBe('none');
    expect(s.lookup({ protocol: 17, src: '198.18.1.3', dst: '198.18.2.2', dstPort: 5000 }).verdict).toBe('none');
    // A port range never matches a packet without the port.
    expect(s.lookup({ protocol: 17, src: '198.18.1.1', dst: '198.18.2.2' }).verdict).toBe('none');
  });

  test('sub_ports=1 covers the port and the next one, not the one after', async () => {
    const s = new MemoryPinholeSet();
    await one(s, { ...base, dstPorts: subPortsRange(5000, 1) });
    const at = (p: number): string => s.lookup({ protocol: 17, src: '198.18.1.1', srcPort: 1, dst: '198.18.2.2', dstPort: p }).verdict;
    expect([at(4999), at(5000), at(5001), at(5002)]).toEqual(['none', 'allow', 'allow', 'none']);
    expect(subPortsRange(7000, 0)).toEqual({ from: 7000, to: 7000 });
  });

  test('deny wins over allow, and matches list denies first', async () => {
    const s = new MemoryPinholeSet();
    const allow = await one(s, { ...base, src: { address: '198.18.1.0', length: 24 } });
    const deny = await one(s, { ...base, action: 'deny' });
    const r = s.lookup({ protocol: 17, src: '198.18.1.1', srcPort: 9, dst: '198.18.2.2', dstPort: 5000 });
    expect(r.verdict).toBe('deny');
    expect(r.matches.map((m) => m.id)).toEqual([deny, allow]);
    expect(s.lookup({ protocol: 17, src: '198.18.1.7', srcPort: 9, dst: '198.18.2.2', dstPort: 5000 }).verdict).toBe('allow');
  });

  test('IPv6 prefixes and port ranges; canonical addresses; v4 packets never match v6 pinholes', async () => {
    const s = new MemoryPinholeSet();
    const id = await one(s, {
      ...base,
      src: { address: '2001:0DB8:1:0:0:0:0:1', length: 48 },
      dst: { address: '2001:db8:2::2', length: 128 },
      srcPorts: { from: 40000, to: 40010 },
      dstPorts: { from: 5000, to: 5001 },
    });
    expect(s.list()[0].src).toEqual({ address: '2001:db8:1::', length: 48 });
    const pkt = { protocol: 17, src: '2001:db8:1:ffff::9', srcPort: 40010, dst: '2001:db8:2:0::2', dstPort: 5001 };
    expect(s.lookup(pkt).matches.map((m) => m.id)).toEqual([id]);
    expect(s.lookup({ ...pkt, srcPort: 40011 }).verdict).toBe('none');
    expect(s.lookup({ ...pkt, src: '2001:db8:2::9' }).verdict).toBe('none');
    expect(s.lookup({ ...pkt, src: '198.18.1.1', dst: '198.18.2.2' }).verdict).toBe('none');
    expect(s.lookup({ ...pkt, src: 'not-an-ip' }).verdict).toBe('none');
  });

  test('wide pinholes (prefix destinations) and any-port pinholes', async () => {
    const s = new MemoryPinholeSet();
    await one(s, { ...base, protocol: 6, src: { address: '0.0.0.0', length: 0 }, dst: { address: '198.18.2.0', length: 23 }, dstPorts: undefined });
    expect(s.lookup({ protocol: 6, src: '203.0.113.1', srcPort: 1, dst: '198.18.3.255', dstPort: 22 }).verdict).toBe('allow');
    expect(s.lookup({ protocol: 6, src: '203.0.113.1', srcPort: 1, dst: '198.18.4.0', dstPort: 22 }).verdict).toBe('none');
  });

  test('invalid specs are refused with ENF_INVALID_SPEC and leave nothing staged', async () => {
    const s = new MemoryPinholeSet();
    const tx = s.begin();
    expect(codeOf(() => tx.add({ ...base, dst: { address: '2001:db8::1', length: 128 } }))).toBe('ENF_INVALID_SPEC');
    expect(codeOf(() => tx.add({ ...base, src: { address: '198.18.1.1', length: 33 } }))).toBe('ENF_INVALID_SPEC');
    expect(codeOf(() => tx.add({ ...base, src: { address: '198.18.1', length: 24 } }))).toBe('ENF_INVALID_SPEC');
    expect(codeOf(() => tx.add({ ...base, dstPorts: { from: 6000, to: 5000 } }))).toBe('ENF_INVALID_SPEC');
    expect(codeOf(() => tx.add({ ...base, dstPorts: { from: 1, to: 65536 } }))).toBe('ENF_INVALID_SPEC');
    expect(codeOf(() => tx.add({ ...base, protocol: 1 }))).toBe('ENF_INVALID_SPEC');
    expect(codeOf(() => tx.add({ ...base, protocol: 256 }))).toBe('ENF_INVALID_SPEC');
    expect(codeOf(() => tx.add({ ...base, action: 'maybe' as 'allow' }))).toBe('ENF_INVALID_SPEC');
    expect(codeOf(() => tx.add({ ...base, expiresAt: Number.NaN }))).toBe('ENF_INVALID_SPEC');
    await tx.commit(0);
    expect(s.list()).toEqual([]);
  });

  test('host bits are cleared and a full port range is folded to "any"', async () => {
    const s = new MemoryPinholeSet();
    await one(s, { ...base, src: { address: '198.18.1.77', length: 24 }, srcPorts: { from: 0, to: 65535 } });
    expect(s.list()[0].src).toEqual({ address: '198.18.1.0', length: 24 });
    expect(s.list()[0].srcPorts).toBeUndefined();
  });
});

describe('memory pinhole set: transactions', () => {
  test('nothing is visible before commit; abort discards', async () => {
    const s = new MemoryPinholeSet();
    const tx = s.begin();
    tx.add(base);
    expect(s.list()).toHaveLength(0);
    tx.abort();
    expect(s.list()).toHaveLength(0);
    expect(codeOf(() => tx.add(base))).toBe('ENF_TX_CLOSED');
    await expect(tx.commit(0)).rejects.toMatchObject({ code: 'ENF_TX_CLOSED' });
  });

  test('all or nothing: one bad op rejects the whole commit', async () => {
    const s = new MemoryPinholeSet();
    const keep = await one(s, base);
    const tx = s.begin();
    tx.add({ ...base, dstPorts: { from: 6000, to: 6000 } });
    tx.remove(keep);
    const other = s.begin();
    other.remove(keep);
    await other.commit(1);
    // keep is gone now, so tx's remove no longer applies: nothing of tx happens.
    await expect(tx.commit(2)).rejects.toMatchObject({ code: 'ENF_UNKNOWN_PINHOLE' });
    expect(s.list()).toEqual([]);
    expect(codeOf(() => s.begin().remove('nope'))).toBe('ENF_UNKNOWN_PINHOLE');
  });

  test('an add that would already be expired at commit is refused', async () => {
    const s = new MemoryPinholeSet();
    const tx = s.begin();
    tx.add({ ...base, expiresAt: 100 });
    tx.add({ ...base, expiresAt: 5000 });
    await expect(tx.commit(100)).rejects.toMatchObject({ code: 'ENF_INVALID_SPEC' });
    expect(s.list()).toEqual([]);
  });

  test('add then remove in one transaction is a no-op; refresh changes expiry; expire(now) removes by time', async () => {
    const s = new MemoryPinholeSet();
    const tx = s.begin();
    const a = tx.add(base);
    const b = tx.add({ ...base, expiresAt: 500 });
    tx.remove(a);
    await tx.commit(0);
    expect(s.list().map((p) => p.id)).toEqual([b]);
    const r = s.begin();
    r.refresh(b, 2000);
    await r.commit(400);
    expect(s.list()[0].expiresAt).toBe(2000);
    expect((await s.expire(1999)).pinholes).toEqual([]);
    const gone = await s.expire(2000);
    expect(gone.pinholes.map((p) => p.id)).toEqual([b]);
    expect(s.list()).toEqual([]);
    expect(s.lookup({ protocol: 17, src: '198.18.1.1', srcPort: 1, dst: '198.18.2.2', dstPort: 5000 }).verdict).toBe('none');
  });

  test('NAT bindings: add, refresh, remove, expire; invalid ones refused', async () => {
    const s = new MemoryPinholeSet();
    const tx = s.begin();
    const id = tx.addBinding({
      protocol: 17,
      external: { address: '198.18.2.1', port: 30000 },
      internal: { address: '198.18.1.1', port: 5000 },
      owner: 's',
      expiresAt: 100,
    });
    expect(
      codeOf(() =>
        tx.addBinding({ protocol: 17, external: { address: '198.18.2.1', port: 0 }, internal: { address: '198.18.1.1', port: 5000 }, owner: 's', expiresAt: 100 }),
      ),
    ).toBe('ENF_INVALID_SPEC');
    expect(
      codeOf(() =>
        tx.addBinding({ protocol: 17, external: { address: '2001:db8::1', port: 1 }, internal: { address: '198.18.1.1', port: 5000 }, owner: 's', expiresAt: 100 }),
      ),
    ).toBe('ENF_INVALID_SPEC');
    await tx.commit(0);
    expect(s.listBindings().map((b) => b.id)).toEqual([id]);
    const r = s.begin();
    r.refreshBinding(id, 300);
    await r.commit(50);
    expect((await s.expire(200)).bindings).toEqual([]);
    const rm = s.begin();
    rm.removeBinding(id);
    await rm.commit(250);
    expect(s.listBindings()).toEqual([]);
    expect(codeOf(() => s.begin().removeBinding(id))).toBe('ENF_UNKNOWN_PINHOLE');
  });
});

// ---- Property: the indexed lookup agrees with a brute-force model written independently. ----

interface Gen {
  v6: boolean;
  proto: number;
  src: [number, number]; // [host index 0..15, prefix length class]
  dst: [number, number];
  sport?: [number, number];
  dport?: [number, number];
  action: 'allow' | 'deny';
}

// Hosts are 16 consecutive addresses; prefix classes cover host, /30-ish (4 hosts), /28-ish (16 hosts), and everything.
const V4 = (i: number): string => `198.18.7.${i}`;
const V6 = (i: number): string => `2001:db8:7::${i.toString(16)}`;
const LEN4 = [32, 30, 28, 0];
const LEN6 = [128, 126, 124, 0];
const HOSTS_PER_CLASS = [1, 4, 16, Infinity];

function inNet(host: number, net: [number, number]): boolean {
  const size = HOSTS_PER_CLASS[net[1]];
  if (size === Infinity) return true;
  return Math.floor(host / size) === Math.floor(net[0] / size);
}

const portRange = fc.tuple(fc.integer({ min: 5000, max: 5006 }), fc.integer({ min: 0, max: 2 })) as fc.Arbitrary<[number, number]>;
const genArb: fc.Arbitrary<Gen> = fc.record(
  {
    v6: fc.boolean(),
    proto: fc.constantFrom(6, 17),
    src: fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 3 })),
    dst: fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 3 })),
    sport: portRange,
    dport: portRange,
    action: fc.constantFrom<'allow' | 'deny'>('allow', 'allow', 'deny'),
  },
  { requiredKeys: ['v6', 'proto', 'src', 'dst', 'action'] },
);

function toSpec(g: Gen): PinholeSpec {
  const a = g.v6 ? V6 : V4;
  const L = g.v6 ? LEN6 : LEN4;
  return {
    protocol: g.proto,
    src: { address: a(g.src[0]), length: L[g.src[1]] },
    dst: { address: a(g.dst[0]), length: L[g.dst[1]] },
    ...(g.sport ? { srcPorts: { from: g.sport[0], to: g.sport[0] + g.sport[1] } } : {}),
    ...(g.dport ? { dstPorts: { from: g.dport[0], to: g.dport[0] + g.dport[1] } } : {}),
    action: g.action,
    owner: 'p',
    expiresAt: 1e12,
  };
}

interface Pkt {
  v6: boolean;
  proto: number;
  s: number;
  d: number;
  sp: number;
  dp: number;
}
const pktArb: fc.Arbitrary<Pkt> = fc.record({
  v6: fc.boolean(),
  proto: fc.constantFrom(6, 17),
  s: fc.integer({ min: 0, max: 15 }),
  d: fc.integer({ min: 0, max: 15 }),
  sp: fc.integer({ min: 4999, max: 5009 }),
  dp: fc.integer({ min: 4999, max: 5009 }),
});

function bruteMatch(g: Gen, p: Pkt): boolean {
  const inPorts = (port: number, r?: [number, number]): boolean => r === undefined || (port >= r[0] && port <= r[0] + r[1]);
  return g.v6 === p.v6 && g.proto === p.proto && inNet(p.s, g.src) && inNet(p.d, g.dst) && inPorts(p.sp, g.sport) && inPorts(p.dp, g.dport);
}

type Step = { kind: 'add'; gens: Gen[]; removeIdx: number[]; failing: boolean };
const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constant('add' as const),
  gens: fc.array(genArb, { maxLength: 5 }),
  removeIdx: fc.array(fc.nat(), { maxLength: 3 }),
  failing: fc.boolean(),
});

describe('memory pinhole set: property', () => {
  test('lookups equal a brute-force model across random transactions (including failing ones)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { maxLength: 8 }), fc.array(pktArb, { minLength: 20, maxLength: 40 }), async (steps, pkts) => {
        const set = new MemoryPinholeSet();
        let model: Array<{ id: string; g: Gen }> = [];
        for (const st of steps) {
          const tx = set.begin();
          const added = st.gens.map((g) => ({ id: tx.add(toSpec(g)), g }));
          const ids = [...new Set(st.removeIdx.filter((i) => i < model.length).map((i) => model[i].id))];
          for (const id of ids) tx.remove(id);
          if (st.failing) {
            // A remove of something that does not exist at commit makes the whole transaction fail.
            const killer = set.begin();
            const victim = killer.add(toSpec(st.gens[0] ?? genArbDefault));
            await killer.commit(0);
            tx.remove(victim);
            const undo = set.begin();
            undo.remove(victim);
            await undo.commit(0);
            await expect(tx.commit(0)).rejects.toBeInstanceOf(EnforcementError);
          } else {
            await tx.commit(0);
            model = model.filter((m) => !ids.includes(m.id)).concat(added);
          }
          expect(new Set(set.list().map((p) => p.id))).toEqual(new Set(model.map((m) => m.id)));
          for (const p of pkts) {
            const a = p.v6 ? V6 : V4;
            const r = set.lookup({ protocol: p.proto, src: a(p.s), srcPort: p.sp, dst: a(p.d), dstPort: p.dp });
            const hits = model.filter((m) => bruteMatch(m.g, p));
            const verdict = hits.some((h) => h.g.action === 'deny') ? 'deny' : hits.length > 0 ? 'allow' : 'none';
            expect(r.verdict).toBe(verdict);
            expect(new Set(r.matches.map((m) => m.id))).toEqual(new Set(hits.map((h) => h.id)));
            const firstAllow = r.matches.findIndex((m) => m.action === 'allow');
            if (firstAllow >= 0) expect(r.matches.slice(firstAllow).every((m) => m.action === 'allow')).toBe(true);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

const genArbDefault: Gen = { v6: false, proto: 17, src: [0, 0], dst: [1, 0], action: 'allow' };

describe('memory pinhole set: ids', () => {
  test('pinhole numbers are 32-bit and wrap past 0xffffffff, skipping numbers in use', async () => {
    const s = new MemoryPinholeSet();
    const first = await one(s, base);
    expect(first).toBe('ph-1');
    (s as unknown as { nextPinhole: number }).nextPinhole = 0xffffffff;
    const tx = s.begin();
    const a = tx.add({ ...base, dstPorts: { from: 5001, to: 5001 } });
    const b = tx.add({ ...base, dstPorts: { from: 5002, to: 5002 } });
    await tx.commit(0);
    expect([a, b]).toEqual(['ph-ffffffff', 'ph-2']);
    expect(s.get(a)?.dstPorts).toEqual({ from: 5001, to: 5001 });
    expect(s.lookup({ protocol: 17, src: '198.18.1.1', srcPort: 1, dst: '198.18.2.2', dstPort: 5001 }).matches.map((m) => m.id)).toEqual([a]);
  });
});

describe('memory pinhole set: compact table at scale', () => {
  test('thousands of pinholes through index growth and slot reuse: rows read back exactly, lookups equal the reference match', async () => {
    const set = new MemoryPinholeSet();
    const specOf = (i: number): PinholeSpec => {
      const v6 = i % 7 === 0;
      const host = (n: number): string => (v6 ? `2001:db8:${(n >> 8) & 0xff}::${(n & 0xff).toString(16)}` : `198.18.${(n >> 8) & 0xff}.${n & 0xff}`);
      const full = v6 ? 128 : 32;
      const dport = 5000 + (i % 50);
      return {
        protocol: i % 3 === 0 ? 6 : 17,
        src: i % 11 === 0 ? { address: v6 ? '2001:db8::' : '198.18.0.0', length: v6 ? 32 : 16 } : { address: host(i), length: full },
        // a few wide (prefix) destinations; most hosts, many pinholes sharing one destination
        dst: i % 13 === 0 ? { address: v6 ? '2001:db8:99::' : '198.19.0.0', length: v6 ? 48 : 16 } : { address: v6 ? `2001:db8:99::${(i % 40).toString(16)}` : `198.19.0.${i % 40}`, length: full },
        ...(i % 5 === 0 ? {} : { dstPorts: i % 4 === 0 ? { from: dport, to: dport + 9 } : { from: dport, to: dport + (i % 2) } }),
        ...(i % 6 === 0 ? { srcPorts: { from: 40000 + (i % 100), to: 40000 + (i % 100) } } : {}),
        action: i % 17 === 0 ? 'deny' : 'allow',
        owner: `o${i}`,
        expiresAt: 1e12 + i,
      };
    };
    const ids = new Map<number, string>();
    const add = async (from: number, to: number): Promise<void> => {
      const tx = set.begin();
      for (let i = from; i < to; i++) ids.set(i, tx.add(specOf(i)));
      await tx.commit(0);
    };
    await add(0, 4000);
    const rm = set.begin();
    for (let i = 0; i < 4000; i += 2) {
      rm.remove(ids.get(i)!);
      ids.delete(i);
    }
    await rm.commit(0);
    await add(4000, 6000); // reuses the freed rows
    expect(set.size).toBe(4000);
    for (const [i, id] of ids) expect(set.get(id)).toEqual({ ...normalizeSpec(specOf(i)), id });
    const all = set.list();
    expect(all.length).toBe(4000);
    for (let k = 0; k < 600; k++) {
      const i = (k * 7919) % 6000;
      const s = specOf(i);
      const v6 = s.src.address.includes(':');
      const pkt = {
        protocol: k % 4 === 0 ? 6 : s.protocol,
        src: v6 ? `2001:db8:${(i >> 8) & 0xff}::${(i & 0xff).toString(16)}` : `198.18.${(i >> 8) & 0xff}.${i & 0xff}`,
        srcPort: 40000 + (k % 100),
        dst: v6 ? `2001:db8:99::${(k % 41).toString(16)}` : `198.19.0.${k % 41}`,
        dstPort: 5000 + (k % 61),
      };
      const parsed = parsePacket(pkt)!;
      const want = all.filter((p) => pinholeMatches(p, parsed));
      const r = set.lookup(pkt);
      expect(new Set(r.matches.map((m) => m.id))).toEqual(new Set(want.map((p) => p.id)));
      expect(r.verdict).toBe(want.some((p) => p.action === 'deny') ? 'deny' : want.length > 0 ? 'allow' : 'none');
    }
    const gone = await set.expire(1e12 + 4100);
    expect(gone.pinholes.map((p) => p.expiresAt).every((t) => t <= 1e12 + 4100)).toBe(true);
    expect(set.size).toBe(4000 - gone.pinholes.length);
    expect(set.list().every((p) => p.expiresAt > 1e12 + 4100)).toBe(true);
  });
});

describe('pinhole id numbers (compact table)', () => {
  // The reference: what the table accepted when it parsed ids with a regular expression.
  const reference = (id: string): number => {
    const m = /^ph-([0-9a-f]{1,8})$/.exec(id);
    return m === null ? -1 : parseInt(m[1], 16);
  };

  it('reads exactly the ids ph-<1 to 8 lowercase hex digits>, as the regular expression did', () => {
    const hex = fc.constantFrom(...'0123456789abcdefABCDEFgx-'.split(''));
    const idLike = fc.tuple(fc.constantFrom('ph-', 'ph', 'Ph-', 'pH-', 'xh-', ''), fc.array(hex, { maxLength: 11 })).map(([p, d]) => p + d.join(''));
    fc.assert(fc.property(fc.oneof(idLike, fc.string()), (id) => expect(pinholeIdNumber(id)).toBe(reference(id))), { numRuns: 5000 });
    expect(pinholeIdNumber('ph-ffffffff')).toBe(0xffffffff);
    expect(pinholeIdNumber('ph-0')).toBe(0);
    expect(pinholeIdNumber('ph-')).toBe(-1);
    expect(pinholeIdNumber('ph-123456789')).toBe(-1);
  });
});
