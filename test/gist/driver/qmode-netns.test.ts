/**
 * Q-mode on a real network, socket level (no GIST core): in the line
 * A - R - B (R forwards), a UDP datagram to B:270 with the Router Alert
 * Option leaves A with the option and the magic number on the wire (checked
 * with tshark at R), is intercepted at R by NFQUEUE, consumed when R "runs"
 * its NSLPID and passed on to B untouched when it does not; after the
 * interceptor closes, its iptables rule is gone. The raw IP_ROUTER_ALERT
 * fallback does the same for RAO value 0, re-injecting what it passes on.
 */
import { join } from 'node:path';
import { describeNetns } from '../../helpers/netns';
import { LINE, NetnsLab } from '../../../testbed/netns';
import { queueRuleArgs } from '../../../gist/driver/iptables';
import { FixtureChild } from './fixtures/child';
import { TsharkCapture } from './fixtures/tshark';

const HARNESS = join(__dirname, 'fixtures', 'udp-harness.ts');

/** Magic number + a GIST common header (version 1, 16 hops, length 0, NSLPID, type 0 Query, R flag). */
function queryLike(nslpId: number): string {
  return '4e04bda5' + '01' + '10' + '0000' + nslpId.toString(16).padStart(4, '0') + '00' + '40';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeNetns(
  'GIST Q-mode across A - R - B (real sockets, iptables NFQUEUE, tshark)',
  () => {
    let lab: NetnsLab;
    const kids: FixtureChild[] = [];
    let a: FixtureChild;
    let r: FixtureChild;
    let b: FixtureChild;

    beforeAll(async () => {
      lab = NetnsLab.line('gdq');
      a = new FixtureChild(lab.ns('A'), HARNESS);
      r = new FixtureChild(lab.ns('R'), HARNESS);
      b = new FixtureChild(lab.ns('B'), HARNESS);
      kids.push(a, r, b);
      await Promise.all(kids.map((k) => k.waitFor((e) => e.ev === 'ready', 20_000, 'child ready')));
      await a.call({ op: 'udp-open', address: LINE.A4, port: 270 });
      await b.call({ op: 'udp-open', address: LINE.B4, port: 270 });
    }, 60_000);

    afterAll(async () => {
      await Promise.all(kids.map((k) => k.stop()));
      lab?.destroy();
    });

    it('NFQUEUE at R consumes Queries of an NSLPID it runs, passes others to B; the wire shows RAO, magic, each packet\'s own TTL and DS field', async () => {
      // A rule left behind by a node that was killed: replaced, not stacked.
      lab.exec('R', 'iptables', ['-t', 'mangle', '-A', 'PREROUTING', ...queueRuleArgs({ ipVersion: 4, queueNum: 7, gistPort: 270 })]);
      await r.call({ op: 'intercept', mode: 'nfqueue', consumeNslpIds: [33], gistPort: 270, queueNum: 7 });
      const rules = lab.exec('R', 'iptables', ['-t', 'mangle', '-S', 'PREROUTING']);
      expect(rules.split('\n').filter((l) => l.includes('natfw-gist-q7'))).toHaveLength(1);

      const cap = new TsharkCapture(lab.ns('R'), 'udp dst port 270', ['ip.src', 'ip.dst', 'ip.opt.type', 'ip.opt.ra', 'ip.hdr_len', 'ip.flags.df', 'ip.ttl', 'ip.dsfield.dscp', 'udp.payload']);
      await cap.started();

      await a.call({ op: 'udp-send', from: 270, to: LINE.B4, port: 270, hex: queryLike(33), rao: 65 });
      const took = await r.waitFor((e) => e.ev === 'intercepted' && e.nslpId === 33, 5000, 'interception of NSLPID 33');
      expect(took).toMatchObject({ src: LINE.A4, dst: LINE.B4, rao: 65, ttl: 64, take: true });

      // An upstream-style Query (TTL 255, s5.8.1.3) with a DS field (s5.8.1.2): options for this packet only.
      await a.call({ op: 'udp-send', from: 270, to: LINE.B4, port: 270, hex: queryLike(34), rao: 65, ttl: 255, tos: 46 << 2 });
      const passed = await r.waitFor((e) => e.ev === 'intercepted' && e.nslpId === 34, 5000, 'interception of NSLPID 34');
      expect(passed).toMatchObject({ take: false, ttl: 255 });
      const atB = await b.waitFor((e) => e.ev === 'udp', 5000, 'the passed Query at B');
      expect(atB).toMatchObject({ from: LINE.A4, fromPort: 270, hex: queryLike(34) });
      // A D-mode datagram right after: none of the Query's options (no RAO, default TTL, DS 0).
      const plain = 'dddddddd';
      await a.call({ op: 'udp-send', from: 270, to: LINE.B4, port: 270, hex: plain });
      await b.waitFor((e) => e.ev === 'udp' && e.hex === plain, 5000, 'the D-mode datagram at B');

      await sleep(300);
      // The consumed one never reached B.
      expect(b.events.filter((e) => e.ev === 'udp' && e.hex === queryLike(33))).toHaveLength(0);

      const pkts = await cap.stop();
      const q33 = pkts.filter((p) => p['udp.payload'] === queryLike(33));
      const q34 = pkts.filter((p) => p['udp.payload'] === queryLike(34));
      // 33 seen once (arriving at R), 34 twice with 'any' (in from A, out to B).
      expect(q33).toHaveLength(1);
      expect(q34.length).toBeGreaterThanOrEqual(2);
      for (const p of [...q33, ...q34]) {
        expect(p['ip.opt.type']).toContain('148'); // RFC 2113 Router Alert
        expect(p['ip.opt.ra']).toBe('65');
        expect(p['ip.hdr_len']).toBe('24');
        expect(['1', 'True', 'true']).toContain(p['ip.flags.df']);
        expect(p['udp.payload'].startsWith('4e04bda5')).toBe(true); // RFC 5971 s5.3.1 magic
      }
      expect(q33.map((p) => p['ip.ttl'])).toEqual(['64']);
      expect(q34.map((p) => p['ip.ttl'])).toContain('255'); // as it arrived at R (254 on its way out to B)
      for (const p of q34) expect(p['ip.dsfield.dscp']).toBe('46');
      const d = pkts.filter((p) => p['udp.payload'] === plain);
      expect(d.length).toBeGreaterThanOrEqual(1);
      expect(d.map((p) => p['ip.ttl'])).toContain('64');
      for (const p of d) {
        expect(p['ip.hdr_len']).toBe('20');
        expect(p['ip.opt.ra']).toBe('');
        expect(p['ip.dsfield.dscp']).toBe('0');
      }

      await r.call({ op: 'intercept-close' });
      expect(lab.exec('R', 'iptables', ['-t', 'mangle', '-S', 'PREROUTING'])).not.toContain('natfw-gist');
      await a.call({ op: 'udp-send', from: 270, to: LINE.B4, port: 270, hex: queryLike(33) + '00000000', rao: 65 });
      await b.waitFor((e) => e.ev === 'udp' && e.hex === queryLike(33) + '00000000', 5000, 'Query at B after the interceptor closed');
    }, 60_000);

    it('IPv6: Hop-by-Hop Router Alert on the wire (with the flow label and traffic class asked for), NFQUEUE (ip6tables hbh match) consumes 33 and passes 34', async () => {
      await a.call({ op: 'udp-open', address: LINE.A6, port: 270 });
      await b.call({ op: 'udp-open', address: LINE.B6, port: 270 });
      const r6 = new FixtureChild(lab.ns('R'), HARNESS);
      kids.push(r6);
      await r6.waitFor((e) => e.ev === 'ready', 20_000, 'child ready');
      await r6.call({ op: 'intercept', mode: 'nfqueue', consumeNslpIds: [33], gistPort: 270, queueNum: 8, ipVersions: [6] });
      expect(lab.exec('R', 'ip6tables', ['-t', 'mangle', '-S', 'PREROUTING'])).toContain('natfw-gist-q8');
      const cap = new TsharkCapture(lab.ns('R'), 'ip6', // BPF's `udp` does not look past a Hop-by-Hop header
        ['ipv6.src', 'ipv6.opt.type', 'ipv6.opt.router_alert', 'ipv6.flow', 'ipv6.tclass.dscp', 'udp.payload']);
      await cap.started();
      const p33 = queryLike(33) + '66666666';
      const p34 = queryLike(34) + '66666666';
      // RFC 5971 s5.8.1.2: a Query carries the flow label (and DS field) of its MRI.
      await a.call({ op: 'udp-send', from: 270, to: LINE.B6, port: 270, hex: p33, rao: 68, flowLabel: 0xbeef5, tos: 46 << 2 });
      expect(await r6.waitFor((e) => e.ev === 'intercepted' && e.nslpId === 33, 5000, 'IPv6 interception of 33')).toMatchObject({ src: LINE.A6, dst: LINE.B6, rao: 68, take: true });
      await a.call({ op: 'udp-send', from: 270, to: LINE.B6, port: 270, hex: p34, rao: 68 });
      expect(await b.waitFor((e) => e.ev === 'udp' && e.hex === p34, 5000, 'passed IPv6 Query at B')).toMatchObject({ from: LINE.A6 });
      await sleep(300);
      expect(b.events.filter((e) => e.ev === 'udp' && e.hex === p33)).toHaveLength(0);
      const pkts = (await cap.stop()).filter((p) => p['udp.payload'] === p33 || p['udp.payload'] === p34);
      expect(pkts.length).toBeGreaterThanOrEqual(2);
      for (const p of pkts) {
        expect(p['ipv6.opt.type'].split(',')).toContain('0x05'); // RFC 2711 Router Alert (then PadN 0x01)
        expect(p['ipv6.opt.router_alert']).toBe('68');
      }
      const labelled = pkts.find((p) => p['udp.payload'] === p33);
      expect(Number(labelled?.['ipv6.flow'])).toBe(0xbeef5);
      expect(Number(labelled?.['ipv6.tclass.dscp'])).toBe(46);
      // Without a label asked for, the kernel's own (automatic) label, never the previous packet's.
      expect(Number(pkts.find((p) => p['udp.payload'] === p34)?.['ipv6.flow'])).not.toBe(0xbeef5);
      await r6.call({ op: 'intercept-close' });
      expect(lab.exec('R', 'ip6tables', ['-t', 'mangle', '-S', 'PREROUTING'])).not.toContain('natfw-gist');
      await r6.stop();
    }, 60_000);

    it('the raw IP_ROUTER_ALERT fallback at R intercepts RAO 0, re-injects what it passes (TTL-1, fresh checksums)', async () => {
      const r2 = new FixtureChild(lab.ns('R'), HARNESS);
      kids.push(r2);
      await r2.waitFor((e) => e.ev === 'ready', 20_000, 'child ready');
      await r2.call({ op: 'intercept', mode: 'router-alert-socket', consumeNslpIds: [33], gistPort: 270 });
      const before = b.events.length;
      const capB = new TsharkCapture(lab.ns('B'), 'udp dst port 270', ['ip.ttl', 'udp.checksum.status', 'udp.payload'], 'any', ['-o', 'udp.check_checksum:TRUE']);
      await capB.started();

      await a.call({ op: 'udp-send', from: 270, to: LINE.B4, port: 270, hex: queryLike(33) + '11111111', rao: 0 });
      await r2.waitFor((e) => e.ev === 'intercepted' && e.nslpId === 33 && e.rao === 0, 5000, 'RA socket interception of 33');
      await a.call({ op: 'udp-send', from: 270, to: LINE.B4, port: 270, hex: queryLike(34) + '22222222', rao: 0 });
      await r2.waitFor((e) => e.ev === 'intercepted' && e.nslpId === 34, 5000, 'RA socket interception of 34');
      await b.waitFor((e) => e.ev === 'udp' && e.hex === queryLike(34) + '22222222', 5000, 're-injected Query at B');
      await sleep(300);
      expect(b.events.slice(before).filter((e) => e.ev === 'udp' && e.hex === queryLike(33) + '11111111')).toHaveLength(0);
      const atB = (await capB.stop()).filter((p) => p['udp.payload'] === queryLike(34) + '22222222');
      expect(atB).toHaveLength(1);
      expect(atB[0]['ip.ttl']).toBe('63'); // 64 from A, one forwarding hop
      expect(atB[0]['udp.checksum.status']).toBe('1'); // Wireshark: 0 Bad, 1 Good, 2 Unverified
      await r2.stop();
    }, 60_000);
  },
  ['iptables', 'tshark'],
);
