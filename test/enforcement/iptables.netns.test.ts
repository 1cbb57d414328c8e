/**
 * The iptables backend (one rule per pinhole) against real netfilter:
 * A – R – B, the backend's chains in R, standalone mode. The nftables tests
 * that apply to it: blocked by default, pinhole delivers, sub_ports, deny
 * beats allow, removal cuts a running flow, a later deny cuts a flow, IPv6,
 * reconcile. (No kernel timeouts here: expiry with the daemon gone does not apply.)
 */
import { IptablesPinholeSet } from '../../enforcement/iptables';
import type { PinholeSpec } from '../../enforcement';
import { LINE, NetnsLab } from '../../testbed/netns';
import { describeNetns } from '../helpers/netns';
import { echoServer, flow, killAll, probe, sleep } from './helpers/traffic';

const { A4, B4, A6, B6 } = LINE;

function spec(over: Partial<PinholeSpec> = {}): PinholeSpec {
  return {
    protocol: 17,
    src: { address: A4, length: 32 },
    dst: { address: B4, length: 32 },
    dstPorts: { from: 5000, to: 5000 },
    action: 'allow',
    owner: 'ipt',
    expiresAt: Date.now() + 60_000,
    ...over,
  };
}

describeNetns(
  'iptables backend in namespaces (standalone)',
  () => {
    let lab: NetnsLab;
    let set: IptablesPinholeSet;
    const stops: Array<() => void> = [];

    beforeAll(async () => {
      lab = NetnsLab.line('ipt');
      await IptablesPinholeSet.setup({ netns: lab.ns('R') });
      set = await IptablesPinholeSet.open({ netns: lab.ns('R'), now: Date.now() });
      for (const [proto, port] of [
        ['udp', 5000],
        ['udp', 5001],
        ['udp', 5002],
        ['tcp', 5000],
      ] as const) {
        stops.push((await echoServer(lab, 'B', proto, B4, port)).stop);
        if (port === 5000) stops.push((await echoServer(lab, 'B', proto, B6, port)).stop);
      }
    }, 60_000);

    afterAll(() => {
      for (const s of stops) s();
      killAll();
      lab?.destroy();
    });

    async function commit(f: (tx: ReturnType<IptablesPinholeSet['begin']>) => void): Promise<void> {
      const tx = set.begin();
      f(tx);
      await tx.commit(Date.now());
    }

    test('blocked without a pinhole; a pinhole (v4, v6, sub_ports=1) delivers exactly its flows; deny beats allow', async () => {
      expect(await probe(lab, 'A', 'udp', A4, 40001, B4, 5000)).toBe(false);
      expect(await probe(lab, 'A', 'tcp', A4, 40002, B4, 5000)).toBe(false);
      let ids: string[] = [];
      await commit((tx) => {
        ids = [
          tx.add(spec({ dstPorts: { from: 5000, to: 5001 } })),
          tx.add(spec({ protocol: 6 })),
          tx.add(spec({ src: { address: A6, length: 128 }, dst: { address: B6, length: 128 } })),
          tx.add(spec({ action: 'deny', srcPorts: { from: 40100, to: 40199 } })),
        ];
      });
      expect(await probe(lab, 'A', 'udp', A4, 40003, B4, 5000)).toBe(true);
      expect(await probe(lab, 'A', 'udp', A4, 40004, B4, 5001)).toBe(true);
      expect(await probe(lab, 'A', 'udp', A4, 40005, B4, 5002)).toBe(false);
      expect(await probe(lab, 'A', 'tcp', A4, 40006, B4, 5000)).toBe(true);
      expect(await probe(lab, 'A', 'udp', A6, 40007, B6, 5000)).toBe(true);
      expect(await probe(lab, 'A', 'udp', A4, 40150, B4, 5000)).toBe(false);
      await commit((tx) => ids.forEach((id) => tx.remove(id)));
      expect(await probe(lab, 'A', 'udp', A4, 40008, B4, 5000)).toBe(false);
    }, 60_000);

    test('removal cuts a running flow (conntrack -D), and a later deny cuts one too', async () => {
      let id = '';
      await commit((tx) => {
        id = tx.add(spec({ srcPorts: { from: 41000, to: 41001 } }));
      });
      const f = flow(lab, 'A', 'udp', A4, 41000, B4, 5000);
      try {
        expect(await f.more(10, 10_000)).toBe(true);
        await commit((tx) => tx.remove(id));
        await sleep(500);
        expect(await f.more(1, 1000)).toBe(false);
      } finally {
        f.stop();
      }
      let allow = '';
      await commit((tx) => {
        allow = tx.add(spec({ srcPorts: { from: 41001, to: 41001 } }));
      });
      const g = flow(lab, 'A', 'udp', A4, 41001, B4, 5000);
      try {
        expect(await g.more(10, 10_000)).toBe(true);
        await commit((tx) => tx.add(spec({ action: 'deny', src: { address: '198.18.1.0', length: 24 } })));
        await sleep(500);
        expect(await g.more(1, 1000)).toBe(false);
      } finally {
        g.stop();
      }
      await commit((tx) => {
        tx.remove(allow);
        for (const p of set.list()) if (p.action === 'deny') tx.remove(p.id);
      });
    }, 30_000);

    test('reconcile: a new instance reads the rules back; with an empty desired state it removes them', async () => {
      await commit((tx) => {
        tx.add(spec({ owner: 'keep-me' }));
        tx.add(spec({ src: { address: A6, length: 128 }, dst: { address: '2001:db8:2::', length: 64 }, dstPorts: { from: 6000, to: 6010 } }));
      });
      const again = await IptablesPinholeSet.open({ netns: lab.ns('R'), now: Date.now() });
      const norm = (l: readonly { id: string }[]): string[] => l.map((p) => JSON.stringify({ ...p, expiresAt: 0 }, Object.keys(p).sort())).sort();
      expect(norm(again.list())).toEqual(norm(set.list()));
      const cleared = await IptablesPinholeSet.open({ netns: lab.ns('R'), now: Date.now(), desired: { pinholes: [] } });
      expect(cleared.list()).toEqual([]);
      expect(lab.exec('R', 'iptables', ['-S', 'NATFW_ALLOW'])).not.toMatch(/natfw ph-/);
      expect(lab.exec('R', 'ip6tables', ['-S', 'NATFW_ALLOW'])).not.toMatch(/natfw ph-/);
    }, 30_000);
  },
  ['iptables', 'conntrack'],
);
