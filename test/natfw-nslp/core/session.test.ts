/**
 * Session's compact MRI (natfw-nslp/core/session.ts): a plain path-coupled MRI
 * is kept as four fields and built again when sent; others are kept whole. What
 * comes back must equal what went in, field for field and with the same keys.
 */
import fc from 'fast-check';
import type { LooseEndMri, Mri, PathCoupledMri } from '../../../gist/types';
import { invertDirection } from '../../../gist/types';
import { sameMri, Session } from '../../../natfw-nslp/core/session';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((w) => w.map((x) => x.toString(16)).join(':'));

const pathCoupled: fc.Arbitrary<PathCoupledMri> = fc
  .record({
    ipVersion: fc.constantFrom(4 as const, 6 as const),
    protocol: fc.option(fc.nat(255), { nil: undefined }),
    sourcePort: fc.option(fc.nat(65535), { nil: undefined }),
    destinationPort: fc.option(fc.nat(65535), { nil: undefined }),
    direction: fc.constantFrom('downstream' as const, 'upstream' as const),
    rare: fc.option(fc.constantFrom('dsField', 'flowLabel', 'spi', 'nFlag'), { nil: undefined }),
    a: fc.tuple(v4, v4, v6, v6),
    sp: fc.nat(128),
    dp: fc.nat(128),
  })
  .map((r) => {
    const bits = r.ipVersion === 4 ? 32 : 128;
    const m: { -readonly [K in keyof PathCoupledMri]: PathCoupledMri[K] } = {
      mrm: 'path-coupled',
      ipVersion: r.ipVersion,
      sourceAddress: r.ipVersion === 4 ? r.a[0] : r.a[2],
      destinationAddress: r.ipVersion === 4 ? r.a[1] : r.a[3],
      sourcePrefix: r.sp % (bits + 1),
      destinationPrefix: r.dp % (bits + 1),
      direction: r.direction,
    };
    // Ports need the protocol (RFC 5971 A.3.1.1: A/B need P).
    if (r.protocol !== undefined) {
      m.protocol = r.protocol;
      if (r.sourcePort !== undefined) m.sourcePort = r.sourcePort;
      if (r.destinationPort !== undefined) m.destinationPort = r.destinationPort;
    }
    if (r.rare === 'dsField') m.dsField = 46;
    if (r.rare === 'flowLabel' && r.ipVersion === 6) m.flowLabel = 0xabcde;
    if (r.rare === 'spi' && r.protocol !== undefined) m.spi = 0x12345678;
    if (r.rare === 'nFlag') m.nFlag = true;
    return m;
  });

const looseEnd: fc.Arbitrary<LooseEndMri> = fc
  .record({ a: fc.tuple(v4, v4), d: fc.constantFrom('towards-edge' as const, 'from-edge' as const) })
  .map((r) => ({ mrm: 'loose-end', ipVersion: 4, sourceAddress: r.a[0], destinationAddress: r.a[1], direction: r.d }));

const mri: fc.Arbitrary<Mri> = fc.oneof(pathCoupled, looseEnd);

/** A copy with fresh address strings (as a decoder makes them). */
const fresh = (m: Mri): Mri => ({ ...m, sourceAddress: m.sourceAddress.split('').join(''), destinationAddress: m.destinationAddress.split('').join('') });

