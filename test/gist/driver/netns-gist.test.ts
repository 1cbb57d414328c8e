/**
 * GIST nodes (core + real driver) in the line A - R - B, R forwarding, each in
 * its own process inside its namespace (gist/driver/cli-node.ts):
 * - R runs the NSLP: A's Query for a flow to B is intercepted at R (NFQUEUE),
 *   R peers; Data then flows A-R and R-B in D-mode and in C-mode.
 * - R runs GIST but not that NSLP: the Query passes through R (hop count
 *   decremented) and B peers with A; Data flows A-B in D-mode and C-mode.
 * tshark at R checks the Query on the wire: Router Alert 65 and the magic.
 */
import { join } from 'node:path';
import { describeNetns } from '../../helpers/netns';
import { LINE, NetnsLab } from '../../../testbed/netns';
import { FixtureChild, type ChildEvent } from './fixtures/child';
import { TsharkCapture } from './fixtures/tshark';

const CLI_NODE = join(__dirname, '..', '..', '..', 'gist', 'driver', 'cli-node.ts');
const NSLP = 33;

function mri(src: string, dst: string, direction: 'downstream' | 'upstream' = 'downstream'): Record<string, unknown> {
  const v6 = src.includes(':');
  return { mrm: 'path-coupled', ipVersion: v6 ? 6 : 4, sourceAddress: src, destinationAddress: dst, sourcePrefix: v6 ? 128 : 32, destinationPrefix: v6 ? 128 : 32, protocol: 17, sourcePort: 5000, destinationPort: 6000, direction };
}
const data = (s: string): string => Buffer.from(s.padEnd(Math.ceil(s.length / 4) * 4, '\0')).toString('hex');
const text = (h: unknown): string => Buffer.from(String(h), 'hex').toString().replace(/\0+$/, '');
const sid = (n: number): string => n.toString(16).padStart(32, '0');

async function startNode(
  lab: NetnsLab,
  name: string,
  addresses: string[],
  nslps: number[],
  interception: 'nfqueue' | 'router-alert-socket' | 'none',
  kids: FixtureChild[],
  ipVersions: (4 | 6)[] = [4],
  routerAlert?: number,
): Promise<FixtureChild> {
  const c = new FixtureChild(lab.ns(name), CLI_NODE);
  kids.push(c);
  await c.waitFor((e) => e.ev === 'ready', 30_000, `${name} ready`);
  await c.call(
    { op: 'start', node: { addresses, t1Ms: 200 }, driver: { bindAddresses: addresses, interception, nfqueueNum: 5, interceptIpVersions: ipVersions }, nslps, routerAlert },
    20_000,
  );
  return c;
}

const recvOf = (c: FixtureChild, s: string, payload: string) => (e: ChildEvent) => e.ev === 'recv' && e.sid === s && text(e.data) === payload;

/** Polls a node's routing state until it is established (bounded). */
async function established(c: FixtureChild, s: string, m: Record<string, unknown>): Promise<Record<string, unknown>> {
  let st: Record<string, unknown> | null = null;
  for (let i = 0; i < 100; i++) {
    st = (await c.call({ op: 'state', nslpId: NSLP, sid: s, mri: m })).state as Record<string, unknown> | null;
    if (st !== null && st.phase === 'established') return st;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`routing state not established: ${JSON.stringify(st)}`);
}

/** Starts A, R and B one after the other (the first child fills the transpile cache for the others). */
async function startLine(lab: NetnsLab, kids: FixtureChild[], rNslps: number[]): Promise<FixtureChild[]> {
  const out: FixtureChild[] = [];
  for (const [name, addrs, nslps, ic] of [
    ['A', [LINE.A4], [NSLP], 'none'],
    ['R', [LINE.R4a, LINE.R4b], rNslps, 'nfqueue'],
    ['B', [LINE.B4], [NSLP], 'none'],
  ] as const) {
    const c = await startNode(lab, name, [...addrs], [...nslps], ic, kids);
    out.push(c);
  }
  return out;
}

