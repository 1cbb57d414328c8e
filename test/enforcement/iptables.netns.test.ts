/**
 * The iptables backend (one rule per pinhole) against real netfilter:
 * A – R – B, the backend's chains in R, standalone mode. The nftables tests
 * that apply to it: blocked by default, pinhole delivers, sub_ports, deny
 * beats allow, removal cuts a running flow, a later deny cuts a flow, IPv6,
 * reconcile, NAT bindings, and expiry with the daemon gone (rules carry an
 * xt_time datestop: iptables cannot time a rule out, but it stops matching).
 */
import { IptablesPinholeSet } from '../../enforcement/iptables';
import { LINE } from '../../testbed/netns';
import { describeNetns } from '../helpers/netns';
import { ipv6BindingTest, pinholeLab } from './helpers/lab';
import { echoServer, flow, probe, sleep } from './helpers/traffic';

const { A4, B4, A6, B6, R4b } = LINE;

describeNetns(
  'iptables backend in namespaces (standalone)',
  () => {
    const h = pinholeLab<IptablesPinholeSet>({
      tag: 'ipt',
      open: async (netns) => {
        await IptablesPinholeSet.setup({ netns });
        return IptablesPinholeSet.open({ netns, now: Date.now(), graceMs: 500 });
      },
      servers: [
        ['udp', 5000, true],
        ['udp', 5001, false],
        ['udp', 5002, false],
        ['tcp', 5000, true],
      ],
      owner: 'ipt',
    });

    test('blocked without a pinhole; a pinhole (v4, v6, sub_ports=1) delivers exactly its flows; deny beats allow', async () => {
      expect(await probe(h.lab, 'A', 'udp', A4, 40001, B4, 5000)).toBe(false);
      expect(await probe(h.lab, 'A', 'tcp', A4, 40002, B4, 5000)).toBe(false);
      let ids: string[] = [];
      await h.commit((tx) => {
        ids = [
          tx.add(h.spec({ dstPorts: { from: 5000, to: 5001 } })),
          tx.add(h.spec({ protocol: 6 })),
          tx.add(h.spec({ src: { address: A6, length: 128 }, dst: { address: B6, length: 128 } })),
          tx.add(h.spec({ action: 'deny', srcPorts: { from: 40100, to: 40199 } })),
        ];
      });
      expect(await probe(h.lab, 'A', 'udp', A4, 40003, B4, 5000)).toBe(true);
      expect(await probe(h.lab, 'A', 'udp', A4, 40004, B4, 5001)).toBe(true);
      expect(await probe(h.lab, 'A', 'udp', A4, 40005, B4, 5002)).toBe(false);
      expect(await probe(h.lab, 'A', 'tcp', A4, 40006, B4, 5000)).toBe(true);
      expect(await probe(h.lab, 'A', 'udp', A6, 40007, B6, 5000)).toBe(true);
      expect(await probe(h.lab, 'A', 'udp', A4, 40150, B4, 5000)).toBe(false);
      await h.commit((tx) => ids.forEach((id) => tx.remove(id)));
      expect(await probe(h.lab, 'A', 'udp', A4, 40008, B4, 5000)).toBe(false);
    }, 60_000);

    test('removal cuts a running flow (conntrack -D), and a later deny cuts one too', async () => {
      let id = '';
      await h.commit((tx) => {
        id = tx.add(h.spec({ srcPorts: { from: 41000, to: 41001 } }));
      });
      const f = flow(h.lab, 'A', 'udp', A4, 41000, B4, 5000);
      try {
        expect(await f.more(10, 10_000)).toBe(true);
        await h.commit((tx) => tx.remove(id));
        await sleep(500);
        expect(await f.more(1, 1000)).toBe(false);
      } finally {
        f.stop();
      }
      let allow = '';
      await h.commit((tx) => {
        allow = tx.add(h.spec({ srcPorts: { from: 41001, to: 41001 } }));
      });
      const g = flow(h.lab, 'A', 'udp', A4, 41001, B4, 5000);
      try {
        expect(await g.more(10, 10_000)).toBe(true);
        await h.commit((tx) => tx.add(h.spec({ action: 'deny', src: { address: '198.18.1.0', length: 24 } })));
        await sleep(500);
        expect(await g.more(1, 1000)).toBe(false);
      } finally {
        g.stop();
      }
      await h.commit((tx) => {
        tx.remove(allow);
        for (const p of h.set.list()) if (p.action === 'deny') tx.remove(p.id);
      });
    }, 30_000);

    test('a NAT binding (DNAT/SNAT rules in its own nat chains) carries UDP and TCP both ways, and its removal cuts the flow', async () => {
      const stopsA = [(await echoServer(h.lab, 'A', 'udp', A4, 6000)).stop, (await echoServer(h.lab, 'A', 'tcp', A4, 6000)).stop];
      try {
        let ids: string[] = [];
        await h.commit((tx) => {
          ids = [17, 6].map((protocol) =>
            tx.addBinding({ protocol, external: { address: R4b, port: 30000 }, internal: { address: A4, port: 6000 }, owner: 'nat', expiresAt: Date.now() + 60_000 }),
          );
          ids.push(tx.addBinding({ protocol: 17, external: { address: R4b, port: 31000 }, internal: { address: A4, port: 47000 }, owner: 'nat', expiresAt: Date.now() + 60_000 }));
        });
        expect(h.lab.exec('R', 'iptables', ['-t', 'nat', '-S', 'NATFW_PRE'])).toMatch(/-j DNAT --to-destination 198\.18\.1\.1:6000/);
        // Inbound: B -> R's external address:30000 reaches A:6000 and the answer comes back.
        expect(await probe(h.lab, 'B', 'udp', B4, 46000, R4b, 30000)).toBe(true);
        expect(await probe(h.lab, 'B', 'tcp', B4, 46001, R4b, 30000)).toBe(true);
        expect(await probe(h.lab, 'B', 'udp', B4, 46002, R4b, 30001)).toBe(false);
        // Outbound: A:47000 -> B leaves as R's external address:31000 (B's echo answers it, the reply is un-NATed).
        expect(await probe(h.lab, 'A', 'udp', A4, 47000, B4, 5000)).toBe(true);
        expect(await probe(h.lab, 'A', 'udp', A4, 47001, B4, 5000)).toBe(false);
        const ct = h.lab.tryExec('R', 'conntrack', ['-L', '-p', 'udp', '--orig-port-src', '47000']);
        if (ct.status === 0) expect(ct.stdout + ct.stderr).toMatch(new RegExp(`dst=${R4b.replace(/\./g, '\\.')} sport=5000 dport=31000`));
        // A reader with no daemon state rebuilds the bindings from the rules.
        const again = await IptablesPinholeSet.open({ netns: h.lab.ns('R'), now: Date.now() });
        expect(again.listBindings().map((b) => `${b.id} ${b.protocol} ${b.external.address}:${b.external.port}>${b.internal.address}:${b.internal.port}`).sort()).toEqual(
          h.set.listBindings().map((b) => `${b.id} ${b.protocol} ${b.external.address}:${b.external.port}>${b.internal.address}:${b.internal.port}`).sort(),
        );
        const f = flow(h.lab, 'B', 'udp', B4, 46003, R4b, 30000);
        try {
          expect(await f.more(10, 10_000)).toBe(true);
          await h.commit((tx) => ids.forEach((id) => tx.removeBinding(id)));
          await sleep(500);
          expect(await f.more(1, 1000)).toBe(false);
        } finally {
          f.stop();
        }
        expect(await probe(h.lab, 'B', 'udp', B4, 46004, R4b, 30000)).toBe(false);
        expect(h.lab.exec('R', 'iptables', ['-t', 'nat', '-S'])).not.toMatch(/natfw nb-/);
        expect(h.lab.exec('R', 'iptables', ['-S', 'NATFW_ALLOW'])).not.toMatch(/natfw nb-/);
      } finally {
        stopsA.forEach((s) => s());
      }
    }, 60_000);

    ipv6BindingTest(h);

    test('with the daemon gone, the datestop closes the pinhole to new flows; a refresh moves the datestop', async () => {
      // A second instance stands for a daemon that installs and dies: nobody calls expire or remove.
      const other = await IptablesPinholeSet.open({ netns: h.lab.ns('R'), now: Date.now(), graceMs: 500 });
      const t0 = Date.now();
      const tx = other.begin();
      const id = tx.add(h.spec({ srcPorts: { from: 45000, to: 45010 }, expiresAt: t0 + 2000 }));
      await tx.commit(t0);
      const rule = (): string => h.lab.exec('R', 'iptables', ['-S', 'NATFW_ALLOW']).split('\n').find((l) => l.includes(`natfw ${id} `)) ?? '';
      const stop0 = /--datestop (\S+)/.exec(rule())?.[1];
      expect(stop0).toBeDefined();
      expect(Math.abs(Date.parse(`${stop0}Z`) - (t0 + 2500))).toBeLessThanOrEqual(1000);
      // A refresh rewrites the rule with a later datestop (and never drops it).
      const r = other.begin();
      r.refresh(id, t0 + 3000);
      await r.commit(Date.now());
      const stop1 = /--datestop (\S+)/.exec(rule())?.[1];
      expect(Date.parse(`${stop1}Z`) - Date.parse(`${stop0}Z`)).toBeGreaterThanOrEqual(1000);
      expect(await probe(h.lab, 'A', 'udp', A4, 45000, B4, 5000, 1500)).toBe(true);
      // Datestop = 3 s + 0.5 s grace from t0 (whole seconds, rounded up); nobody removes the rule.
      await sleep(Math.max(0, Date.parse(`${stop1}Z`) + 1100 - Date.now()));
      expect(await probe(h.lab, 'A', 'udp', A4, 45001, B4, 5000, 1000)).toBe(false);
      // The next start removes the expired rule.
      const next = await IptablesPinholeSet.open({ netns: h.lab.ns('R'), now: Date.now() });
      expect(next.get(id)).toBeUndefined();
      expect(rule()).toBe('');
    }, 30_000);

    test('reconcile: a new instance reads the rules back; with an empty desired state it removes them', async () => {
      await h.commit((tx) => {
        tx.add(h.spec({ owner: 'keep-me' }));
        tx.add(h.spec({ src: { address: A6, length: 128 }, dst: { address: '2001:db8:2::', length: 64 }, dstPorts: { from: 6000, to: 6010 } }));
      });
      const again = await IptablesPinholeSet.open({ netns: h.lab.ns('R'), now: Date.now() });
      const norm = (l: readonly { id: string }[]): string[] => l.map((p) => JSON.stringify({ ...p, expiresAt: 0 }, Object.keys(p).sort())).sort();
      expect(norm(again.list())).toEqual(norm(h.set.list()));
      // A stray (the same pinhole id twice: not something this backend wrote) is left alone by a
      // read-only open and removed by a repairing one.
      const strayRule = ['-s', '198.18.1.9/32', '-d', `${B4}/32`, '-p', 'udp', '-m', 'comment', '--comment', `natfw ph-7777 stray ${Date.now() + 60_000}`, '-j', 'ACCEPT'];
      h.lab.exec('R', 'iptables', ['-A', 'NATFW_ALLOW', ...strayRule]);
      h.lab.exec('R', 'iptables', ['-A', 'NATFW_ALLOW', ...strayRule]);
      const reader = await IptablesPinholeSet.open({ netns: h.lab.ns('R'), now: Date.now(), repair: false });
      expect(reader.get('ph-7777')).toBeUndefined();
      expect(h.lab.exec('R', 'iptables', ['-S', 'NATFW_ALLOW']).match(/natfw ph-7777 /g)).toHaveLength(2);
      const repaired = await IptablesPinholeSet.open({ netns: h.lab.ns('R'), now: Date.now() });
      expect(repaired.get('ph-7777')).toBeUndefined();
      expect(h.lab.exec('R', 'iptables', ['-S', 'NATFW_ALLOW'])).not.toMatch(/natfw ph-7777 /);
      const cleared = await IptablesPinholeSet.open({ netns: h.lab.ns('R'), now: Date.now(), desired: { pinholes: [] } });
      expect(cleared.list()).toEqual([]);
      expect(h.lab.exec('R', 'iptables', ['-S', 'NATFW_ALLOW'])).not.toMatch(/natfw ph-/);
      expect(h.lab.exec('R', 'ip6tables', ['-S', 'NATFW_ALLOW'])).not.toMatch(/natfw ph-/);
    }, 30_000);
  },
  ['iptables', 'conntrack'],
);