describe('Session MRI', () => {
  test('mriUp gives back the MRI it was given (same keys and values), mriReply its inversion, mriDown follows it', () => {
    fc.assert(
      fc.property(mri, (m) => {
        const s = new Session('00', 'NF', 'CREATE', m, 0);
        expect(s.mriUp).toStrictEqual(m);
        expect(Object.keys(s.mriUp).sort()).toEqual(Object.keys(m).sort());
        expect(s.mriReply).toStrictEqual(invertDirection(m));
        expect(s.mriDown).toStrictEqual(m);
        expect(s.translated).toBe(false);
        expect(s.ipVersion).toBe(m.ipVersion);
        expect(s.isUp(fresh(m))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('isUp agrees with field-by-field equality', () => {
    fc.assert(
      fc.property(mri, mri, (a, b) => {
        const s = new Session('00', 'NF', 'CREATE', a, 0);
        expect(s.isUp(b)).toBe(sameMri(a, b));
      }),
      { numRuns: 500 },
    );
  });

  test('address texts go through intern (sessions share them)', () => {
    const table = new Map<string, string>();
    const intern = (x: string): string => table.get(x) ?? (table.set(x, x), x);
    const m: PathCoupledMri = { mrm: 'path-coupled', ipVersion: 4, sourceAddress: '198.18.0.1', destinationAddress: '198.18.3.1', sourcePrefix: 32, destinationPrefix: 32, protocol: 17, sourcePort: 40000, destinationPort: 5004, direction: 'downstream' };
    new Session('01', 'NF', 'CREATE', fresh(m), 0, intern);
    new Session('02', 'NF', 'CREATE', fresh(m), 0, intern);
    expect(table.size).toBe(2);
  });

  test('setDown: a translated MRI is kept whole; the installed rule remembers the MRI it was made from', () => {
    const up: PathCoupledMri = { mrm: 'path-coupled', ipVersion: 4, sourceAddress: '198.18.5.9', destinationAddress: '198.19.0.7', sourcePrefix: 32, destinationPrefix: 32, protocol: 17, sourcePort: 40000, destinationPort: 5004, direction: 'downstream' };
    const down: PathCoupledMri = { ...up, sourceAddress: '198.19.0.1', sourcePort: 41000 };
    const s = new Session('00', 'NF', 'CREATE', up, 0);
    s.setDown(down);
    expect(s.translated).toBe(true);
    expect(s.mriDown).toBe(down);
    s.setInstalledFromDown(2);
    expect(s.installedFromDown).toBe(true);
    expect(s.installedMri).toStrictEqual(down);
    // The same translation again changes nothing.
    s.setDown({ ...down });
    expect(s.installedFromDown).toBe(true);
    // A new translation: the rule installed from the old one is remembered.
    const down2: PathCoupledMri = { ...down, sourcePort: 41001 };
    s.setDown(down2);
    expect(s.installedFromDown).toBe(false);
    expect(s.installedMri).toStrictEqual(down);
    s.setInstalledFromDown(2);
    expect(s.installedMri).toStrictEqual(down2);
    // Untranslated again: mriDown is mriUp.
    s.setDown(undefined);
    expect(s.translated).toBe(false);
    expect(s.mriDown).toStrictEqual(up);
    expect(s.installedMri).toStrictEqual(down2);
  });

  test('setUp with a new flow while mriDown follows mriUp: the installed rule keeps the old MRI', () => {
    const up: PathCoupledMri = { mrm: 'path-coupled', ipVersion: 4, sourceAddress: '198.18.5.9', destinationAddress: '198.19.0.7', sourcePrefix: 32, destinationPrefix: 32, protocol: 6, sourcePort: 1, destinationPort: 2, direction: 'downstream' };
    const s = new Session('00', 'NF', 'CREATE', up, 0);
    s.setInstalledFromDown(2);
    s.setUp(fresh(up), (a) => a);
    expect(s.installedFromDown).toBe(true);
    const moved: PathCoupledMri = { ...up, destinationPort: 3 };
    s.setUp(moved, (a) => a);
    expect(s.installedFromDown).toBe(false);
    expect(s.installedMri).toStrictEqual(up);
    expect(s.mriDown).toStrictEqual(moved);
  });
});

describe('Session MSNs', () => {
  const m: PathCoupledMri = { mrm: 'path-coupled', ipVersion: 4, sourceAddress: '198.18.5.9', destinationAddress: '198.19.0.7', sourcePrefix: 32, destinationPrefix: 32, direction: 'downstream' };

  test('pendingMsn is the MSN it was set to, whatever msn does afterwards, over the whole 32-bit range', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('msn', 'pending', 'clear'), fc.oneof(fc.nat(0xffffffff), fc.constantFrom(0, 0x7fffffff, 0x80000000, 0xffffffff))), { maxLength: 30 }), (ops) => {
        const s = new Session('00', 'NF', 'CREATE', m, 0);
        let msn = 0;
        let pending: number | undefined;
        for (const [op, v] of ops) {
          if (op === 'msn') s.msn = msn = v;
          else if (op === 'pending') s.pendingMsn = pending = v;
          else s.pendingMsn = pending = undefined;
          expect(s.msn).toBe(msn);
          expect(s.pendingMsn).toBe(pending);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('the usual case (pendingMsn = msn) makes no extra object', () => {
    const s = new Session('00', 'NF', 'CREATE', m, 0);
    s.msn = 0xfffffff0;
    s.pendingMsn = 0xfffffff0;
    expect(s.pendingMsn).toBe(0xfffffff0);
    expect((s as unknown as { ext: unknown }).ext).toBeUndefined();
  });
});