describeNetns(
  'GIST over a real network: A - R - B in namespaces',
  () => {
    let lab: NetnsLab;
    const kids: FixtureChild[] = [];

    beforeAll(() => {
      lab = NetnsLab.line('gdn');
    });

    afterAll(async () => {
      await Promise.all(kids.map((k) => k.stop()));
      lab?.destroy();
    });

    it('R runs the NSLP: the Query is intercepted at R; Data flows A-R and R-B in D-mode and C-mode', async () => {
      const [a, r, b] = await startLine(lab, kids, [NSLP]);
      const cap = new TsharkCapture(lab.ns('R'), 'udp dst port 270', ['ip.src', 'ip.dst', 'ip.opt.ra', 'udp.payload']);
      await cap.started();
      const s = sid(1);
      const m = mri(LINE.A4, LINE.B4);

      await a.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('create'), handle: 1 });
      const q = await r.waitFor(recvOf(r, s, 'create'), 10_000, 'the Query at R');
      expect(q.routingStateCheck).toBe(true);
      expect(await established(a, s, m)).toMatchObject({ role: 'querier', peerAddress: LINE.R4a });

      // D-mode Data A -> R over the routing state.
      await a.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('dmode-a-r') });
      const d1 = await r.waitFor(recvOf(r, s, 'dmode-a-r'), 10_000, 'D-mode Data at R');
      expect(d1).toMatchObject({ routingStateCheck: false, reliable: false });

      // R carries the NSLP message on: handshake R -> B (B is the flow's destination), then D-mode Data.
      await r.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('create-fwd') });
      const qb = await b.waitFor(recvOf(b, s, 'create-fwd'), 10_000, 'the Query at B');
      expect(qb.routingStateCheck).toBe(true);
      await established(r, s, m);
      await r.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('dmode-r-b') });
      expect(await b.waitFor(recvOf(b, s, 'dmode-r-b'), 10_000, 'D-mode Data at B')).toMatchObject({ routingStateCheck: false, reliable: false });

      // C-mode: reliable messages open Forwards-TCP MAs A -> R and R -> B.
      await a.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('cmode-a-r'), reliable: true });
      expect(await r.waitFor(recvOf(r, s, 'cmode-a-r'), 10_000, 'C-mode Data at R')).toMatchObject({ routingStateCheck: false, reliable: true });
      await r.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('cmode-r-b'), reliable: true });
      expect(await b.waitFor(recvOf(b, s, 'cmode-r-b'), 10_000, 'C-mode Data at B')).toMatchObject({ routingStateCheck: false, reliable: true });
      // And back upstream over the same MAs.
      await b.call({ op: 'send', nslpId: NSLP, sid: s, mri: mri(LINE.A4, LINE.B4, 'upstream'), data: data('up-b-r'), reliable: true });
      expect(await r.waitFor(recvOf(r, s, 'up-b-r'), 10_000, 'upstream C-mode at R')).toMatchObject({ reliable: true });

      const rs = await r.call({ op: 'stats' });
      // A's first Query, and its re-Query proposing the C-mode MA (s4.4.1), both taken at R.
      expect((rs.interceptor as Record<string, number>).consumed).toBeGreaterThanOrEqual(1);
      expect((rs.interceptor as Record<string, number>).passed).toBe(0);
      expect((rs.driver as Record<string, number>).tcpAccepted).toBe(1); // A's MA
      expect((rs.driver as Record<string, number>).tcpConnects).toBe(1); // R's MA to B
      expect(b.events.filter(recvOf(b, s, 'create'))).toHaveLength(0); // A's Query never reached B

      const pkts = await cap.stop();
      const fromA = pkts.filter((p) => p['ip.src'] === LINE.A4 && p['ip.dst'] === LINE.B4);
      expect(fromA.length).toBeGreaterThanOrEqual(1);
      for (const p of fromA) {
        expect(p['ip.opt.ra']).toBe('65'); // NATFW's IPv4 RAO value, RFC 5973 s7.5
        expect(p['udp.payload'].slice(0, 8)).toBe('4e04bda5');
        expect(p['udp.payload'].slice(16, 20)).toBe('0021'); // NSLPID 33 in the common header
      }
      await Promise.all([a, r, b].map((k) => k.stop()));
      expect(lab.exec('R', 'iptables', ['-t', 'mangle', '-S', 'PREROUTING'])).not.toContain('natfw-gist');
    }, 90_000);

    it('R runs GIST but not the NSLP: the Query passes through R; A and B peer; Data A-B in D-mode and C-mode', async () => {
      await Promise.all(kids.splice(0).map((k) => k.stop())); // the first test's nodes, even if it failed
      const [a, r, b] = await startLine(lab, kids, []);
      const s = sid(2);
      const m = mri(LINE.A4, LINE.B4);
      await a.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('create') });
      const qb = await b.waitFor(recvOf(b, s, 'create'), 10_000, 'the Query at B');
      expect(qb.routingStateCheck).toBe(true);
      await established(a, s, m);
      await a.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('dmode-a-b') });
      expect(await b.waitFor(recvOf(b, s, 'dmode-a-b'), 10_000, 'D-mode Data at B')).toMatchObject({ routingStateCheck: false, reliable: false });
      await a.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('cmode-a-b'), reliable: true });
      expect(await b.waitFor(recvOf(b, s, 'cmode-a-b'), 10_000, 'C-mode Data at B')).toMatchObject({ reliable: true });
      expect(await established(a, s, m)).toMatchObject({ peerAddress: LINE.B4, cmode: true });

      const rs = await r.call({ op: 'stats' });
      expect(rs.interceptor).toMatchObject({ consumed: 0 });
      expect((rs.interceptor as Record<string, number>).passed).toBeGreaterThanOrEqual(1);
      expect((rs.node as Record<string, number>).queriesForwarded).toBeGreaterThanOrEqual(1);
      expect(r.events.filter((e) => e.ev === 'recv')).toHaveLength(0);
      // One GIST hop fewer than a Query that did not cross R: R decremented the hop count (RFC 5971 s4.3.4).
      expect(qb.gistHopCount).toBeLessThan(64 - 1);
    }, 90_000);

    it('IPv6: the Query (Hop-by-Hop RAO 68, the MRI flow label and DS field) is intercepted at R; Data A-R in D-mode and C-mode', async () => {
      await Promise.all(kids.splice(0).map((k) => k.stop()));
      const a = await startNode(lab, 'A', [LINE.A6], [NSLP], 'none', kids);
      const r = await startNode(lab, 'R', [LINE.R6a, LINE.R6b], [NSLP], 'nfqueue', kids, [6]);
      const b = await startNode(lab, 'B', [LINE.B6], [NSLP], 'none', kids);
      const s = sid(3);
      // RFC 5971 s5.8.1.2: "GIST SHOULD set the Diffserv codepoint and (for IPv6) flow label to match the values in the MRI."
      const m = { ...mri(LINE.A6, LINE.B6), flowLabel: 0x5a5a5, dsField: 10 };
      const cap = new TsharkCapture(lab.ns('R'), 'ip6', ['ipv6.flow', 'ipv6.tclass.dscp', 'ipv6.opt.router_alert', 'udp.dstport']);
      await cap.started();
      await a.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('create6') });
      expect(await r.waitFor(recvOf(r, s, 'create6'), 10_000, 'the IPv6 Query at R')).toMatchObject({ routingStateCheck: true });
      const queries = (await cap.stop()).filter((p) => p['ipv6.opt.router_alert'] === '68' && p['udp.dstport'] === '270');
      expect(queries.length).toBeGreaterThanOrEqual(1);
      for (const q of queries) {
        expect(Number(q['ipv6.flow'])).toBe(0x5a5a5);
        expect(Number(q['ipv6.tclass.dscp'])).toBe(10);
      }
      expect(await established(a, s, m)).toMatchObject({ peerAddress: LINE.R6a });
      await a.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('dmode6') });
      expect(await r.waitFor(recvOf(r, s, 'dmode6'), 10_000, 'IPv6 D-mode Data at R')).toMatchObject({ reliable: false });
      await a.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('cmode6'), reliable: true });
      expect(await r.waitFor(recvOf(r, s, 'cmode6'), 10_000, 'IPv6 C-mode Data at R')).toMatchObject({ reliable: true });
      expect(b.events.filter((e) => e.ev === 'recv')).toHaveLength(0);
    }, 90_000);

    it('RA-socket fallback at R (senders use RAO 0): intercepted when R runs the NSLP, passed on (re-injected) when not', async () => {
      await Promise.all(kids.splice(0).map((k) => k.stop()));
      const a = await startNode(lab, 'A', [LINE.A4], [NSLP], 'none', kids, [4], 0);
      const r = await startNode(lab, 'R', [LINE.R4a, LINE.R4b], [NSLP], 'router-alert-socket', kids, [4], 0);
      const b = await startNode(lab, 'B', [LINE.B4], [NSLP, 34], 'none', kids, [4], 0);
      const s = sid(4);
      const m = mri(LINE.A4, LINE.B4);
      await a.call({ op: 'send', nslpId: NSLP, sid: s, mri: m, data: data('ra0') });
      expect(await r.waitFor(recvOf(r, s, 'ra0'), 10_000, 'the RAO-0 Query at R')).toMatchObject({ routingStateCheck: true });
      expect(await established(a, s, m)).toMatchObject({ peerAddress: LINE.R4a });
      // NSLPID 34 is not run at R: the Query is re-injected and reaches B.
      const s2 = sid(5);
      await a.call({ op: 'send', nslpId: 34, sid: s2, mri: m, data: data('ra0-pass') });
      expect(await b.waitFor(recvOf(b, s2, 'ra0-pass'), 10_000, 'the re-injected Query at B')).toMatchObject({ routingStateCheck: true, nslpId: 34 });
      expect(r.events.filter((e) => e.ev === 'recv' && e.sid === s2)).toHaveLength(0);
    }, 90_000);
  },
  ['iptables', 'tshark'],
);
