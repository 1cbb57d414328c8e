/**
 * Reconcile after a crash: a process committing transactions in a loop is
 * killed with SIGKILL mid-stream; a new instance must find a consistent table
 * (every generation complete or absent: commits are atomic), adopt it, and
 * remove what the node no longer wants.
 */
import { NftPinholeSet } from '../../enforcement/nft/backend';
import { NetnsLab } from '../../testbed/netns';
import { describeNetns } from '../helpers/netns';
import { runTsChild } from './helpers/ts-child';
import { sleep } from './helpers/traffic';

describeNetns(
  'nftables backend: reconcile',
  () => {
    let lab: NetnsLab;
    beforeAll(() => {
      lab = NetnsLab.line('rec');
    });
    afterAll(() => lab?.destroy());

    test('kill -9 in the middle of a stream of commits leaves a consistent table; reconcile keeps or removes whole pinholes', async () => {
      const netns = lab.ns('R');
      await NftPinholeSet.setup({ netns });
      const PER = 300;
      const child = runTsChild('test/enforcement/helpers/commit-loop.ts', [netns, String(PER)]);
      let out = '';
      let err = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      const end = Date.now() + 20_000;
      while (!/C 3\n/.test(out) && Date.now() < end && child.exitCode === null) await sleep(20);
      expect(err).toBe('');
      expect(out).toMatch(/C 3\n/);
      // Kill at an arbitrary point of a later commit.
      await sleep(Math.floor(Math.random() * 40));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      const { set, report } = await NftPinholeSet.open({ netns, now: Date.now(), setup: false });
      try {
        expect(report.unreadable).toBe(0);
        const byOwner = new Map<string, number>();
        for (const p of set.list()) byOwner.set(p.owner, (byOwner.get(p.owner) ?? 0) + 1);
        // Exactly one generation is installed, and it is complete.
        expect([...byOwner.values()]).toEqual([PER]);
        // A second look finds nothing to repair.
        const again = await set.reconcile(Date.now());
        expect(again).toMatchObject({ removed: 0, kept: PER, unreadable: 0 });
        // The node's state after the crash is "nothing": reconcile removes every element, live marks included.
        const r = await set.reconcile(Date.now(), { pinholes: [], bindings: [] });
        expect(r).toMatchObject({ removed: PER, kept: 0 });
        const { elements } = await set.readKernel();
        expect(elements).toEqual([]);
      } finally {
        set.close();
      }
    }, 60_000);

    test('reconcile removes inconsistent state: a map element without its live mark, a live mark without elements, a permanent element', async () => {
      const netns = lab.ns('R');
      await NftPinholeSet.setup({ netns });
      lab.exec('R', 'nft', [
        '-f',
        '-',
      ], [
        'add element inet natfw a4_full_0 { 198.18.1.1 . 198.18.2.2 . udp . 1000 . 2000 timeout 60s comment "x" : 0x00000777 }',
        'add element inet natfw live { 0x00000778 timeout 60s }',
        'add element inet natfw a4_nosp_0 { 198.18.1.1 . 198.18.2.2 . udp . 3000 comment "perm" : 0x00000779 }',
        'add element inet natfw live { 0x00000779 timeout 60s }',
        'add element inet natfw a4_nosp_0 { 198.18.1.1 . 198.18.2.2 . udp . 4000 timeout 60s comment "ok" : 0x0000077a }',
        'add element inet natfw live { 0x0000077a timeout 60s }',
      ].join('\n') + '\n');
      const { set, report } = await NftPinholeSet.open({ netns, now: Date.now(), setup: false });
      try {
        expect(set.list().map((p) => [p.id, p.owner, p.dstPorts])).toEqual([['ph-77a', 'ok', { from: 4000, to: 4000 }]]);
        expect(report.kept).toBe(1);
        const { elements } = await set.readKernel();
        expect(elements.map((e) => e.set).sort()).toEqual(['a4_nosp_0', 'live']);
        // A new pinhole gets a fresh number above what the kernel held.
        const tx = set.begin();
        const id = tx.add({ protocol: 6, src: { address: '198.18.1.1', length: 32 }, dst: { address: '198.18.2.2', length: 32 }, action: 'allow', owner: 'n', expiresAt: Date.now() + 5000 });
        await tx.commit(Date.now());
        expect(id).toBe('ph-77b');
      } finally {
        set.close();
      }
    }, 30_000);

    test('pinholes of the desired state missing from the kernel are installed with their ids; new ids never collide with them', async () => {
      const netns = lab.ns('R');
      await NftPinholeSet.teardown({ netns });
      const spec = (port: number) => ({ protocol: 17, src: { address: '198.18.1.1', length: 32 }, dst: { address: '198.18.2.2', length: 32 }, dstPorts: { from: port, to: port }, action: 'allow' as const, owner: 'd', expiresAt: Date.now() + 60_000 });
      const { set, report } = await NftPinholeSet.open({ netns, now: Date.now(), desired: { pinholes: [{ ...spec(7000), id: 'ph-500' }], bindings: [] } });
      try {
        expect(report.added).toBe(1);
        expect(set.get('ph-500')).toMatchObject({ dstPorts: { from: 7000, to: 7000 } });
        const tx = set.begin();
        const id = tx.add(spec(7001));
        await tx.commit(Date.now());
        expect(id).toBe('ph-501');
        expect(set.list().map((p) => p.id).sort()).toEqual(['ph-500', 'ph-501']);
      } finally {
        set.close();
      }
    }, 30_000);
  },
  ['nft'],
);
